"""Tiers and what a rule gives for an amount: pure functions of the rule and the amount.

A ladder rule gives its highest tier met (满100减10, 满200减30); a per-threshold rule gives
``off`` for every full ``threshold`` (每满100减10), up to ``cap``. Percentages round the
discount down to the minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from yutang import api

LADDER, PER = "ladder", "per"


class Tier(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One tier: from ``threshold`` (minor units) the order gets what the other fields say.

    ``coupon`` is the ID of a coupon template, handed to whichever plugin provides coupons.
    """

    threshold: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    off: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 0
    percent_off: Annotated[int, msgspec.Meta(ge=0, le=99)] = 0
    free_shipping: bool = False
    gift_sku_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    gift_quantity: Annotated[int, msgspec.Meta(ge=1, le=99)] = 1
    points: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 0
    coupon: Annotated[str, msgspec.Meta(max_length=100)] = ""
    coupon_count: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule gives for an amount: the tier met (None if none), the discount, the
    label of what was met and a hint towards the next tier."""

    tier: Tier | None
    discount: int
    label: str
    hint: str


def _zhe(percent_off: int) -> str:
    return f"{(100 - percent_off) / 10:g}折"


def benefit(tier: Tier, currency: str) -> str:
    """A tier's benefits in words: 减¥30.00, 享9折, 包邮, 送赠品, 送200积分, 送优惠券."""
    parts = []
    if tier.off:
        parts.append("减" + api.format_money(tier.off, currency))
    if tier.percent_off:
        parts.append("享" + _zhe(tier.percent_off))
    if tier.free_shipping:
        parts.append("包邮")
    if tier.gift_sku_id is not None:
        parts.append("送赠品")
    if tier.points:
        parts.append(f"送{tier.points}积分")
    if tier.coupon:
        parts.append("送优惠券")
    return "".join(parts)


def evaluate(mode: str, tiers: list[Tier], cap: int | None, amount: int, currency: str) -> Outcome:
    """What a rule of ``mode`` with ``tiers`` (ascending thresholds) gives for ``amount``."""
    money = api.format_money
    if mode == PER:
        tier = tiers[0]
        times = amount // tier.threshold
        off = times * tier.off if cap is None else min(times * tier.off, cap)
        hint = ""
        if cap is None or off < cap:
            following = (times + 1) * tier.off if cap is None else min((times + 1) * tier.off, cap)
            short = (times + 1) * tier.threshold - amount
            hint = f"再买{money(short, currency)}可减{money(following, currency)}"
        label = f"每满{money(tier.threshold, currency)}减{money(tier.off, currency)}"
        return Outcome(tier if times else None, off, label, hint)
    met = [t for t in tiers if t.threshold <= amount]
    ahead = [t for t in tiers if t.threshold > amount]
    hint = ""
    if ahead:
        nxt = ahead[0]
        hint = f"再买{money(nxt.threshold - amount, currency)}可{benefit(nxt, currency)}"
    if not met:
        return Outcome(None, 0, "", hint)
    tier = met[-1]
    off = tier.off or api.percent_of(amount, tier.percent_off)
    label = f"满{money(tier.threshold, currency)}{benefit(tier, currency)}"
    return Outcome(tier, off, label, hint)
