"""The order-promotion step: each live rule's tier met by its in-scope lines.

The threshold is measured on the eligible in-scope lines as they stand after member
prices; activity lines (seckill, group buy) neither count nor get anything. The discount
is apportioned to those lines exactly; free shipping waives the shipping fee; a gift SKU
becomes a free line of the quote; points and coupons are kept on the draft for the
plugin's ``yutang_reserve``, which records them to be granted after payment.
"""

from __future__ import annotations

from dataclasses import dataclass

from yutang import api
from yutang.plugins.fullreduction.models import FullreductionRule
from yutang.plugins.fullreduction.rules import live_rules, tiers_of
from yutang.plugins.fullreduction.scopes import Scope
from yutang.plugins.fullreduction.tiers import Outcome, evaluate


@dataclass(frozen=True, slots=True)
class Earned:
    """Points or a coupon a checkout earns from a rule, granted once the order is paid."""

    rule_id: int
    label: str
    points: int
    coupon: str
    coupon_count: int


async def promote(draft: api.Draft) -> None:
    """Stage PROMOTION: apply every live rule to its lines. Rules are taken oldest first and
    a line counts for the first rule covering it only: should a catalogue edit bring a
    product under two rules, the rule saved first prices it."""
    checkout = draft.checkout
    currency = checkout.tenant.currency
    rules = await live_rules(checkout.tenant, checkout.now)
    taken: set[int] = set()
    applied: list[tuple[FullreductionRule, list[api.DraftLine], Outcome]] = []
    for rule in rules:
        scope = Scope.of_rule(rule)
        lines = [
            ln for ln in draft.eligible() if ln.index not in taken and scope.covers_line(ln.line)
        ]
        if not lines:
            continue
        taken.update(ln.index for ln in lines)
        amount = sum(ln.amount for ln in lines)
        outcome = evaluate(rule.mode, tiers_of(rule), rule.cap, amount, currency)
        if outcome.hint:
            draft.hint(f"{rule.name}: {outcome.hint}")
        if outcome.tier is not None:
            applied.append((rule, lines, outcome))
    gifts = await api.sku_summaries(
        checkout.tenant,
        {o.tier.gift_sku_id for _, _, o in applied if o.tier and o.tier.gift_sku_id},
    )
    found: list[Earned] = []
    for rule, lines, outcome in applied:
        tier = outcome.tier
        assert tier is not None
        label = f"{rule.name} {outcome.label}"
        if outcome.discount:
            draft.discount(outcome.discount, lines, label)
        if tier.free_shipping:
            draft.waive_fee("shipping", label)
        if tier.gift_sku_id is not None:
            sku = gifts.get(tier.gift_sku_id)
            gift_label = f"{rule.name} 赠品 {sku.product_name}×{tier.gift_quantity}" if sku else ""
            if sku is None or draft.add_gift(sku, tier.gift_quantity, gift_label) is None:
                draft.hint(f"{rule.name}: 赠品已送完")
        if tier.points or tier.coupon:
            found.append(
                Earned(
                    rule.id,
                    label,
                    tier.points,
                    tier.coupon,
                    tier.coupon_count if tier.coupon else 0,
                )
            )
    draft.keep(found)
