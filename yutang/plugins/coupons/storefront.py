"""Storefront GraphQL: templates open to claim, claiming, and the member's coupons."""

from __future__ import annotations

from datetime import UTC

import strawberry
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from yutang import api
from yutang.plugins.coupons.issue import TEMPLATE, claim
from yutang.plugins.coupons.models import CouponsCoupon, CouponsTemplate
from yutang.plugins.coupons.nodes import CouponNode, TemplateNode, coupon_node, template_node

MAX_COUPONS = 200


@strawberry.type(name="ClaimCouponPayload")
class ClaimPayload:
    coupon: CouponNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


def _claimable(tenant: api.TenantInfo) -> QuerySet[CouponsTemplate]:
    now = api.now().astimezone(UTC)
    return CouponsTemplate.filter(
        tenant_id=tenant.id, claimable=True, stopped_at__isnull=True
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))


async def coupon_templates(info: api.Info) -> list[TemplateNode]:
    """Templates members may claim now, newest first."""
    tenant = info.context.tenant
    rows = await _claimable(tenant).order_by("-id").limit(MAX_COUPONS)
    return [template_node(tenant, t) for t in rows]


async def _template(info: api.Info, pk: int) -> TemplateNode | None:
    """A template open to claim now, as ``couponTemplates`` lists it."""
    tenant = info.context.tenant
    row = await _claimable(tenant).filter(id=pk).first()
    return template_node(tenant, row) if row else None


async def _my_coupon(info: api.Info, pk: int) -> CouponNode | None:
    """One of the caller's own coupons."""
    ctx = info.context
    member_id = await ctx.optional_member_id()
    if member_id is None:
        return None
    row = (
        await CouponsCoupon.filter(tenant_id=ctx.tenant.id, id=pk, member_id=member_id)
        .select_related("template")
        .first()
    )
    return coupon_node(ctx.tenant, row) if row else None


async def claim_coupon(info: api.Info, template_id: strawberry.ID) -> ClaimPayload:
    """Claim a coupon of a template (LIMIT_REACHED, SOLD_OUT, ENDED)."""
    ctx = info.context
    try:
        member_id = await ctx.member_id()
        row = await claim(ctx.tenant, member_id, api.pk_of(template_id, TEMPLATE, "templateId"))
        await row.fetch_related("template")
    except api.DomainError as err:
        return ClaimPayload(errors=[api.UserError.of(err)])
    return ClaimPayload(coupon=coupon_node(ctx.tenant, row))


async def my_coupons(
    info: api.Info, usable: bool = False, first: int = 20, after: str | None = None
) -> api.Connection[CouponNode]:
    """The member's coupons, newest first; ``usable`` keeps unused unexpired ones."""
    ctx = info.context
    member_id = await ctx.member_id()
    query = CouponsCoupon.filter(tenant_id=ctx.tenant.id, member_id=member_id)
    if usable:
        query = query.filter(status="unused", ends_at__gt=api.now().astimezone(UTC))
    return await api.keyset_page(
        query.select_related("template"),
        first,
        after,
        lambda rows: [coupon_node(ctx.tenant, c) for c in rows],
    )


def contribution() -> api.GraphQLContribution:
    """The storefront schema's coupon fields."""
    return api.GraphQLContribution(
        query=[
            api.field(coupon_templates, description="Coupon templates open to claim now."),
            api.field(my_coupons, description="The logged-in member's coupons, newest first."),
        ],
        mutation=[api.mutation(claim_coupon, description="Claim a coupon of a template.")],
        nodes=[api.NodeType(TemplateNode, _template), api.NodeType(CouponNode, _my_coupon)],
    )
