"""Payments: the provider contract, the built-in dev provider, and capture handling.

Gateway calls never run inside a database transaction: a payment row is written,
the provider is called, and its (possibly later, asynchronous) confirmation is recorded
in a transaction of its own.
"""

from __future__ import annotations

import secrets
from typing import Any

from tortoise.transactions import in_transaction

from yutang.core import activities, balances, clock, idempotency, instalments, outbox
from yutang.core.contract import Capture, PaymentIntent, PaymentProvider, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.models import Order, Payment
from yutang.core.orders import get_order, mark_paid
from yutang.core.plugins import hooks_of
from yutang.core.sql import advisory_lock

# A closed payment (the shopper switched provider) may still be captured by its gateway.
OPEN = frozenset({"pending", "closed"})


class DevProvider:
    """The built-in offline provider: captures at once; for development and tests."""

    name = "dev"

    async def create(self, tenant: TenantInfo, reference: str, amount: int) -> PaymentIntent:
        """Captured immediately."""
        return PaymentIntent(client_data={"provider": "dev", "reference": reference}, captured=True)

    async def verify_callback(self, headers: dict[str, str], body: bytes) -> Capture | None:
        """The dev provider takes no callbacks."""
        return None

    async def refund(
        self, tenant: TenantInfo, reference: str, amount: int, refund_ref: str
    ) -> bool:
        """Refunded at once."""
        return True


def providers(tenant: TenantInfo) -> dict[str, PaymentProvider]:
    """Providers installed in the tenant's plugin set, by name."""
    return hooks_of(tenant).by_name("yutang_payment_providers")


async def pay_order(
    tenant: TenantInfo, member_id: int, order_id: int, provider_name: str, key: str
) -> tuple[Order, Payment, PaymentIntent | None]:
    """Start paying an order (its next instalment, when it is paid in parts); with a
    synchronous provider it is paid on return.

    At most one payment attempt of an order (of an instalment) is open at a time: a
    second attempt with the same provider gets the open one back (the provider is asked
    again for the same reference), one with another provider closes it first."""
    if provider_name not in providers(tenant):
        raise DomainError("INVALID", f"unknown payment provider {provider_name!r}", "provider")
    actor = f"member:{member_id}"
    request = {"order_id": order_id, "provider": provider_name}
    try:
        async with in_transaction():
            await idempotency.claim(tenant, actor, "payOrder", key, request)
            payment = await _open_payment(tenant, member_id, order_id, provider_name)
            await idempotency.remember(tenant, actor, "payOrder", key, {"payment_id": payment.id})
    except idempotency.Replay as replay:
        payment = await Payment.get(tenant_id=tenant.id, id=replay.result["payment_id"])
        return await get_order(tenant, payment.order_id), payment, None
    intent = await providers(tenant)[provider_name].create(
        tenant, payment.reference, payment.amount
    )
    recorded = None
    if intent.captured:
        recorded = await record_capture(tenant, provider_name, payment.reference, payment.amount)
    if recorded is not None:
        return recorded[0], recorded[1], intent
    await payment.refresh_from_db()
    return await get_order(tenant, order_id), payment, intent


async def _open_payment(
    tenant: TenantInfo, member_id: int, order_id: int, provider: str
) -> Payment:
    """The order's (its payable instalment's) one open payment with ``provider``, made
    now if there is none.

    Attempts for one order queue on its payment lock (PostgreSQL; SQLite serializes
    transactions), so each reads the payments after the previous attempt committed. A
    capture recorded after the order was read shows as a captured payment: the order is
    paid by then."""
    await advisory_lock(f"payment|{tenant.id}|{order_id}")
    order = await get_order(tenant, order_id, member_id)
    position, amount = 0, order.total
    if instalments.has_plan(order):
        part = await instalments.payable(tenant, order)
        position, amount = part.position, part.amount
    elif order.status != "pending_payment":
        raise DomainError(
            "ILLEGAL_TRANSITION", f"an order that is {order.status} cannot be paid", "orderId"
        )
    elif order.payment_deadline <= clock.now():
        raise DomainError("PAYMENT_EXPIRED", "the time to pay has run out", "orderId")
    live = await Payment.filter(
        tenant_id=tenant.id,
        order_id=order_id,
        instalment=position,
        status__in=("pending", "captured"),
    ).order_by("id")
    if any(p.status == "captured" for p in live):
        raise DomainError("ILLEGAL_TRANSITION", "an order that is paid cannot be paid", "orderId")
    for current in live:
        if current.provider == provider:
            return current
        await Payment.filter(id=current.id, status="pending").update(status="closed")
    return await Payment.create(
        tenant_id=tenant.id,
        order_id=order.id,
        instalment=position,
        provider=provider,
        amount=amount,
        reference=f"P{order.id}-{secrets.token_hex(6)}",
    )


async def record_capture(
    tenant: TenantInfo, provider: str, reference: str, amount: int
) -> tuple[Order, Payment] | None:
    """Record a captured payment, once. If the order can no longer take it, a plugin
    may claim it in this transaction; otherwise it is refunded in full. Returns the order
    and the payment as recorded (None if the capture was recorded before), so callers
    need not read them again."""
    async with in_transaction():
        payment = (
            await Payment.filter(tenant_id=tenant.id, provider=provider, reference=reference)
            .select_for_update()
            .first()
        )
        if payment is None:
            raise DomainError("NOT_FOUND", "unknown payment", "reference")
        if payment.status not in OPEN:
            return None
        if amount != payment.amount:
            raise DomainError("AMOUNT_MISMATCH", "captured amount differs", "amount")
        now = clock.now()
        await Payment.filter(id=payment.id).update(status="captured", captured_at=now)
        payment.status, payment.captured_at = "captured", now
        order = await Order.filter(id=payment.order_id).select_for_update().get()
        if instalments.has_plan(order):
            if await balances.take(tenant, order, payment.instalment, amount):
                return order, payment
        elif order.status == "pending_payment":
            await mark_paid(tenant, order, amount)
            return order, payment
        claimed = await activities.each(
            tenant,
            order.quote,
            "claim_payment",
            tenant=tenant,
            order_id=order.id,
            payment_id=payment.id,
        )
        if any(claimed):
            await Payment.filter(id=payment.id).update(claimed_by="plugin")
            payment.claimed_by = "plugin"
            return order, payment
        await Payment.filter(id=payment.id).update(claimed_by="core")
        payment.claimed_by = "core"
        await outbox.schedule(
            tenant.id,
            "core.refund_payment",
            {"payment_id": payment.id},
            now,
            dedupe_key=f"refund_payment:{payment.id}",
        )
        return order, payment


async def refund_stray_payment(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: give back a payment that arrived for an order that could not take it."""
    payment = await Payment.get(tenant_id=tenant.id, id=payload["payment_id"])
    if payment.status != "captured":
        return
    provider = providers(tenant)[payment.provider]
    if await provider.refund(tenant, payment.reference, payment.amount, f"stray-{payment.id}"):
        await Payment.filter(id=payment.id, status="captured").update(status="refunded")
