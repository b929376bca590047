"""The core's own plugin: member prices, points deduction, delivery, points rewards, core
jobs.

Written against the same hooks as any plugin; always part of every tenant's set.
"""

from __future__ import annotations

from typing import Any

import msgspec

from yutang.core import (
    balances,
    cart,
    expiry,
    fulfilment,
    payments,
    refunds,
    shipping,
    virtual,
    webhooks,
    webhooks_delivery,
)
from yutang.core.contract import (
    Draft,
    FulfilmentMethod,
    JobHandler,
    Permission,
    PriceStep,
    Reward,
    RewardKind,
    Stage,
    TenantInfo,
    VerificationProvider,
    outside_transaction,
)
from yutang.core.errors import DomainError
from yutang.core.hookspecs import hookimpl
from yutang.core.members import change_points, revoke_points
from yutang.core.money import apportion, format_money, percent_of
from yutang.core.payment_contract import PaymentProvider
from yutang.core.payments import DevProvider
from yutang.core.permissions import CORE_PERMISSIONS
from yutang.core.settings_core import CoreSettings, core_settings
from yutang.core.verification import DevProvider as DevCodes


@hookimpl
def yutang_permissions() -> list[Permission]:
    """The core's admin permissions (``yutang.core.permissions``)."""
    return list(CORE_PERMISSIONS)


@hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """The core's settings."""
    return CoreSettings


def member_price(draft: Draft) -> None:
    """Offer each eligible line the member level's discount (stage 2)."""
    member = draft.checkout.member
    if member is None or member.level_discount_percent is None:
        return
    percent = member.level_discount_percent
    label = f"{member.level_name} 会员价"
    for ln in draft.eligible():
        draft.offer_price(ln, percent_of(ln.line.list_price, percent), label)


def points_deduction(draft: Draft) -> None:
    """Pay part of the order with points, within the tenant's rate and cap (stage 5)."""
    wanted = draft.checkout.input("core")
    member = draft.checkout.member
    if wanted is None or not wanted.points or member is None:
        return
    if wanted.points > member.points:
        raise DomainError("INSUFFICIENT_POINTS", f"you have {member.points} points", "usePoints")
    settings = core_settings(draft.checkout.tenant)
    lines = [ln for ln in draft.eligible() if ln.amount > 0]
    cap = percent_of(sum(ln.amount for ln in lines), settings.points_max_percent)
    fen = min(wanted.points * 100 // settings.points_per_yuan, cap)
    if fen <= 0:
        return
    points = -(-fen * settings.points_per_yuan // 100)
    shares_before = [ln.amount for ln in lines]
    applied = draft.discount(
        fen, lines, f"积分抵扣 {points}积分 (-{format_money(fen, draft.checkout.tenant.currency)})"
    )
    draft.points_used = points
    weights = [before - ln.amount for before, ln in zip(shares_before, lines, strict=True)]
    for ln, share in zip(lines, apportion(points, weights), strict=True):
        ln.points = share
    if applied < wanted.points * 100 // settings.points_per_yuan:
        draft.hint(f"积分最多抵扣订单金额的{settings.points_max_percent}%")


@hookimpl
def yutang_price_steps() -> list[PriceStep]:
    """Member price and points deduction."""
    return [
        PriceStep(Stage.MEMBER_PRICE, member_price, priority=100),
        PriceStep(Stage.POINTS, points_deduction, priority=100),
    ]


@hookimpl
def yutang_fulfilment_methods() -> list[FulfilmentMethod[Any]]:
    """Delivery to the shopper's address, and goods that ship nothing."""
    return [shipping.Delivery(), virtual.Virtual()]


class Points(RewardKind):
    """Points as a reward: added to the member's balance, taken back as far as unspent."""

    kind = "points"

    async def grant(self, tenant: TenantInfo, member_id: int, reward: Reward) -> None:
        """Add the points (once per reference)."""
        await change_points(tenant, member_id, reward.amount, "reward", reward.reference)

    async def revoke(self, tenant: TenantInfo, member_id: int, reward: Reward) -> None:
        """Take what is left of them back."""
        await revoke_points(tenant, member_id, reward.amount, "reward_revoked", reward.reference)


@hookimpl
def yutang_reward_kinds() -> list[RewardKind]:
    """The core grants points."""
    return [Points()]


@hookimpl
def yutang_jobs() -> dict[str, JobHandler]:
    """The core's durable jobs."""
    handlers: dict[str, Any] = {
        "core.payment_timeout": fulfilment.payment_timeout,
        balances.OPENS_JOB: balances.announce_open,
        balances.DUE_JOB: balances.forfeit_overdue,
        "core.auto_complete": fulfilment.auto_complete,
        "core.close_after_sale": fulfilment.close_after_sale,
        "core.refund_payment": outside_transaction(payments.refund_stray_payment),
        payments.RECONCILE_JOB: outside_transaction(payments.reconcile),
        payments.CLOSE_JOB: outside_transaction(payments.close_payment),
        "core.execute_refund": outside_transaction(refunds.execute_refund),
        "core.expire_guest_cart": cart.expire_guest_cart,
        expiry.PURGE_JOB: expiry.purge_expired,
        virtual.JOB: virtual.hand_over,
        webhooks.JOB: webhooks_delivery.deliver,
    }
    return handlers


@hookimpl
def yutang_payment_providers() -> list[PaymentProvider]:
    """The offline dev provider."""
    return [DevProvider()]


@hookimpl
def yutang_verification_providers() -> list[VerificationProvider]:
    """The dev provider, which logs codes instead of sending them."""
    return [DevCodes()]
