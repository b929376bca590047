"""Fulfilment and completion: holds from plugins, auto-complete, the after-sale window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from yutang.core import activities, clock, methods, outbox
from yutang.core.contract import FulfilmentMethod, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.models import Order
from yutang.core.orders import cancel_order, emit_order_event, get_order, transition
from yutang.core.settings_core import core_settings


async def fulfil_order(
    tenant: TenantInfo, order_id: int, *, by: FulfilmentMethod[Any] | None = None
) -> Order:
    """Mark a paid order fulfilled (shipped or picked up) unless something holds it.

    ``by`` is the order's own fulfilment method handing it over (pickup verifying its
    code): its own hold does not apply then, the activities' holds still do.
    """
    async with in_transaction():
        order = await get_order(tenant, order_id)
        if order.status != "paid":
            raise DomainError(
                "ILLEGAL_TRANSITION",
                f"an order that is {order.status} cannot be fulfilled",
                "orderId",
            )
        await check_holds(tenant, order, by)
        await mark_fulfilled(tenant, order)
    return order


async def check_holds(
    tenant: TenantInfo, order: Order, by: FulfilmentMethod[Any] | None = None
) -> None:
    """Refuse to ship or hand over an order its activities hold (a group-buy team not yet
    succeeded), or its fulfilment method refuses to let go of except by itself."""
    holds = await activities.each(tenant, order.quote, "hold", tenant=tenant, order_id=order.id)
    method = await methods.hold(tenant, order.fulfilment, order.id, by)
    if method is not None:
        holds.append(method)
    if holds:
        raise DomainError("FULFILMENT_HELD", "; ".join(holds), "orderId")


async def mark_fulfilled(tenant: TenantInfo, order: Order) -> None:
    """paid → fulfilled; receipt is confirmed automatically after the tenant's days."""
    now = clock.now()
    await transition(tenant, order, "fulfilled", fulfilled_at=now)
    days = core_settings(tenant).auto_complete_days
    await outbox.schedule(
        tenant.id,
        "core.auto_complete",
        {"order_id": order.id},
        now + timedelta(days=days),
        dedupe_key=f"auto_complete:{order.id}",
    )
    await emit_order_event(tenant, order, "yutang_order_fulfilled")


async def complete_order(tenant: TenantInfo, order_id: int, member_id: int | None) -> Order:
    """The member confirms receipt (or the auto-complete job does): fulfilled → completed."""
    async with in_transaction():
        order = await get_order(tenant, order_id, member_id)
        await _complete(tenant, order)
    return order


async def _complete(tenant: TenantInfo, order: Order) -> None:
    now = clock.now()
    await transition(tenant, order, "completed", completed_at=now)
    await outbox.schedule(
        tenant.id,
        "core.close_after_sale",
        {"order_id": order.id},
        after_sale_deadline(tenant, now),
        dedupe_key=f"close_after_sale:{order.id}",
    )
    await emit_order_event(tenant, order, "yutang_order_completed")


async def auto_complete(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: complete an order nobody confirmed within the tenant's setting."""
    order = await Order.get(tenant_id=tenant.id, id=payload["order_id"])
    if order.status == "fulfilled":
        await _complete(tenant, order)


async def close_after_sale(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: close the after-sale window once; ``after_sale_closed`` fires once."""
    order = await Order.get(tenant_id=tenant.id, id=payload["order_id"])
    closed = await Order.filter(
        id=order.id, status="completed", after_sale_closed_at__isnull=True
    ).update(after_sale_closed_at=clock.now())
    if closed:
        await emit_order_event(tenant, order, "yutang_after_sale_closed")


async def payment_timeout(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: cancel an order still unpaid at its deadline."""
    order = await Order.get(tenant_id=tenant.id, id=payload["order_id"])
    if order.status == "pending_payment":
        await cancel_order(tenant, order.id, member_id=None, reason="payment_timeout")


def after_sale_deadline(tenant: TenantInfo, completed: Any) -> Any:
    """When the after-sale window of an order completed at ``completed`` closes."""
    return completed + timedelta(days=core_settings(tenant).after_sale_days)
