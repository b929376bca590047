"""GraphQL types of templates and coupons, shared by the admin and storefront schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from types import MappingProxyType

import strawberry

from yutang import api
from yutang.plugins.coupons.models import CouponsCoupon, CouponsTemplate
from yutang.plugins.coupons.templates import summary

SCOPE_TYPE = MappingProxyType({"products": "Product", "categories": "Category"})


@strawberry.enum(name="CouponStatus")
class CouponStatus(Enum):
    UNUSED = strawberry.enum_value("unused", description="Usable until `endsAt`.")
    LOCKED = strawberry.enum_value("locked", description="Held by an unpaid order.")
    USED = "used"
    VOID = strawberry.enum_value("void", description="Taken back by staff or a refund.")
    EXPIRED = strawberry.enum_value("expired", description="Past `endsAt`, unused.")


@strawberry.type(name="CouponTemplate")
class TemplateNode(api.Node):
    name: str
    summary: str = strawberry.field(description="满¥100.00减¥10.00, 无门槛减¥5.00 …")
    kind: str = strawberry.field(description="fixed or percent.")
    value: int = strawberry.field(description="Minor units off (fixed) or percent off.")
    max_discount: api.MoneyType | None
    min_spend: api.MoneyType
    scope: str
    scope_ids: list[strawberry.ID]
    scope_tags: list[str]
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    total: int | None
    issued: int
    granted: int
    per_member: int
    claimable: bool
    stacks: bool = strawberry.field(description="Whether it combines with full reduction.")
    return_on_refund: bool
    stopped_at: datetime | None


@strawberry.type(name="Coupon")
class CouponNode(api.Node):
    id: strawberry.ID = strawberry.field(
        description="Send as `extensions: {coupons: {couponId}}` to use it."
    )
    name: str
    summary: str
    status: CouponStatus
    starts_at: datetime
    ends_at: datetime
    order_id: strawberry.ID | None


def template_node(tenant: api.TenantInfo, t: CouponsTemplate) -> TemplateNode:
    """A template as GraphQL shows it."""
    cur = tenant.currency
    kind = SCOPE_TYPE.get(t.scope)
    return TemplateNode(
        id=strawberry.ID(api.to_global("CouponTemplate", t.id)),
        name=t.name,
        summary=summary(t, cur),
        kind=t.kind,
        value=t.value,
        max_discount=api.MoneyType.of(t.max_discount, cur) if t.max_discount is not None else None,
        min_spend=api.MoneyType.of(t.min_spend, cur),
        scope=t.scope,
        scope_ids=[strawberry.ID(api.to_global(kind, i)) for i in t.scope_ids] if kind else [],
        scope_tags=t.scope_tags,
        valid_from=t.valid_from,
        valid_until=t.valid_until,
        valid_days=t.valid_days,
        total=t.total,
        issued=t.issued,
        granted=t.granted,
        per_member=t.per_member,
        claimable=t.claimable,
        stacks=t.stacks,
        return_on_refund=t.return_on_refund,
        stopped_at=t.stopped_at,
    )


def status_of(coupon: CouponsCoupon, now: datetime) -> str:
    """A coupon's status, ``expired`` for an unused one past its end."""
    if coupon.status == "unused" and coupon.ends_at <= now.astimezone(UTC):
        return "expired"
    return coupon.status


def coupon_node(tenant: api.TenantInfo, c: CouponsCoupon) -> CouponNode:
    """A coupon (its template loaded) as GraphQL shows it."""
    return CouponNode(
        id=strawberry.ID(api.to_global("Coupon", c.id)),
        name=c.template.name,
        summary=summary(c.template, tenant.currency),
        status=CouponStatus(status_of(c, api.now())),
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        order_id=strawberry.ID(api.to_global("Order", c.order_id)) if c.order_id else None,
    )
