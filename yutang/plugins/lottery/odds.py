"""Choosing a prize: a pure function of (weights, random value), so the odds can be tested
on any number of draws without a database, and the published odds are exact fractions."""

from __future__ import annotations

import secrets
from bisect import bisect_right
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import accumulate
from typing import NamedTuple


def choose(weights: Sequence[int], value: int) -> int:
    """The index whose band of ``[0, sum(weights))`` holds ``value``.

    Prize ``i`` owns ``weights[i]`` consecutive values, so a uniform ``value`` picks it
    with probability ``weights[i] / sum(weights)``; a zero weight is never picked.
    """
    bounds = list(accumulate(weights))
    if any(w < 0 for w in weights) or not bounds or bounds[-1] <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    if not 0 <= value < bounds[-1]:
        raise ValueError(f"value must lie in [0, {bounds[-1]})")
    return bisect_right(bounds, value)


class Choice(NamedTuple):
    """The index of the prize a random value chose, and whether it had a unit to award."""

    prize: int
    in_stock: bool


def draw_from(weights: Sequence[int], remaining: Sequence[int | None], value: int) -> Choice:
    """The prize ``value`` chooses; a chosen prize without units falls through to no prize.

    Its share goes to "no prize" rather than raising the other prizes' odds above what
    was published. ``remaining`` is None for unlimited stock.
    """
    index = choose(weights, value)
    left = remaining[index]
    return Choice(index, left is None or left > 0)


def random_value(total: int) -> int:
    """A uniform value in ``[0, total)`` from the operating system's secure generator."""
    return secrets.randbelow(total)


def percent(weight: int, total: int) -> str:
    """``weight / total`` as a percentage with four decimals, e.g. ``"0.0100%"``."""
    share = Decimal(weight * 100) / Decimal(total) if total else Decimal(0)
    return f"{share.quantize(Decimal('0.0001'), rounding=ROUND_HALF_EVEN)}%"
