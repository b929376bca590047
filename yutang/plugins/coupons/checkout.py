"""Coupons in a checkout: the COUPON-stage step, the lock taken by placeOrder, and the
coupon's life with its order (used at payment, back on cancel or, if the template says
so, on a full refund).

The minimum spend is measured on the eligible in-scope lines after order promotions;
activity and gift lines neither count nor get anything.
"""

from __future__ import annotations

from datetime import UTC

import msgspec

from yutang import api
from yutang.plugins.coupons.models import CouponsCoupon, CouponsTemplate
from yutang.plugins.coupons.settings import settings_of
from yutang.plugins.coupons.templates import in_scope, saving, summary

COUPON = "Coupon"
FIELD = "extensions.coupons.couponId"
CODES = api.ErrorCodes(
    "coupons",
    {
        "COUPONS_UNAVAILABLE": "the coupon is used, void or locked by another order",
        "COUPONS_NOT_STACKABLE": "the coupon does not combine with the promotions on these goods",
    },
)


class CheckoutInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """The coupon the checkout uses: the ID of one of the member's coupons."""

    coupon_id: str | None = None


def chosen(checkout: api.CheckoutContext) -> int | None:
    """The id of the coupon the checkout asks for, if any."""
    inp = checkout.input("coupons")
    if inp is None or not inp.coupon_id:
        return None
    return api.pk_of(inp.coupon_id, COUPON, FIELD)


def _lines(draft: api.Draft, template: CouponsTemplate) -> list[api.DraftLine]:
    return [ln for ln in draft.eligible() if in_scope(template, ln.line)]


def _promoted(draft: api.Draft, lines: list[api.DraftLine]) -> bool:
    indexes = {ln.index for ln in lines}
    return any(
        a.stage == api.Stage.PROMOTION and indexes & a.lines.keys() for a in draft.adjustments
    )


def _usable(coupon: CouponsCoupon, draft: api.Draft) -> tuple[list[api.DraftLine], int]:
    """The lines a coupon applies to and what it saves there; DomainError naming the
    coupon field when it cannot be used on this checkout now."""
    now = draft.checkout.now.astimezone(UTC)
    template = coupon.template
    if coupon.status != "unused":
        raise CODES.error("COUPONS_UNAVAILABLE", f"this coupon is {coupon.status}", FIELD)
    if now < coupon.starts_at:
        raise api.DomainError("NOT_OPEN", "this coupon cannot be used yet", FIELD)
    if now >= coupon.ends_at:
        raise api.DomainError("EXPIRED", "this coupon has expired", FIELD)
    lines = _lines(draft, template)
    if not lines:
        raise api.DomainError("NOT_APPLICABLE", "no goods in this order qualify", FIELD)
    if not template.stacks and _promoted(draft, lines):
        raise CODES.error(
            "COUPONS_NOT_STACKABLE", "this coupon does not combine with promotions", FIELD
        )
    spend = sum(ln.amount for ln in lines)
    if spend < template.min_spend:
        short = api.format_money(template.min_spend - spend, draft.checkout.tenant.currency)
        raise api.DomainError("NOT_APPLICABLE", f"再买{short}可用", FIELD)
    return lines, saving(template, spend)


def _label(template: CouponsTemplate, currency: str) -> str:
    return f"优惠券 {template.name} {summary(template, currency)}"


async def apply_coupon(draft: api.Draft) -> None:
    """Stage COUPON: take the chosen coupon off its lines; without one, hint the coupons
    the member could use and what each would save."""
    checkout = draft.checkout
    coupon_id = chosen(checkout)
    if checkout.member is None:
        if coupon_id is not None:
            raise api.DomainError("UNAUTHENTICATED", "log in to use a coupon", FIELD)
        return
    currency = checkout.tenant.currency
    if coupon_id is not None:
        coupon = await CouponsCoupon.get_or_none(
            tenant_id=checkout.tenant.id, id=coupon_id, member_id=checkout.member.id
        ).select_related("template")
        if coupon is None:
            raise api.NotFound("coupon", FIELD)
        lines, off = _usable(coupon, draft)
        draft.discount(off, lines, _label(coupon.template, currency))
        return
    await _hint_options(draft, checkout.member.id)


async def _hint_options(draft: api.Draft, member_id: int) -> None:
    limit = settings_of(draft.checkout.tenant).quote_hints
    if not limit:
        return
    now = draft.checkout.now.astimezone(UTC)
    coupons = await CouponsCoupon.filter(
        tenant_id=draft.checkout.tenant.id,
        member_id=member_id,
        status="unused",
        starts_at__lte=now,
        ends_at__gt=now,
    ).select_related("template")
    options: list[tuple[int, int, str]] = []
    for coupon in coupons:
        try:
            _, off = _usable(coupon, draft)
        except api.DomainError:
            continue
        saves = api.format_money(off, draft.checkout.tenant.currency)
        options.append((off, coupon.id, f"可用优惠券「{coupon.template.name}」省{saves}"))
    for off, coupon_id, message in sorted(options, key=lambda o: (-o[0], o[1]))[:limit]:
        draft.hint(message, ref=api.to_global("Coupon", coupon_id), amount=off)


async def lock(checkout: api.CheckoutContext, order_id: int) -> None:
    """In placeOrder's transaction: the order takes its coupon with a conditional UPDATE,
    so one coupon cannot pay for two orders."""
    coupon_id = chosen(checkout)
    if coupon_id is None or checkout.member is None:
        return
    if not await CouponsCoupon.filter(
        tenant_id=checkout.tenant.id,
        id=coupon_id,
        member_id=checkout.member.id,
        status="unused",
    ).update(status="locked", order_id=order_id):
        raise CODES.error("COUPONS_UNAVAILABLE", "this coupon was just used", FIELD)


async def give_back(tenant: api.TenantInfo, order_id: int, statuses: tuple[str, ...]) -> None:
    """Return the order's coupon to the member (usable again until it expires)."""
    await CouponsCoupon.filter(tenant_id=tenant.id, order_id=order_id, status__in=statuses).update(
        status="unused", order_id=None, used_at=None
    )


async def mark_used(tenant: api.TenantInfo, order_id: int) -> None:
    """The order was paid: its coupon is used."""
    await CouponsCoupon.filter(tenant_id=tenant.id, order_id=order_id, status="locked").update(
        status="used", used_at=api.now()
    )


async def refunded(tenant: api.TenantInfo, order_id: int) -> None:
    """A full refund gives the coupon back when its template says so."""
    held = await CouponsCoupon.filter(
        tenant_id=tenant.id, order_id=order_id, status__in=("locked", "used")
    ).select_related("template")
    back = [c.id for c in held if c.template.return_on_refund]
    if back:
        await CouponsCoupon.filter(tenant_id=tenant.id, id__in=back).update(
            status="unused", order_id=None, used_at=None
        )
