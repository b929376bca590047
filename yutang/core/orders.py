"""Placing and cancelling orders; the order state machine.

``pending_payment → paid → fulfilled → completed``; ``cancelled`` from
``pending_payment``; ``refunded`` once every line went back. An order paid in parts
(:mod:`yutang.core.instalments`) is ``deposit_paid`` between its first instalment and
its last, and ``forfeited`` if a later one is not paid in its window. Every transition is
a conditional UPDATE on the current status, so two racing transitions cannot both win.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import activities, clock, idempotency, instalments, methods, outbox
from yutang.core.cart import checkout_from_cart
from yutang.core.catalog_reads import first_images
from yutang.core.checkout import MAX_LINES, CheckoutInput, Resolved, load_checkout, quote_checkout
from yutang.core.contract import Activity, ActivityRef, LineInput, Quote, ReleasedLine, TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.members import change_points
from yutang.core.models import CartLine, Member, Order, OrderLine, Payment, Sku
from yutang.core.plugins import hooks_of
from yutang.core.schedules import Queue
from yutang.core.settings_core import core_settings
from yutang.core.sql import advisory_lock
from yutang.core.validation_text import human

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending_payment": frozenset({"paid", "deposit_paid", "cancelled"}),
    "deposit_paid": frozenset({"paid", "forfeited", "refunded"}),
    "paid": frozenset({"fulfilled", "refunded"}),
    "fulfilled": frozenset({"completed", "refunded"}),
    "completed": frozenset({"refunded"}),
    "forfeited": frozenset({"refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}


class PlaceOrderInput(CheckoutInput, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A checkout plus the quote hash the client saw and an idempotency key; the lines
    are given, or with ``from_cart`` the member's selected cart lines."""

    lines: Annotated[list[LineInput], msgspec.Meta(max_length=MAX_LINES)] = msgspec.field(
        default_factory=list
    )
    from_cart: bool = False
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] = ""
    quote_hash: str | None = None


class PriceChanged(DomainError):
    """The price moved since the client's quote; carries the new quote."""

    def __init__(self, quote: Quote) -> None:
        super().__init__(
            "PRICE_CHANGED", "the price changed; review the new quote", "quoteHash", extra=quote
        )


async def transition(tenant: TenantInfo, order: Order, to: str, **changes: Any) -> None:
    """Move ``order`` to ``to`` if legal and still in the status we read; else raise."""
    if to not in TRANSITIONS[order.status]:
        raise DomainError(
            "ILLEGAL_TRANSITION", f"an order that is {order.status} cannot become {to}", "status"
        )
    updated = await Order.filter(tenant_id=tenant.id, id=order.id, status=order.status).update(
        status=to, **changes
    )
    if not updated:
        raise DomainError("CONFLICT", "the order changed meanwhile; retry", "status")
    order.status = to
    for key, value in changes.items():
        setattr(order, key, value)


def order_plugins(tenant: TenantInfo, order: Order) -> frozenset[str]:
    """Plugins that hear about an order: those that took part and those enabled now."""
    return tenant.plugins | frozenset(order.plugins)


async def emit_order_event(
    tenant: TenantInfo, order: Order, hook: str, data: dict[str, Any] | None = None
) -> None:
    """Queue an order event for the plugins of :func:`order_plugins`."""
    await outbox.emit(
        tenant,
        hook,
        order_id=order.id,
        member_id=order.member_id,
        data=data,
        plugins=order_plugins(tenant, order),
    )


async def place_order(
    tenant: TenantInfo, member_id: int, data: PlaceOrderInput, *, admitted: bool = False
) -> Order:
    """Reprice, take stock and points, and create the order, all in one transaction.

    A retry with the same idempotency key returns the first order. A quote hash that
    differs from the recomputed quote raises PRICE_CHANGED and writes nothing. Cart
    lines checked out leave the cart with the order. Unless ``admitted`` (by
    :func:`admit`, in front of GraphQL), plugins may refuse the lines first.
    """
    actor = _actor(member_id)
    if not admitted:
        await admit(tenant, member_id, data)
    try:
        async with in_transaction():
            await idempotency.claim(tenant, actor, "placeOrder", data.idempotency_key, data)
            cart_line_ids: list[int] = []
            if data.from_cart:
                if data.lines:
                    raise DomainError("INVALID", "give lines or fromCart, not both", "lines")
                data, cart_line_ids = await checkout_from_cart(tenant, member_id, data)
            elif not data.lines:
                raise DomainError("INVALID", human("Expected `array` of length >= 1"), "lines")
            checkout = await load_checkout(tenant, member_id, data)
            resolved = await quote_checkout(checkout)
            _check_destination(resolved)
            if data.quote_hash is not None and data.quote_hash != resolved.quote.hash:
                raise PriceChanged(resolved.quote)
            order = await _create_order(tenant, member_id, resolved)
            await CartLine.filter(tenant_id=tenant.id, id__in=cart_line_ids).delete()
            await idempotency.remember(
                tenant, actor, "placeOrder", data.idempotency_key, {"order_id": order.id}
            )
    except idempotency.Replay as replay:
        return await Order.get(tenant_id=tenant.id, id=replay.result["order_id"])
    return order


def _actor(member_id: int) -> str:
    return f"member:{member_id}"


async def admit(tenant: TenantInfo, member_id: int, data: PlaceOrderInput) -> None:
    """Let the lines' activities refuse them before the transaction (a sold-out seckill
    item), so a storm of doomed orders costs no transaction, lock or checkout reads.

    Orders from the cart are left to the transaction. A refused request whose key already
    has an answer is let through, to be replayed.
    """
    idempotency.check_key(data.idempotency_key)
    if data.from_cart or not data.lines:
        return
    try:
        await activities.admit(tenant, member_id, data.lines)
    except DomainError:
        key = data.idempotency_key
        if not await idempotency.answered(tenant, _actor(member_id), "placeOrder", key):
            raise


def _check_destination(resolved: Resolved) -> None:
    """An order that goes to an address needs a complete one, and must have one when its
    method says so (a delivery whose fee depends on it)."""
    checkout, chosen = resolved.checkout, resolved.chosen
    if not chosen.method.delivers:
        return
    if checkout.destination is None:
        if chosen.method.needs_address(checkout, chosen.choice):
            raise DomainError("ADDRESS_REQUIRED", "choose where to deliver", "address")
        return
    missing = checkout.destination.missing()
    if missing is not None:
        raise DomainError("REQUIRED", f"a delivery needs the {missing}", f"address.{missing}")


async def _create_order(tenant: TenantInfo, member_id: int, resolved: Resolved) -> Order:
    checkout, quote = resolved.checkout, resolved.quote
    needed: dict[int, tuple[int, int]] = {}
    for ln in quote.lines:
        qty, first = needed.get(ln.sku_id, (0, ln.index))
        needed[ln.sku_id] = (qty + ln.quantity, first)
    for sku_id in sorted(needed):
        qty, index = needed[sku_id]
        taken = await Sku.filter(tenant_id=tenant.id, id=sku_id, stock__gte=qty).update(
            stock=F("stock") - qty
        )
        if not taken:
            raise DomainError("INSUFFICIENT_STOCK", "sold out", f"lines[{index}].quantity")
    settings = core_settings(tenant)
    now = clock.now()
    default_deadline = now + timedelta(minutes=settings.payment_timeout_minutes)
    deadline = await activities.payment_deadline(checkout, resolved.claims, default_deadline)
    order = await Order.create(
        tenant_id=tenant.id,
        number=f"{now:%y%m%d}{secrets.randbelow(10**10):010d}",
        member_id=member_id,
        currency=quote.currency,
        subtotal=quote.subtotal,
        discount=quote.discount,
        fees=quote.fees,
        total=quote.total,
        points_used=quote.points_used,
        quote=msgspec.to_builtins(quote),
        quote_hash=quote.hash,
        plugins=sorted(tenant.plugins),
        extensions={k: msgspec.to_builtins(v) for k, v in checkout.extensions.items()},
        fulfilment=checkout.fulfilment,
        store_id=resolved.chosen.method.store_of(resolved.chosen.choice),
        address=msgspec.to_builtins(checkout.destination) if checkout.destination else None,
        payment_deadline=deadline,
    )
    if quote.instalments:
        await instalments.create(tenant, order, quote.instalments)
    images = await first_images(tenant.id, {ln.product_id for ln in quote.lines})
    await OrderLine.bulk_create(
        [
            OrderLine(
                tenant_id=tenant.id,
                order_id=order.id,
                position=ln.index,
                sku_id=ln.sku_id,
                product_id=ln.product_id,
                product_name=ln.product_name,
                image_url=images.get(ln.product_id, ""),
                specs=ln.specs,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
                points=ln.points,
                activity_plugin=ln.activity.plugin if ln.activity else None,
                activity_ref=ln.activity.ref if ln.activity else None,
            )
            for ln in quote.lines
        ]
    )
    if quote.points_used:
        await change_points(tenant, member_id, -quote.points_used, "order", f"order:{order.id}")
    await activities.reserve(checkout, resolved.claims, order.id)
    await methods.reserve(checkout, resolved.chosen, order.id)
    await hooks_of(tenant).call(
        "yutang_reserve", checkout=checkout, order_id=order.id, each={"state": resolved.kept}
    )
    await emit_order_event(tenant, order, "yutang_order_placed")
    if order.total == 0:
        await mark_paid(tenant, order, amount=0)
    else:
        await outbox.schedule(
            tenant.id,
            "core.payment_timeout",
            {"order_id": order.id},
            deadline,
            dedupe_key=f"payment_timeout:{order.id}",
        )
    return order


async def get_order(tenant: TenantInfo, order_id: int, member_id: int | None = None) -> Order:
    """An order of this tenant (and of this member, when given), or NOT_FOUND."""
    query = Order.filter(tenant_id=tenant.id, id=order_id)
    if member_id is not None:
        query = query.filter(member_id=member_id)
    order = await query.first()
    if order is None:
        raise NotFound("order", "orderId")
    return order


CLOSE_PAYMENT_JOB = "core.close_payment"


async def close_open_payments(tenant: TenantInfo, order_id: int) -> None:
    """In the caller's transaction: the order's open payment attempts are closed here,
    and at their gateways by a durable job, so an ended order can no longer be paid
    (a capture that comes anyway is refunded). An attempt whose capture is being
    recorded right now is skipped, not waited for: that capture holds it and waits for
    the order, which the caller holds; it then finds the order ended and gives the
    money back."""
    found = Payment.filter(tenant_id=tenant.id, order_id=order_id, status="pending")
    for payment in await found.select_for_update(skip_locked=True).only("id"):
        payment_id = payment.id
        await Payment.filter(id=payment_id, status="pending").update(status="closed")
        await outbox.schedule(
            tenant.id,
            CLOSE_PAYMENT_JOB,
            {"payment_id": payment_id},
            clock.now(),
            dedupe_key=f"close_payment:{payment_id}",
            queue=Queue.GATEWAYS,
        )


async def cancel_order(
    tenant: TenantInfo, order_id: int, *, member_id: int | None, reason: str
) -> Order:
    """Cancel an unpaid order: stock, activity stock and points go back, its open
    payment attempts close."""
    async with in_transaction():
        # the payment lock: a payOrder under way commits its attempt before, or sees this
        await advisory_lock(f"payment|{tenant.id}|{order_id}")
        order = await get_order(tenant, order_id, member_id)
        await transition(tenant, order, "cancelled", cancelled_at=clock.now())
        await close_open_payments(tenant, order.id)
        if instalments.has_plan(order):
            await instalments.end_pending(tenant, order.id, "cancelled")
        await release_lines(tenant, order, None, "cancelled")
        if order.points_used:
            await change_points(
                tenant,
                order.member_id,
                order.points_used,
                "order_cancelled",
                f"order:{order.id}",
            )
        await emit_order_event(tenant, order, "yutang_order_cancelled", {"reason": reason})
    return order


async def cancel_owned(
    tenant: TenantInfo, order_id: int, *, by: Activity[Any], reason: str
) -> Order:
    """A plugin cancels an unpaid order holding a line of its own activity (a presale
    whose window closed): ``by`` is the activity object it registered. As a member's
    cancel: stock, activity stock and points go back; ``yutang_order_cancelled`` carries
    ``reason``. FORBIDDEN for an order without such a line."""
    async with in_transaction():
        order = await get_order(tenant, order_id)
        owner = hooks_of(tenant).registry.owner(activities.HOOK, by.kind)
        if owner is None or owner.obj is not by or by.kind not in activities.kinds_of(order.quote):
            raise DomainError("FORBIDDEN", f"the order holds no {by.kind!r} line", "orderId")
        return await cancel_order(tenant, order_id, member_id=None, reason=reason)


def released_line(line: OrderLine, quantity: int) -> ReleasedLine:
    """``quantity`` units of an order line, as the release and refund hooks see them."""
    activity = None
    if line.activity_plugin is not None and line.activity_ref is not None:
        activity = ActivityRef(line.activity_plugin, line.activity_ref)
    return ReleasedLine(line.id, line.sku_id, quantity, activity)


async def release_lines(
    tenant: TenantInfo, order: Order, quantities: dict[int, int] | None, reason: str
) -> None:
    """Give SKU stock back for lines (all of them when ``quantities`` is None), then let
    the lines' activities, the order's fulfilment method and the plugins that took part
    release theirs."""
    lines = await OrderLine.filter(tenant_id=tenant.id, order_id=order.id).order_by("position")
    released: list[ReleasedLine] = []
    for ln in lines:
        qty = ln.quantity if quantities is None else quantities.get(ln.id, 0)
        if qty <= 0:
            continue
        await Sku.filter(tenant_id=tenant.id, id=ln.sku_id).update(stock=F("stock") + qty)
        released.append(released_line(ln, qty))
    if released:
        await activities.release(tenant, order.id, released, reason)
        await methods.release(tenant, order.fulfilment, order.id, released, reason)
        hooks = hooks_of(tenant).registry.plugin_set(order_plugins(tenant, order))
        await hooks.call(
            "yutang_release", tenant=tenant, order_id=order.id, lines=released, reason=reason
        )


async def mark_paid(tenant: TenantInfo, order: Order, amount: int) -> None:
    """Record that the order took its (last) payment of ``amount``: status, the member's
    spend, what the order's activities make true at once (``accept_payment``), the
    event."""
    paid_at = clock.now()
    paid = order.paid_amount + amount
    await transition(tenant, order, "paid", paid_at=paid_at, paid_amount=paid)
    await Member.filter(tenant_id=tenant.id, id=order.member_id).update(
        paid_spend=F("paid_spend") + amount
    )
    await activities.each(
        tenant, order.quote, "accept_payment", tenant=tenant, order_id=order.id, paid_at=paid_at
    )
    await methods.paid(tenant, order.fulfilment, order.id)
    await emit_order_event(tenant, order, "yutang_order_paid", {"amount": paid})
