"""A payment plan's later instalments: paying one, its window opening, its window closing
unpaid (the order is forfeited)."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import clock, outbox
from yutang.core.contract import TenantInfo
from yutang.core.instalments import end_pending
from yutang.core.members import change_points
from yutang.core.models import Instalment, Member, Order
from yutang.core.orders import emit_order_event, mark_paid, release_lines, transition

OPENS_JOB = "core.instalment_opens"
DUE_JOB = "core.instalment_due"


async def take(tenant: TenantInfo, order: Order, position: int, amount: int) -> bool:
    """In the capture's transaction (the order locked): record the payment of the
    instalment at ``position`` if the order can still take it. The last one pays the
    order; an earlier one makes (or keeps) it ``deposit_paid`` and starts the next one's
    clock."""
    expected = "pending_payment" if position == 0 else "deposit_paid"
    if order.status != expected:
        return False
    now = clock.now()
    paid = await Instalment.filter(
        tenant_id=tenant.id, order_id=order.id, position=position, status="pending"
    ).update(status="paid", paid_at=now)
    if not paid:
        return False
    following = await Instalment.filter(
        tenant_id=tenant.id, order_id=order.id, position=position + 1
    ).first()
    if following is None:
        await mark_paid(tenant, order, amount)
        return True
    changes = {"paid_amount": order.paid_amount + amount, "payment_deadline": following.due_at}
    if order.status == "pending_payment":
        await transition(tenant, order, "deposit_paid", paid_at=now, **changes)
    else:  # a middle instalment: still deposit_paid, the order row is locked
        await Order.filter(id=order.id, status="deposit_paid").update(**changes)
        order.paid_amount, order.payment_deadline = changes["paid_amount"], following.due_at
    await Member.filter(tenant_id=tenant.id, id=order.member_id).update(
        paid_spend=F("paid_spend") + amount
    )
    payload = {"order_id": order.id, "position": following.position}
    await outbox.schedule(
        tenant.id,
        OPENS_JOB,
        payload,
        following.opens_at,
        dedupe_key=f"instalment_opens:{order.id}:{following.position}",
    )
    await outbox.schedule(
        tenant.id,
        DUE_JOB,
        payload,
        following.due_at,
        dedupe_key=f"instalment_due:{order.id}:{following.position}",
    )
    await emit_order_event(
        tenant,
        order,
        "yutang_instalment_paid",
        {"position": position, "amount": amount, "next": _described(following)},
    )
    return True


def _described(part: Instalment) -> dict[str, Any]:
    return {
        "position": part.position,
        "label": part.label,
        "amount": part.amount,
        "opensAt": part.opens_at.isoformat(),
        "dueAt": part.due_at.isoformat(),
    }


async def announce_open(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: an instalment's window opened (``yutang_instalment_opened``, for reminders)."""
    order = await Order.get(tenant_id=tenant.id, id=payload["order_id"])
    part = await _pending(tenant, order, payload["position"])
    if part is not None:
        await emit_order_event(tenant, order, "yutang_instalment_opened", _described(part))


async def forfeit_overdue(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: an instalment's window closed unpaid: the order is forfeited, its stock,
    activity stock and points go back and what was paid is kept."""
    async with in_transaction():
        query = Order.filter(tenant_id=tenant.id, id=payload["order_id"])
        order = await query.select_for_update().get()
        part = await _pending(tenant, order, payload["position"])
        if part is None or part.due_at > clock.now():
            return
        await transition(tenant, order, "forfeited", cancelled_at=clock.now())
        await end_pending(tenant, order.id, "forfeited")
        await release_lines(tenant, order, None, "forfeited")
        if order.points_used:
            await change_points(
                tenant, order.member_id, order.points_used, "order_forfeited", f"order:{order.id}"
            )
        kept = {"kept": order.paid_amount}
        await emit_order_event(tenant, order, "yutang_order_forfeited", kept)


async def _pending(tenant: TenantInfo, order: Order, position: int) -> Instalment | None:
    if order.status != "deposit_paid":
        return None
    return await Instalment.filter(
        tenant_id=tenant.id, order_id=order.id, position=position, status="pending"
    ).first()
