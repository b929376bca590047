"""Global object IDs (``base64("Product:12")``) so frontend caches normalise by id."""

from __future__ import annotations

import base64
import binascii

from yutang.core.errors import DomainError


def to_global(type_name: str, pk: int) -> str:
    """The global ID of a ``type_name`` row with primary key ``pk``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global(value: str, expected: str | None = None, field: str = "id") -> tuple[str, int]:
    """(type name, primary key) of a global ID; INVALID naming ``field`` if malformed."""
    try:
        type_name, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise DomainError("INVALID", "not a valid ID", field) from None
    if not 0 < number < 2**63:
        raise DomainError("INVALID", "not a valid ID", field)
    if expected is not None and type_name != expected:
        raise DomainError("INVALID", f"expected a {expected} ID", field)
    return type_name, number


def pk_of(value: str, expected: str, field: str = "id") -> int:
    """The primary key of a global ID of type ``expected``."""
    return from_global(value, expected, field)[1]
