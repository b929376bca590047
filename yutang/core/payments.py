"""Payments: the built-in dev provider, paying an order, captures, notifications and
reconciliation.

Gateway calls never run inside a database transaction: a payment row is written (with
the durable jobs that follow it up), the provider is called, and its confirmation —
synchronous, a notification, or what reconciliation finds — is recorded in a
transaction of its own, once, whichever comes first.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec
from tortoise.transactions import in_transaction

from yutang.core import activities, balances, clock, idempotency, instalments, outbox
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.gateways import context, provider
from yutang.core.models import Instalment, Order, Payment, Refund
from yutang.core.orders import CLOSE_PAYMENT_JOB, close_open_payments, get_order, mark_paid
from yutang.core.payment_contract import (
    CallbackAnswer,
    GatewayContext,
    GatewayPayment,
    Notification,
    PaymentIntent,
    PaymentRequest,
    RefundRequest,
    RefundState,
)
from yutang.core.schedules import Queue
from yutang.core.sql import advisory_lock

log = logging.getLogger("yutang.payments")

# A closed payment (the shopper switched provider) may still be captured by its gateway.
OPEN = frozenset({"pending", "closed"})
RECONCILE_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
"""When reconciliation asks the gateway about a payment no notification settled, counted
from each previous ask (about 16 hours in all); after the last, an unpaid payment is
closed at the gateway."""
MAX_PAYER_FIELDS = 8
RECONCILE_JOB = "core.reconcile_payment"
CLOSE_JOB = CLOSE_PAYMENT_JOB
STRAY_JOB = "core.refund_payment"
REFUND_JOB = "core.execute_refund"
PENDING_ASKS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
    timedelta(hours=24),
    timedelta(hours=24),
)
"""When a refund the gateway is still processing is asked about again, counted from each
previous ask (about four and a half days in all); then its job fails for an operator."""


class DevProvider:
    """The built-in offline provider: captures at once; for development and tests."""

    name = "dev"
    credentials: type[msgspec.Struct] | None = None

    def check_credentials(self, credentials: Any) -> str:
        """The dev provider takes none."""
        return ""

    async def create(self, ctx: GatewayContext, payment: PaymentRequest) -> PaymentIntent:
        """Captured immediately (``pay_order`` refuses it in production, :func:`dev_allowed`)."""
        return PaymentIntent(
            client_data={"provider": "dev", "reference": payment.reference}, captured=True
        )

    async def query(self, ctx: GatewayContext, reference: str) -> GatewayPayment:
        """Nothing is ever left pending."""
        return GatewayPayment("closed")

    async def close(self, ctx: GatewayContext, reference: str) -> GatewayPayment:
        """Nothing to close."""
        return GatewayPayment("closed")

    async def refund(self, ctx: GatewayContext, refund: RefundRequest) -> RefundState:
        """Refunded at once."""
        return "refunded"

    async def notification(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> Notification | None:
        """The dev provider sends no notifications."""
        return None

    def answer(self, accepted: bool) -> CallbackAnswer:
        """Plain JSON."""
        return CallbackAnswer(200 if accepted else 400, b'{"status":"rejected"}')


def dev_allowed() -> bool:
    """Whether the dev provider may take payments: not in production, unless the
    deployment asks for it (``YUTANG_DEV_PAYMENTS=on``, a demo): no shop is paid for free."""
    production = os.environ.get("YUTANG_ENV", "development") == "production"
    return not production or os.environ.get("YUTANG_DEV_PAYMENTS", "").lower() in ("on", "1")


def _payer(values: object) -> dict[str, str]:
    """The client's payer fields for the gateway, bounded."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise DomainError("INVALID", "payer is an object of fields", "payer")
    found = dict(values)
    if len(found) > MAX_PAYER_FIELDS:
        raise DomainError("INVALID", f"at most {MAX_PAYER_FIELDS} payer fields", "payer")
    for key, value in found.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 256:
            raise DomainError("INVALID", "payer fields are short strings", f"payer.{key}"[:80])
    return found


async def pay_order(
    tenant: TenantInfo,
    member_id: int,
    order_id: int,
    provider_name: str,
    key: str,
    payer: object = None,
) -> tuple[Order, Payment, PaymentIntent | None]:
    """Start paying an order (its next instalment, when it is paid in parts); with a
    synchronous provider it is paid on return.

    At most one payment attempt of an order (of an instalment) is open at a time: a
    second attempt with the same provider gets the open one back (the provider is asked
    again for the same reference), one with another provider closes it first, in the
    database and at its gateway."""
    gateway = provider(tenant, provider_name)
    if gateway.name == DevProvider.name and not dev_allowed():
        raise DomainError("INVALID", "the dev provider takes no payments in production", "provider")
    ctx = await context(tenant, provider_name)
    fields = _payer(payer)
    actor = f"member:{member_id}"
    request = {"order_id": order_id, "provider": provider_name}
    try:
        async with in_transaction():
            await idempotency.claim(tenant, actor, "payOrder", key, request)
            order, payment, closed = await _open_payment(tenant, member_id, order_id, provider_name)
            await idempotency.remember(tenant, actor, "payOrder", key, {"payment_id": payment.id})
    except idempotency.Replay as replay:  # the same request again: the same payment
        payment = await Payment.get(tenant_id=tenant.id, id=replay.result["payment_id"])
        order, closed = await Order.get(tenant_id=tenant.id, id=payment.order_id), []
    if payment.status != "pending":
        return order, payment, None
    for old in closed:
        if await _close_now(tenant, old):
            await Payment.filter(id=payment.id, status="pending").update(status="closed")
            raise DomainError(
                "ILLEGAL_TRANSITION",
                f"the order was paid meanwhile through {old.provider}",
                "orderId",
            )
    intent = await gateway.create(
        ctx,
        PaymentRequest(
            reference=payment.reference,
            amount=payment.amount,
            currency=order.currency,
            description=f"{tenant.name} {order.number}"[:120],
            expires_at=await _deadline(tenant, order, payment),
            payer=fields,
        ),
    )
    recorded = None
    if intent.captured:
        recorded = await record_capture(tenant, provider_name, payment.reference, payment.amount)
    if recorded is not None:
        return recorded[0], recorded[1], intent
    await payment.refresh_from_db()
    if payment.status == "closed":  # ended (cancelled, another attempt) while it opened
        await _close_now(tenant, payment)
        raise DomainError("ILLEGAL_TRANSITION", "the payment was closed meanwhile", "orderId")
    return await get_order(tenant, order.id), payment, intent


async def _deadline(tenant: TenantInfo, order: Order, payment: Payment) -> datetime:
    """When ``payment`` stops being taken: its instalment's due time, or the order's."""
    if instalments.has_plan(order):
        part = await Instalment.get_or_none(
            tenant_id=tenant.id, order_id=order.id, position=payment.instalment
        )
        if part is not None and part.due_at is not None:
            return part.due_at
    return order.payment_deadline


async def _open_payment(
    tenant: TenantInfo, member_id: int, order_id: int, provider: str
) -> tuple[Order, Payment, list[Payment]]:
    """The order, its (its payable instalment's) one open payment with ``provider``, made
    now if there is none, and the attempts of other providers it closed.

    Attempts for one order queue on its payment lock (PostgreSQL; SQLite serializes
    transactions), so each reads the payments after the previous attempt committed. A
    capture recorded after the order was read shows as a captured payment: the order is
    paid by then. A new payment is followed up by reconciliation, and a closed one is
    closed at its gateway, by durable jobs written here."""
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
    closed: list[Payment] = []
    for current in live:
        if current.provider == provider:
            return order, current, closed
        await Payment.filter(id=current.id, status="pending").update(status="closed")
        await outbox.schedule(
            tenant.id,
            CLOSE_JOB,
            {"payment_id": current.id},
            clock.now(),
            dedupe_key=f"close_payment:{current.id}",
            queue=Queue.GATEWAYS,
        )
        closed.append(current)
    payment = await Payment.create(
        tenant_id=tenant.id,
        order_id=order.id,
        instalment=position,
        provider=provider,
        amount=amount,
        reference=f"P{order.id}_{secrets.token_hex(6)}",
    )
    if provider != DevProvider.name:  # the dev provider captures at once: nothing to ask
        await _reconcile_later(tenant, payment.id, 0)
    return order, payment, closed


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
        now, was_open = clock.now(), payment.status == "pending"
        await Payment.filter(id=payment.id).update(status="captured", captured_at=now)
        payment.status, payment.captured_at = "captured", now
        order = await Order.filter(id=payment.order_id).select_for_update().get()
        if instalments.has_plan(order):
            if await balances.take(tenant, order, payment.instalment, amount):
                return order, payment
        elif order.status == "pending_payment":
            await mark_paid(tenant, order, amount)
            if not was_open:  # a closed attempt paid: the one open since must close
                await close_open_payments(tenant, order.id)
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
            STRAY_JOB,
            {"payment_id": payment.id},
            now,
            dedupe_key=f"refund_payment:{payment.id}",
            queue=Queue.GATEWAYS,
        )
        return order, payment


class StillPending(Exception):
    """The gateway had not settled it after every ask: the job fails for an operator."""


async def ask_again(
    tenant: TenantInfo, job: str, key: str, payload: dict[str, Any], asked: int
) -> bool:
    """Schedule ``job`` to ask the gateway again after ``asked`` asks (a refund it is
    still processing), without spending the job's own attempts; False once every ask
    of :data:`PENDING_ASKS` was made."""
    if asked >= len(PENDING_ASKS):
        return False
    due = clock.now() + PENDING_ASKS[asked]
    async with in_transaction():
        await outbox.schedule(
            tenant.id,
            job,
            {**payload, "asked": asked + 1},
            due,
            dedupe_key=f"{key}:{asked + 1}",
            forget_key_after=due,
            queue=Queue.GATEWAYS,
        )
    return True


async def refund_stray_payment(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: give back a payment that arrived for an order that could not take it."""
    payment = await Payment.get(tenant_id=tenant.id, id=payload["payment_id"])
    if payment.status != "captured":
        return
    ctx = await context(tenant, payment.provider, installed=True)
    request = RefundRequest(
        payment_reference=payment.reference,
        refund_reference=f"S{payment.id}",
        amount=payment.amount,
        payment_amount=payment.amount,
        currency=tenant.currency,
    )
    gateway = provider(tenant, payment.provider, installed=True)
    if await gateway.refund(ctx, request) == "pending":
        asked = int(payload.get("asked", 0))
        key = f"refund_payment:{payment.id}"
        if not await ask_again(tenant, STRAY_JOB, key, {"payment_id": payment.id}, asked):
            raise StillPending(f"the refund of stray payment {payment.id} is still pending")
        return
    await Payment.filter(id=payment.id, status="captured").update(status="refunded")


async def close_payment(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: close a payment left open (the shopper switched provider, the order ended)
    at its gateway, so it can no longer be paid there; if it was paid there meanwhile,
    the capture is recorded (the order takes it, or it is refunded)."""
    payment = await Payment.get(tenant_id=tenant.id, id=payload["payment_id"])
    if payment.status != "closed":
        return
    gateway = provider(tenant, payment.provider, installed=True)
    ctx = await context(tenant, payment.provider, installed=True)
    found = await gateway.close(ctx, payment.reference)
    if found.state == "captured":
        await record_capture(tenant, payment.provider, payment.reference, found.amount)


async def _close_now(tenant: TenantInfo, payment: Payment) -> bool:
    """Close ``payment`` at its gateway now (a failure is left to its durable job);
    whether it turned out captured there (then recorded)."""
    try:
        await close_payment(tenant, {"payment_id": payment.id})
    except DomainError as err:
        log.warning("closing payment %s at %s failed: %s", payment.id, payment.provider, err)
        return False
    return (await Payment.get(id=payment.id)).status == "captured"


async def _reconcile_later(tenant: TenantInfo, payment_id: int, done: int) -> None:
    """Schedule the ask after ``done`` asks, or nothing once every ask was made."""
    if done >= len(RECONCILE_AFTER):
        return
    due = clock.now() + RECONCILE_AFTER[done]
    await outbox.schedule(
        tenant.id,
        RECONCILE_JOB,
        {"payment_id": payment_id, "asked": done},
        due,
        dedupe_key=f"reconcile:{payment_id}:{done}",
        forget_key_after=due,
        queue=Queue.GATEWAYS,
    )


async def reconcile(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: ask the gateway about a payment no notification has settled. Captured there
    → recorded as a notification would be; still unpaid → asked again later, and closed
    at the gateway after the last ask (a capture that closing finds is recorded); closed
    there → closed here."""
    payment = await Payment.get(tenant_id=tenant.id, id=payload["payment_id"])
    if payment.status not in OPEN:
        return
    gateway = provider(tenant, payment.provider, installed=True)
    ctx = await context(tenant, payment.provider, installed=True)
    found = await gateway.query(ctx, payment.reference)
    asked = int(payload.get("asked", 0)) + 1
    if found.state == "pending" and asked < len(RECONCILE_AFTER):
        async with in_transaction():
            await _reconcile_later(tenant, payment.id, asked)
        return
    if found.state == "pending":
        found = await gateway.close(ctx, payment.reference)
    if found.state == "captured":
        await record_capture(tenant, payment.provider, payment.reference, found.amount)
        return
    await Payment.filter(id=payment.id, status="pending").update(status="closed")


async def notified(
    tenant: TenantInfo, name: str, headers: Mapping[str, str], body: bytes
) -> CallbackAnswer:
    """A gateway's notification, verified by its provider and recorded once; the answer
    is the provider's, accepting what was recorded (now or before) and refusing what
    is not genuine or cannot be recorded (so the gateway sends it again). A provider
    the tenant disabled still hears about the payments it made."""
    gateway = provider(tenant, name, installed=True)
    try:
        ctx = await context(tenant, name, installed=True)
        note = await gateway.notification(ctx, headers, body)
        if note is None:
            log.info("a %s notification for tenant %s was not genuine", name, tenant.slug)
            return gateway.answer(False)
        if note.capture is not None:
            capture = note.capture
            await record_capture(tenant, name, capture.reference, capture.amount)
        if note.refund_reference is not None:
            await refund_settled(tenant, note.refund_reference)
    except DomainError as err:
        log.warning("a %s notification for tenant %s was refused: %s", name, tenant.slug, err)
        return gateway.answer(False)
    return gateway.answer(True)


async def refund_settled(tenant: TenantInfo, reference: str) -> None:
    """The gateway says the refund ``reference`` (``R<refund>``, ``R<refund>-<n>``, or
    ``S<payment>`` for a stray payment) settled: its job asks the gateway now."""
    kind, number = reference[:1], reference[1:].split("-")[0]
    if kind not in ("R", "S") or not number.isdigit():
        return
    now = clock.now()
    async with in_transaction():
        if kind == "R":
            waiting = Refund.filter(tenant_id=tenant.id, id=int(number), status="approved")
            if await waiting.exists():
                payload = {"refund_id": int(number)}
                await outbox.schedule(tenant.id, REFUND_JOB, payload, now, queue=Queue.GATEWAYS)
            return
        stray = Payment.filter(tenant_id=tenant.id, id=int(number), status="captured")
        if await stray.filter(claimed_by="core").exists():
            payload = {"payment_id": int(number)}
            await outbox.schedule(tenant.id, STRAY_JOB, payload, now, queue=Queue.GATEWAYS)
