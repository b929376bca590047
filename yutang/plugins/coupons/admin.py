"""Admin GraphQL: create, stop and list coupon templates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.coupons.models import CouponsTemplate
from yutang.plugins.coupons.nodes import SCOPE_TYPE, TemplateNode, template_node
from yutang.plugins.coupons.templates import TemplateInput, create_template, stop_template


@strawberry.input(
    name="CouponTemplateInput",
    description="`kind` fixed (`value` minor units off) or percent (`value` percent off, "
    "`maxDiscount` its maximum); validity `validFrom`/`validUntil` or `validDays` from claim; "
    "`scope` all, products, categories (with their subcategories) or tags.",
)
class TemplateIn:
    name: str
    kind: str
    value: int
    max_discount: int | None = None
    min_spend: int = 0
    scope: str = "all"
    scope_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    scope_tags: list[str] = strawberry.field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    total: int | None = None
    per_member: int = 1
    claimable: bool = True
    stacks: bool = True
    return_on_refund: bool = False


@strawberry.type(name="CouponTemplatePayload")
class TemplatePayload:
    template: TemplateNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


def template_data(inp: TemplateIn) -> TemplateInput:
    """The validated input; errors name ``input.<field>``."""
    kind = SCOPE_TYPE.get(inp.scope, "Product")
    raw: dict[str, Any] = {
        "name": inp.name,
        "kind": inp.kind,
        "value": inp.value,
        "maxDiscount": inp.max_discount,
        "minSpend": inp.min_spend,
        "scope": inp.scope,
        "scopeIds": [
            api.pk_of(i, kind, f"input.scopeIds[{n}]") for n, i in enumerate(inp.scope_ids)
        ],
        "scopeTags": inp.scope_tags,
        "validFrom": inp.valid_from,
        "validUntil": inp.valid_until,
        "validDays": inp.valid_days,
        "total": inp.total,
        "perMember": inp.per_member,
        "claimable": inp.claimable,
        "stacks": inp.stacks,
        "returnOnRefund": inp.return_on_refund,
    }
    return api.convert(raw, TemplateInput, "input")


async def _payload(run: Callable[[], Awaitable[TemplateNode]]) -> TemplatePayload:
    try:
        return TemplatePayload(template=await run())
    except api.DomainError as err:
        return TemplatePayload(errors=[api.UserError.of(err)])


async def coupon_templates(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[TemplateNode]:
    """Templates, newest first, with issued and granted counts."""
    ctx = info.context
    return await api.keyset_page(
        CouponsTemplate.filter(tenant_id=ctx.tenant.id),
        first,
        after,
        lambda rows: [template_node(ctx.tenant, t) for t in rows],
    )


async def create_coupon_template(info: api.Info, input: TemplateIn) -> TemplatePayload:
    """Create a coupon template."""
    ctx = info.context

    async def run() -> TemplateNode:
        return template_node(ctx.tenant, await create_template(ctx.tenant, template_data(input)))

    return await _payload(run)


async def stop_coupon_template(info: api.Info, id: strawberry.ID) -> TemplatePayload:
    """Stop issuing a template's coupons; issued ones stay valid. Stopping again changes
    nothing."""
    ctx = info.context

    async def run() -> TemplateNode:
        row = await stop_template(ctx.tenant, api.pk_of(id, "CouponTemplate", "id"))
        return template_node(ctx.tenant, row)

    return await _payload(run)


def contribution() -> api.GraphQLContribution:
    """The admin schema's coupon fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                coupon_templates,
                permission="coupons.view",
                description="Coupon templates, newest first.",
            )
        ],
        mutation=[
            api.mutation(
                create_coupon_template,
                permission="coupons.manage",
                description="Create a coupon template.",
            ),
            api.mutation(
                stop_coupon_template,
                permission="coupons.manage",
                description="Stop issuing a template's coupons; issued ones stay valid. "
                "Stopping again changes nothing.",
            ),
        ],
    )
