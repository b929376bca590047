"""What happens to a presale's orders after placement: deposits and balances paid, a
deposit forfeited, the merchant's refund policy, and the wind-up of a cancelled presale.

Deposit, balance and forfeiture are the core's payment plan; this module only follows
them (for the admin's counts and the member's list) and applies the presale's terms.
"""

from __future__ import annotations

from typing import Any

from yutang import api
from yutang.plugins.presale.checkout import CODES, Presale
from yutang.plugins.presale.models import (
    BALANCE_PAID,
    DEPOSIT_DUE,
    DEPOSIT_PAID,
    PresaleActivity,
    PresaleOrder,
)

UNPAID_BALANCE = ("deposit_paid", "forfeited")
"""Core order states of a presale order whose deposit was paid and balance was not."""


async def deposit_paid(tenant: api.TenantInfo, order_id: int, at: Any) -> None:
    """The order's deposit was paid (its events may arrive in any order)."""
    row = PresaleOrder.filter(tenant_id=tenant.id, order_id=order_id)
    await row.filter(deposit_paid_at__isnull=True).update(deposit_paid_at=at)
    await row.filter(status=DEPOSIT_DUE).update(status=DEPOSIT_PAID)


async def balance_paid(tenant: api.TenantInfo, order_id: int, at: Any) -> None:
    """The order's balance was paid: it is paid in full."""
    await PresaleOrder.filter(
        tenant_id=tenant.id, order_id=order_id, status__in=(DEPOSIT_DUE, DEPOSIT_PAID)
    ).update(status=BALANCE_PAID, balance_paid_at=at)


async def after_forfeit(tenant: api.TenantInfo, order_id: int) -> None:
    """A forfeited deposit goes back if the presale's policy says so."""
    row = await PresaleOrder.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if row is None:
        return
    activity = await PresaleActivity.get(tenant_id=tenant.id, id=row.activity_id)
    if activity.refund_forfeited:
        await api.refund_order(
            tenant,
            order_id,
            actor="plugin:presale",
            idempotency_key=f"forfeit:{order_id}",
            reason="presale deposit returned by policy",
        )


async def check_refund(tenant: api.TenantInfo, order_id: int) -> None:
    """A member may not ask for a deposit back while its balance is unpaid (or after it
    was forfeited), unless the presale returns forfeited deposits."""
    row = await PresaleOrder.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if row is None:
        return
    view = await api.order_view(tenant, order_id)
    if view.status not in UNPAID_BALANCE:
        return
    activity = await PresaleActivity.get(tenant_id=tenant.id, id=row.activity_id)
    if not activity.refund_forfeited:
        raise CODES.error(
            "PRESALE_DEPOSIT_KEPT",
            "定金不退: a deposit is kept unless its balance is paid",
            "orderId",
        )


async def wind_up(tenant: api.TenantInfo, presale: Presale, activity_id: int) -> None:
    """Cancel a cancelled presale's unpaid orders and refund the deposits of those still
    waiting for their balance, each in its own transaction. An order that moved on
    meanwhile (its deposit or balance just paid) is left to a retry, which reads it again:
    an order paid in full stands."""
    rows = await PresaleOrder.filter(
        tenant_id=tenant.id, activity_id=activity_id, status__in=(DEPOSIT_DUE, DEPOSIT_PAID)
    ).order_by("id")
    views = await api.order_views(tenant, [r.order_id for r in rows])
    moved = 0
    for row in rows:
        try:
            if views[row.order_id].status == "pending_payment":
                await api.cancel_order(tenant, row.order_id, by=presale, reason="presale_cancelled")
            else:
                await api.refund_order(
                    tenant,
                    row.order_id,
                    actor="plugin:presale",
                    idempotency_key=f"cancelled:{row.order_id}",
                    reason="presale cancelled",
                    if_status=("deposit_paid",),
                )
        except api.DomainError:
            moved += 1
    if moved:
        raise RuntimeError(f"{moved} orders of presale {activity_id} moved on; retrying")
