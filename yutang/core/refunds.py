"""After-sale: refund requests, approval, and the asynchronous refund itself.

Approval books the refund on the lines (quantities, amounts, points, stock) in one
transaction under a lock on the order, so concurrent approvals can never return more
than was paid; the money then moves through the provider, outside any transaction.
An open request holds its units until staff decide it: every path that asks for or
books a refund takes the order's lock first and counts those units as taken, so open
requests and refunds together never pass what a line has left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Annotated, Any

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import clock, gateways, idempotency, outbox
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.fulfilment import mark_fulfilled
from yutang.core.instalments import end_pending
from yutang.core.members import change_points
from yutang.core.models import Member, Order, OrderLine, Payment, Refund
from yutang.core.money import apportion
from yutang.core.orders import (
    emit_order_event,
    order_plugins,
    release_lines,
    released_line,
    transition,
)
from yutang.core.payment_contract import RefundRequest
from yutang.core.payments import REFUND_JOB, ask_again
from yutang.core.plugins import hooks_of
from yutang.core.schedules import Queue
from yutang.core.shipments import left_to_ship
from yutang.core.shipping import DELIVERY


class RefundPending(Exception):
    """A gateway had not confirmed the refund after every ask: the job fails, for an
    operator to look at (and retry)."""


REFUNDABLE = frozenset({"deposit_paid", "paid", "fulfilled", "completed", "forfeited"})
PART_PAID = frozenset({"deposit_paid", "forfeited"})
"""Orders that took part of a payment plan: refunded whole or not at all."""


class RefundLineInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A line to refund and how many units of it."""

    line_id: int
    quantity: Annotated[int, msgspec.Meta(ge=1)]


class RefundInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Which lines to refund (all remaining when empty), why, and an idempotency key."""

    order_id: int
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    lines: list[RefundLineInput] = msgspec.field(default_factory=list)
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


def _check_window(tenant: TenantInfo, order: Order) -> None:
    if order.status not in REFUNDABLE:
        raise DomainError(
            "NOT_REFUNDABLE", f"an order that is {order.status} cannot be refunded", "orderId"
        )
    if order.status == "completed" and order.after_sale_closed_at is not None:
        raise DomainError("AFTER_SALE_CLOSED", "the after-sale window has closed", "orderId")


def _plan_for(
    order: Order,
    lines: list[OrderLine],
    wanted: list[RefundLineInput],
    held: dict[int, int],
) -> list[dict[str, int]]:
    """:func:`_plan` for ``order``; one paid in part is refunded whole."""
    if wanted and order.status in PART_PAID:
        rest = {ln.id: ln.quantity - ln.refunded_quantity for ln in lines}
        if {w.line_id: w.quantity for w in wanted} != {k: v for k, v in rest.items() if v}:
            raise DomainError(
                "INVALID", "an order paid in part is refunded whole: give no lines", "lines"
            )
    return _plan(lines, wanted, held)


def _plan(
    lines: list[OrderLine], wanted: list[RefundLineInput], held: dict[int, int]
) -> list[dict[str, int]]:
    """Per line: quantity, amount and points to return; exact on the last unit. Units
    ``held`` by open requests (line id to quantity) are not for this refund."""
    by_id = {ln.id: ln for ln in lines}
    if not wanted:
        wanted = [
            RefundLineInput(line_id=ln.id, quantity=free)
            for ln in lines
            if (free := ln.quantity - ln.refunded_quantity - held.get(ln.id, 0)) > 0
        ]
    plan = []
    seen: set[int] = set()
    for i, w in enumerate(wanted):
        ln = by_id.get(w.line_id)
        if ln is None:
            raise DomainError("NOT_FOUND", "no such line in this order", f"lines[{i}].lineId")
        if w.line_id in seen:
            raise DomainError("DUPLICATE", "each line at most once", f"lines[{i}].lineId")
        seen.add(w.line_id)
        left = ln.quantity - ln.refunded_quantity
        if w.quantity > left:
            raise DomainError("INVALID", f"only {left} left to refund", f"lines[{i}].quantity")
        if w.quantity > left - held.get(ln.id, 0):
            raise DomainError(
                "NOT_REFUNDABLE",
                f"{held[ln.id]} of the {left} left wait in an open refund request",
                f"lines[{i}].quantity",
            )
        if w.quantity == left:
            amount = ln.amount - ln.refunded_amount
            points = ln.points - ln.refunded_points
        else:
            amount = ln.amount * w.quantity // ln.quantity
            points = ln.points * w.quantity // ln.quantity
        plan.append({"line_id": ln.id, "quantity": w.quantity, "amount": amount, "points": points})
    if not plan:
        why = "what is left waits in an open refund request" if held else "nothing left to refund"
        raise DomainError("NOT_REFUNDABLE", why, "lines")
    return plan


async def _open_requests(tenant: TenantInfo, order_id: int) -> list[Refund]:
    """The order's requests waiting for staff, oldest first (read under the order's lock)."""
    return await Refund.filter(tenant_id=tenant.id, order_id=order_id, status="open").order_by("id")


def _held(requests: list[Refund], but: int | None = None) -> dict[int, int]:
    """Units of each line the open ``requests`` hold (leaving out request ``but``)."""
    held: dict[int, int] = defaultdict(int)
    for request in requests:
        if request.id != but:
            for p in request.lines:
                held[p["line_id"]] += p["quantity"]
    return dict(held)


async def request_refund(tenant: TenantInfo, member_id: int, data: RefundInput) -> Refund:
    """A member asks for a refund; it waits for staff (open → approved | rejected) and
    holds its units meanwhile: a second request for them is NOT_REFUNDABLE."""
    actor = f"member:{member_id}"
    try:
        async with in_transaction():
            await idempotency.claim(tenant, actor, "requestRefund", data.idempotency_key, data)
            order = await _locked_order(tenant, data.order_id, member_id)
            lines = await OrderLine.filter(tenant_id=tenant.id, order_id=order.id)
            held = _held(await _open_requests(tenant, order.id))
            plan = _plan_for(order, lines, data.lines, held)
            await _ask_policy(tenant, order, lines, plan, data.reason)
            refund = await Refund.create(
                tenant_id=tenant.id,
                order_id=order.id,
                amount=sum(p["amount"] for p in plan),
                lines=plan,
                reason=data.reason,
                requested_by=actor,
            )
            await idempotency.remember(
                tenant, actor, "requestRefund", data.idempotency_key, {"refund_id": refund.id}
            )
    except idempotency.Replay as replay:
        return await Refund.get(tenant_id=tenant.id, id=replay.result["refund_id"])
    return refund


async def _ask_policy(
    tenant: TenantInfo,
    order: Order,
    lines: list[OrderLine],
    plan: list[dict[str, int]],
    reason: str,
) -> None:
    """Let the plugins of the order refuse the member's request (``yutang_refund_policy``):
    a forfeited deposit, a ticket already used."""
    by_id = {ln.id: ln for ln in lines}
    asked = []
    for p in plan:
        asked.append(released_line(by_id[p["line_id"]], p["quantity"]))
    hooks = hooks_of(tenant).registry.plugin_set(order_plugins(tenant, order))
    await hooks.call(
        "yutang_refund_policy", tenant=tenant, order_id=order.id, lines=asked, reason=reason
    )


async def refund_now(
    tenant: TenantInfo,
    actor: str,
    data: RefundInput,
    if_status: Collection[str] | None = None,
) -> Refund:
    """Staff (or an operator, or a plugin; ``actor`` is ``kind:id``) refund lines
    directly: an approved refund, executed asynchronously. With ``if_status``, only an
    order in one of those states (checked under the order's lock), else
    ILLEGAL_TRANSITION.

    Units an open request holds are the member's: named in ``lines`` they are refused
    (NOT_REFUNDABLE: decide the request). With no lines, everything left is refunded, so
    the open requests are approved first, as asked, and this refund takes the rest; when
    nothing is left after them, the answer is the request that emptied the order."""
    try:
        async with in_transaction():
            await idempotency.claim(tenant, actor, "refundOrder", data.idempotency_key, data)
            order = await _locked_order(tenant, data.order_id)
            if if_status is not None and order.status not in if_status:
                raise DomainError(
                    "ILLEGAL_TRANSITION", f"the order is {order.status} now", "orderId"
                )
            refund = await _refund_rest(tenant, order, actor, data)
            await idempotency.remember(
                tenant, actor, "refundOrder", data.idempotency_key, {"refund_id": refund.id}
            )
    except idempotency.Replay as replay:
        return await Refund.get(tenant_id=tenant.id, id=replay.result["refund_id"])
    return refund


async def refund_order(
    tenant: TenantInfo,
    order_id: int,
    *,
    actor: str,
    idempotency_key: str,
    reason: str = "",
    lines: dict[int, int] | None = None,
    if_status: Collection[str] | None = None,
) -> Refund:
    """Refund an order for a plugin (a failed group-buy team, an uncollected pickup):
    ``lines`` maps line id to quantity, all remaining lines when None. ``if_status``
    refunds only an order in one of those states, checked under the order's lock (a
    cancelled presale refunds ``deposit_paid`` orders, not one whose balance was just
    paid): ILLEGAL_TRANSITION otherwise. Idempotent per (``actor``, key); runs in the
    caller's transaction when there is one."""
    data = RefundInput(
        order_id=order_id,
        idempotency_key=idempotency_key,
        reason=reason,
        lines=[RefundLineInput(line_id=k, quantity=v) for k, v in (lines or {}).items()],
    )
    return await refund_now(tenant, actor, data, if_status)


async def _refund_rest(tenant: TenantInfo, order: Order, actor: str, data: RefundInput) -> Refund:
    """:func:`refund_now`'s booking on the locked ``order``."""
    requests = await _open_requests(tenant, order.id)
    if not data.lines:
        for i, request in enumerate(requests):
            await _settle(tenant, order, request, requests[i + 1 :])
            if order.status == "refunded":  # a gift line a later one holds went back too
                return request
        requests = []
    lines = await OrderLine.filter(tenant_id=tenant.id, order_id=order.id)
    plan = _plan_for(order, lines, data.lines, _held(requests))
    refund = await Refund.create(
        tenant_id=tenant.id,
        order_id=order.id,
        amount=0,
        lines=[],
        reason=data.reason,
        requested_by=actor,
    )
    await _approve(tenant, order, refund, plan)
    return refund


async def decide_refund(tenant: TenantInfo, refund_id: int, approve: bool) -> Refund:
    """Staff approve or reject an open refund request. The order is locked first, as
    every path that books or asks for a refund locks it, so none waits on another."""
    async with in_transaction():
        found = await Refund.get_or_none(tenant_id=tenant.id, id=refund_id)
        if found is None:
            raise NotFound("refund", "refundId")
        order = await _lock_order(tenant, found.order_id)
        requests = await _open_requests(tenant, order.id)
        refund = next((r for r in requests if r.id == refund_id), None)
        if refund is None:  # decided before the lock was ours
            status = (await Refund.get(id=refund_id)).status
            raise DomainError("ILLEGAL_TRANSITION", f"this refund is already {status}", "refundId")
        if not approve:
            now = clock.now()
            await Refund.filter(id=refund.id).update(status="rejected", decided_at=now)
            refund.status, refund.decided_at = "rejected", now
            return refund
        _check_window(tenant, order)
        await _settle(tenant, order, refund, requests)
    return refund


async def _settle(
    tenant: TenantInfo, order: Order, request: Refund, requests: list[Refund]
) -> None:
    """Approve the open ``request`` on the locked ``order``, as it asked; the other open
    ``requests`` keep their units."""
    lines = await OrderLine.filter(tenant_id=tenant.id, order_id=order.id)
    wanted = [RefundLineInput(line_id=p["line_id"], quantity=p["quantity"]) for p in request.lines]
    plan = _plan_for(order, lines, wanted, _held(requests, but=request.id))
    await _approve(tenant, order, request, plan)


async def _lock_order(tenant: TenantInfo, order_id: int, member_id: int | None = None) -> Order:
    """The order (the member's, when given), locked for the transaction; NOT_FOUND."""
    query = Order.filter(tenant_id=tenant.id, id=order_id)
    if member_id is not None:
        query = query.filter(member_id=member_id)
    order = await query.select_for_update().first()
    if order is None:
        raise NotFound("order", "orderId")
    return order


async def _locked_order(tenant: TenantInfo, order_id: int, member_id: int | None = None) -> Order:
    """:func:`_lock_order`, refused unless the order can be refunded now."""
    order = await _lock_order(tenant, order_id, member_id)
    _check_window(tenant, order)
    return order


def wholly_refunded(lines: list[OrderLine]) -> bool:
    """Whether nothing is left to refund: every line that cost money or points went back.
    Lines that cost nothing (a promotion's gift) follow the last of them; an order of such
    lines only is wholly refunded once each of its units is."""
    paid = [ln for ln in lines if ln.amount or ln.points] or lines
    return all(ln.refunded_quantity >= ln.quantity for ln in paid)


async def _book(plan: list[dict[str, int]]) -> None:
    for p in plan:
        await OrderLine.filter(id=p["line_id"]).update(
            refunded_quantity=F("refunded_quantity") + p["quantity"],
            refunded_amount=F("refunded_amount") + p["amount"],
            refunded_points=F("refunded_points") + p["points"],
        )


def _left_over(lines: list[OrderLine]) -> list[dict[str, int]]:
    """The units still on a wholly refunded order's free lines, returned for nothing."""
    return [
        {"line_id": ln.id, "quantity": ln.quantity - ln.refunded_quantity, "amount": 0, "points": 0}
        for ln in lines
        if ln.refunded_quantity < ln.quantity
    ]


async def _approve(
    tenant: TenantInfo, order: Order, refund: Refund, plan: list[dict[str, int]]
) -> None:
    """Book the refund on lines and order; the units not yet shipped go back to stock.

    The refund that leaves nothing to refund refunds the order, and the order's free
    lines (gifts) go back with it, whichever path (staff, an approved request, a plugin)
    it took.
    """
    if order.status in PART_PAID:  # what goes back is what was paid, over the lines
        shares = apportion(order.paid_amount - order.refunded_amount, [p["amount"] for p in plan])
        plan = [{**p, "amount": share} for p, share in zip(plan, shares, strict=True)]
    amount = sum(p["amount"] for p in plan)
    # a forfeit gave the points back already
    points = 0 if order.status == "forfeited" else sum(p["points"] for p in plan)
    lines = OrderLine.filter(tenant_id=tenant.id, order_id=order.id).order_by("position")
    unshipped = {ln.id: left_to_ship(ln) for ln in await lines}
    await _book(plan)
    after = await lines
    full = wholly_refunded(after)
    if full:
        rest = _left_over(after)
        await _book(rest)
        plan = [*plan, *rest]
        amount += order.fees
    amount = min(amount, order.paid_amount - order.refunded_amount)
    if order.status in ("paid", "deposit_paid"):
        back = {p["line_id"]: min(p["quantity"], unshipped[p["line_id"]]) for p in plan}
        await release_lines(tenant, order, back, "refunded")
    if order.status == "deposit_paid":
        await end_pending(tenant, order.id, "cancelled")
    parts = await _allocate(tenant, order.id, amount)
    await Order.filter(id=order.id).update(refunded_amount=F("refunded_amount") + amount)
    order.refunded_amount += amount
    await Member.filter(tenant_id=tenant.id, id=order.member_id).update(
        paid_spend=F("paid_spend") - amount
    )
    if points:
        await change_points(
            tenant,
            order.member_id,
            points,
            "refund",
            f"refund:{refund.id}",
        )
    if full:
        await transition(tenant, order, "refunded")
    elif _all_shipped(order, after):
        await mark_fulfilled(tenant, order)
    now = clock.now()
    await Refund.filter(id=refund.id).update(
        status="approved", amount=amount, lines=plan, parts=parts, decided_at=now
    )
    refund.status, refund.amount, refund.lines, refund.parts = "approved", amount, plan, parts
    refund.decided_at = now
    await outbox.schedule(
        tenant.id,
        "core.execute_refund",
        {"refund_id": refund.id},
        clock.now(),
        dedupe_key=f"execute_refund:{refund.id}",
        queue=Queue.GATEWAYS,
    )
    await emit_order_event(
        tenant,
        order,
        "yutang_order_refunded",
        {"refund_id": refund.id, "amount": amount, "lines": plan, "full": full},
    )


async def _allocate(tenant: TenantInfo, order_id: int, amount: int) -> list[dict[str, int]]:
    """Split ``amount`` over the order's captured payments, the latest instalment first,
    each up to what it has left (the order is locked): ``[{payment_id, amount}]``."""
    parts = []
    payments = Payment.filter(
        tenant_id=tenant.id, order_id=order_id, status="captured", claimed_by__isnull=True
    ).order_by("-instalment", "-id")
    for payment in await payments:
        share = min(amount, payment.amount - payment.refunded_amount)
        if share <= 0:
            continue
        await Payment.filter(id=payment.id).update(refunded_amount=F("refunded_amount") + share)
        parts.append({"payment_id": payment.id, "amount": share})
        amount -= share
    return parts


def _all_shipped(order: Order, lines: list[OrderLine]) -> bool:
    """A paid delivery order, not fully refunded, with nothing left to ship: the units
    not refunded have all shipped, so this refund fulfils it as the last parcel would."""
    return (
        order.status == "paid"
        and order.fulfilment == DELIVERY
        and all(left_to_ship(ln) == 0 for ln in lines)
    )


async def execute_refund(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: return an approved refund's money through the providers of the payments it
    was split over. Asking again asks for every part: each provider refund is
    idempotent per reference (``R<refund>``, or ``R<refund>-<n>`` for the n-th of
    several parts). While a gateway still processes one, the job asks again later
    (``payments.PENDING_ASKS``, or at once on the gateway's notification) without
    spending its attempts."""
    refund = await Refund.get(tenant_id=tenant.id, id=payload["refund_id"])
    if refund.status != "approved":
        return
    parts = refund.parts or await _unsplit(tenant, refund)
    pending = []
    for n, part in enumerate(parts):
        payment = await Payment.get(tenant_id=tenant.id, id=part["payment_id"])
        request = RefundRequest(
            payment_reference=payment.reference,
            refund_reference=f"R{refund.id}" if len(parts) == 1 else f"R{refund.id}-{n}",
            amount=part["amount"],
            payment_amount=payment.amount,
            currency=tenant.currency,
        )
        name = payment.provider
        ctx = await gateways.context(tenant, name, installed=True)
        gateway = gateways.provider(tenant, name, installed=True)
        if await gateway.refund(ctx, request) == "pending":
            pending.append(name)
    if pending:
        asked = int(payload.get("asked", 0))
        key = f"execute_refund:{refund.id}"
        if not await ask_again(tenant, REFUND_JOB, key, {"refund_id": refund.id}, asked):
            raise RefundPending(f"refund {refund.id} is still pending at {', '.join(pending)}")
        return
    await Refund.filter(id=refund.id, status="approved").update(
        status="refunded", refunded_at=clock.now()
    )


async def _unsplit(tenant: TenantInfo, refund: Refund) -> list[dict[str, int]]:
    """A refund approved before refunds were split over payments: all of it through the
    order's one captured payment."""
    payment = await Payment.filter(
        tenant_id=tenant.id, order_id=refund.order_id, status="captured"
    ).first()
    if payment is None or refund.amount <= 0:
        return []
    return [{"payment_id": payment.id, "amount": refund.amount}]
