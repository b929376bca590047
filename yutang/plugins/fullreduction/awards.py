"""Points and coupons earned from tiers: recorded with the order, granted once it is paid,
revoked once it is fully refunded (a partial refund keeps them).

Rewards go through ``api.grant_reward`` / ``api.revoke_reward`` with a reference per
order and rule, so the plugin that provides the kind is never imported and a redelivered
event grants or revokes nothing twice.
"""

from __future__ import annotations

from yutang import api
from yutang.plugins.fullreduction.models import FullreductionAward
from yutang.plugins.fullreduction.pricing import Earned

PLUGIN = "fullreduction"


async def record(checkout: api.CheckoutContext, order_id: int, found: list[Earned] | None) -> None:
    """In placeOrder's transaction: remember what the order earned (as its pricing kept)."""
    if not found or checkout.member is None:
        return
    await FullreductionAward.bulk_create(
        [
            FullreductionAward(
                tenant_id=checkout.tenant.id,
                order_id=order_id,
                member_id=checkout.member.id,
                rule_id=e.rule_id,
                label=e.label[:200],
                points=e.points,
                coupon=e.coupon,
                coupon_count=e.coupon_count,
            )
            for e in found
        ]
    )


def rewards(award: FullreductionAward) -> list[api.Reward]:
    """The rewards an award stands for, each with its idempotency reference."""
    ref = f"{PLUGIN}:order:{award.order_id}:rule:{award.rule_id}"
    found = []
    if award.points:
        found.append(
            api.Reward(
                kind="points",
                amount=award.points,
                reference=f"{ref}:points",
                source=PLUGIN,
                label=award.label,
            )
        )
    if award.coupon:
        found.append(
            api.Reward(
                kind="coupon",
                amount=award.coupon_count,
                item=award.coupon,
                reference=f"{ref}:coupon",
                source=PLUGIN,
                label=award.label,
            )
        )
    return found


async def grant(tenant: api.TenantInfo, order_id: int) -> None:
    """After payment: grant each pending award once. A reward that cannot be granted (no
    enabled plugin provides its kind, the coupon template was stopped) marks the award
    failed with the reason, for staff to see, instead of failing the event forever."""
    for award in await FullreductionAward.filter(
        tenant_id=tenant.id, order_id=order_id, status="pending"
    ).order_by("id"):
        if not await FullreductionAward.filter(id=award.id, status="pending").update(
            status="granted"
        ):
            continue
        try:
            for reward in rewards(award):
                await api.grant_reward(tenant, award.member_id, reward)
        except api.DomainError as err:
            await FullreductionAward.filter(id=award.id).update(
                status="failed", note=f"{err.code}: {err.message}"[:500]
            )


async def revoke(tenant: api.TenantInfo, order_id: int) -> None:
    """After a full refund: revoke each granted (or partly granted) award once."""
    for award in await FullreductionAward.filter(
        tenant_id=tenant.id, order_id=order_id, status__in=("granted", "failed")
    ).order_by("id"):
        if await FullreductionAward.filter(id=award.id, status=award.status).update(
            status="revoked"
        ):
            for reward in rewards(award):
                await api.revoke_reward(tenant, award.member_id, reward)
