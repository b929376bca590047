"""GraphQL types of rules, shared by the admin and storefront schemas."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

import strawberry

from yutang import api
from yutang.plugins.fullreduction.models import FullreductionRule
from yutang.plugins.fullreduction.rules import tiers_of
from yutang.plugins.fullreduction.scopes import CATEGORIES, PRODUCTS
from yutang.plugins.fullreduction.tiers import PER, Tier, benefit

SCOPE_TYPE = MappingProxyType({PRODUCTS: "Product", CATEGORIES: "Category"})


@strawberry.type(name="FullReductionTier")
class TierNode:
    threshold: api.MoneyType
    summary: str = strawberry.field(description="满¥100.00减¥10.00, 每满¥100.00减¥10.00 …")
    off: api.MoneyType
    percent_off: int
    free_shipping: bool
    gift_sku_id: strawberry.ID | None
    gift_quantity: int
    points: int
    coupon: str = strawberry.field(description="The coupon template ID given, or empty.")
    coupon_count: int


@strawberry.type(name="FullReductionRule")
class RuleNode(api.Node):
    name: str
    starts_at: datetime
    ends_at: datetime
    scope: str = strawberry.field(description="all, products, categories or tags.")
    scope_ids: list[strawberry.ID]
    scope_tags: list[str]
    mode: str = strawberry.field(description="ladder (highest tier met) or per (每满).")
    cap: api.MoneyType | None
    status: api.ActivityStatus
    stopped_at: datetime | None
    tiers: list[TierNode]


def status_of(rule: FullreductionRule, now: datetime) -> str:
    """Where a rule stands at ``now``."""
    if rule.stopped_at is not None:
        return "stopped"
    if now < rule.starts_at:
        return "scheduled"
    return "running" if now < rule.ends_at else "ended"


def _tier(rule: FullreductionRule, t: Tier, currency: str) -> TierNode:
    money = api.format_money
    if rule.mode == PER:
        summary = f"每满{money(t.threshold, currency)}减{money(t.off, currency)}"
    else:
        summary = f"满{money(t.threshold, currency)}{benefit(t, currency)}"
    return TierNode(
        threshold=api.MoneyType.of(t.threshold, currency),
        summary=summary,
        off=api.MoneyType.of(t.off, currency),
        percent_off=t.percent_off,
        free_shipping=t.free_shipping,
        gift_sku_id=strawberry.ID(api.to_global("Sku", t.gift_sku_id)) if t.gift_sku_id else None,
        gift_quantity=t.gift_quantity,
        points=t.points,
        coupon=t.coupon,
        coupon_count=t.coupon_count,
    )


def rule_node(tenant: api.TenantInfo, rule: FullreductionRule) -> RuleNode:
    """A rule as GraphQL shows it."""
    cur = tenant.currency
    kind = SCOPE_TYPE.get(rule.scope)
    return RuleNode(
        id=strawberry.ID(api.to_global("FullReductionRule", rule.id)),
        name=rule.name,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        scope=rule.scope,
        scope_ids=[strawberry.ID(api.to_global(kind, i)) for i in rule.scope_ids] if kind else [],
        scope_tags=rule.scope_tags,
        mode=rule.mode,
        cap=api.MoneyType.of(rule.cap, cur) if rule.cap is not None else None,
        status=api.ActivityStatus(status_of(rule, api.now())),
        stopped_at=rule.stopped_at,
        tiers=[_tier(rule, t, cur) for t in tiers_of(rule)],
    )
