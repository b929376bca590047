"""Money in integer minor units, and exact apportionment of amounts across lines."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "¥"}
_EXPONENT = {"JPY": 0}


class Money(msgspec.Struct, frozen=True, gc=False):
    """An amount in minor units (分 for CNY) with its currency; never a float."""

    amount: int
    currency: str

    @property
    def formatted(self) -> str:
        """Human form for storefronts: ``¥58.00``."""
        return format_money(self.amount, self.currency)


def format_money(amount: int, currency: str) -> str:
    """Format minor units as ``¥58.00`` (sign first for negative amounts)."""
    exponent = _EXPONENT.get(currency, 2)
    symbol = _SYMBOLS.get(currency, currency + " ")
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**exponent)
    if exponent == 0:
        return f"{sign}{symbol}{units:,}"
    return f"{sign}{symbol}{units:,}.{minor:0{exponent}d}"


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` proportionally with exact integer sums.

    Largest remainder: each share is floored, then the units left over go to the
    largest fractional remainders (ties to the earlier line). Zero weights get zero
    unless every weight is zero, in which case the split is even.
    """
    if total < 0:
        return [-share for share in apportion(-total, weights)]
    if not weights:
        if total:
            raise ValueError("cannot apportion a non-zero amount over no lines")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    basis = sum(weights)
    effective = list(weights) if basis else [1] * len(weights)
    basis = basis or len(weights)
    shares = [total * w // basis for w in effective]
    remainders = [total * w % basis for w in effective]
    left = total - sum(shares)
    order = sorted(range(len(effective)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def percent_of(amount: int, percent: int) -> int:
    """``percent``% of ``amount``, rounded down to the minor unit."""
    return amount * percent // 100
