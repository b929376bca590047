"""Admin GraphQL: create, stop and list full-reduction rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.fullreduction.models import FullreductionRule
from yutang.plugins.fullreduction.nodes import SCOPE_TYPE, RuleNode, rule_node
from yutang.plugins.fullreduction.rules import RuleInput, create_rule, stop_rule


@strawberry.input(
    name="FullReductionTierInput",
    description="From `threshold` (minor units): `off` or `percentOff`, free shipping, a gift "
    "SKU, points and/or coupons (`coupon`: a coupon template ID).",
)
class TierIn:
    threshold: int
    off: int = 0
    percent_off: int = 0
    free_shipping: bool = False
    gift_sku_id: strawberry.ID | None = None
    gift_quantity: int = 1
    points: int = 0
    coupon: strawberry.ID | None = None
    coupon_count: int = 1


@strawberry.input(
    name="FullReductionRuleInput",
    description="`scope`: all, products or categories (`scopeIds` their IDs; a category "
    "covers its subcategories), or tags (`scopeTags`, products carrying any of them); "
    "`mode`: ladder (the highest tier met applies) or per (每满 `threshold` take `off`, up to "
    "`cap`).",
)
class RuleIn:
    name: str
    starts_at: datetime
    ends_at: datetime
    tiers: list[TierIn]
    scope: str = "all"
    scope_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    scope_tags: list[str] = strawberry.field(default_factory=list)
    mode: str = "ladder"
    cap: int | None = None


@strawberry.type(name="FullReductionRulePayload")
class RulePayload:
    rule: RuleNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


def rule_data(inp: RuleIn) -> RuleInput:
    """The validated input; errors name ``input.<field>``."""
    kind = SCOPE_TYPE.get(inp.scope, "Product")
    raw: dict[str, Any] = {
        "name": inp.name,
        "startsAt": inp.starts_at,
        "endsAt": inp.ends_at,
        "scope": inp.scope,
        "scopeIds": [
            api.pk_of(i, kind, f"input.scopeIds[{n}]") for n, i in enumerate(inp.scope_ids)
        ],
        "scopeTags": inp.scope_tags,
        "mode": inp.mode,
        "cap": inp.cap,
        "tiers": [
            {
                "threshold": t.threshold,
                "off": t.off,
                "percentOff": t.percent_off,
                "freeShipping": t.free_shipping,
                "giftSkuId": None
                if t.gift_sku_id is None
                else api.pk_of(t.gift_sku_id, "Sku", f"input.tiers[{n}].giftSkuId"),
                "giftQuantity": t.gift_quantity,
                "points": t.points,
                "coupon": t.coupon or "",
                "couponCount": t.coupon_count,
            }
            for n, t in enumerate(inp.tiers)
        ],
    }
    return api.convert(raw, RuleInput, "input")


async def _payload(run: Callable[[], Awaitable[RuleNode]]) -> RulePayload:
    try:
        return RulePayload(rule=await run())
    except api.DomainError as err:
        return RulePayload(errors=[api.UserError.of(err)])


async def full_reduction_rules(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[RuleNode]:
    """Rules, newest first."""
    ctx = info.context
    return await api.keyset_page(
        FullreductionRule.filter(tenant_id=ctx.tenant.id),
        first,
        after,
        lambda rows: [rule_node(ctx.tenant, r) for r in rows],
    )


async def create_full_reduction_rule(info: api.Info, input: RuleIn) -> RulePayload:
    """Create a rule; one overlapping a live rule in time and goods is refused."""
    ctx = info.context

    async def run() -> RuleNode:
        return rule_node(ctx.tenant, await create_rule(ctx.tenant, rule_data(input)))

    return await _payload(run)


async def stop_full_reduction_rule(info: api.Info, id: strawberry.ID) -> RulePayload:
    """Stop a rule for good. Stopping again changes nothing."""
    ctx = info.context

    async def run() -> RuleNode:
        rule = await stop_rule(ctx.tenant, api.pk_of(id, "FullReductionRule", "id"))
        return rule_node(ctx.tenant, rule)

    return await _payload(run)


def contribution() -> api.GraphQLContribution:
    """The admin schema's full-reduction fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                full_reduction_rules,
                permission="fullreduction.view",
                description="Full-reduction rules, newest first.",
            )
        ],
        mutation=[
            api.mutation(
                create_full_reduction_rule,
                permission="fullreduction.manage",
                description="Create a full-reduction rule; one overlapping a live rule in time "
                "and goods (a product of the catalogue falls under both) is refused (OVERLAP). "
                "Should a catalogue edit later bring a product under two rules, the rule saved "
                "first prices it.",
            ),
            api.mutation(
                stop_full_reduction_rule,
                permission="fullreduction.manage",
                description="Stop a rule for good. Stopping again changes nothing.",
            ),
        ],
    )
