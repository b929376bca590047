"""Issuing coupons: members claim them under two conditional counters, other plugins grant
them as rewards (idempotent per reference) and revoke them while unused."""

from __future__ import annotations

from datetime import UTC

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.coupons.models import CouponsCoupon, CouponsHolding, CouponsTemplate
from yutang.plugins.coupons.templates import validity

TEMPLATE = "CouponTemplate"


def _open(template: CouponsTemplate | None, field: str) -> CouponsTemplate:
    """The template if coupons of it may still be issued now."""
    now = api.now().astimezone(UTC)
    if template is None:
        raise api.NotFound("coupon template", field)
    if template.stopped_at is not None or (
        template.valid_until is not None and template.valid_until <= now
    ):
        raise api.DomainError("NOT_OPEN", "coupons of this template are no longer issued", field)
    return template


async def claim(tenant: api.TenantInfo, member_id: int, template_id: int) -> CouponsCoupon:
    """A member claims a coupon: the member's counter, then the template's, each raised by a
    conditional UPDATE in one transaction, so neither limit is ever exceeded under races."""
    field = "templateId"
    async with in_transaction():
        template = _open(
            await CouponsTemplate.get_or_none(tenant_id=tenant.id, id=template_id), field
        )
        if not template.claimable:
            raise api.NotFound("coupon template", field)
        await CouponsHolding.bulk_create(
            [CouponsHolding(tenant_id=tenant.id, template_id=template.id, member_id=member_id)],
            ignore_conflicts=True,
        )
        if not await CouponsHolding.filter(
            tenant_id=tenant.id,
            template_id=template.id,
            member_id=member_id,
            claimed__lt=template.per_member,
        ).update(claimed=F("claimed") + 1):
            raise api.DomainError(
                "LIMIT_REACHED", f"at most {template.per_member} per member", field
            )
        taken = CouponsTemplate.filter(tenant_id=tenant.id, id=template.id)
        if template.total is not None:
            taken = taken.filter(issued__lt=template.total)
        if not await taken.update(issued=F("issued") + 1):
            raise api.DomainError("SOLD_OUT", "all coupons of this template were claimed", field)
        starts_at, ends_at = validity(template, api.now().astimezone(UTC))
        return await CouponsCoupon.create(
            tenant_id=tenant.id,
            template_id=template.id,
            member_id=member_id,
            starts_at=starts_at,
            ends_at=ends_at,
        )


async def grant(tenant: api.TenantInfo, member_id: int, reward: api.Reward) -> None:
    """Grant ``reward.amount`` (at least one) coupons of the template ``reward.item`` (its
    ID), once per ``reward.reference``; rewards are earned, so the claim limits do not apply."""
    if await CouponsCoupon.exists(tenant_id=tenant.id, reference=f"{reward.reference}#0"):
        return
    template_id = api.pk_of(reward.item, TEMPLATE, "reward.item")
    template = _open(
        await CouponsTemplate.get_or_none(tenant_id=tenant.id, id=template_id), "reward.item"
    )
    count = max(reward.amount, 1)
    starts_at, ends_at = validity(template, api.now().astimezone(UTC))
    await CouponsCoupon.bulk_create(
        [
            CouponsCoupon(
                tenant_id=tenant.id,
                template_id=template.id,
                member_id=member_id,
                starts_at=starts_at,
                ends_at=ends_at,
                reference=f"{reward.reference}#{n}",
            )
            for n in range(count)
        ]
    )
    await CouponsTemplate.filter(id=template.id).update(granted=F("granted") + count)


async def revoke(tenant: api.TenantInfo, member_id: int, reward: api.Reward) -> None:
    """Void the coupons a reward granted that are still unused."""
    await CouponsCoupon.filter(
        tenant_id=tenant.id,
        member_id=member_id,
        reference__startswith=f"{reward.reference}#",
        status="unused",
    ).update(status="void")
