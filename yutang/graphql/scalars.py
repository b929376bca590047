"""Scalars shared by every schema (registered through ``StrawberryConfig.scalar_map``)."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

MinorUnits = NewType("MinorUnits", int)


def _parse_minor(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("MinorUnits must be an integer")
    if not -(2**63) <= value < 2**63:
        raise ValueError("MinorUnits must fit in 64 bits")
    return value


SCALARS: dict[object, ScalarDefinition] = {
    MinorUnits: strawberry.scalar(
        name="MinorUnits",
        description="An amount in minor units (分 for CNY) as a 64-bit integer.",
        serialize=int,
        parse_value=_parse_minor,
    )
}
