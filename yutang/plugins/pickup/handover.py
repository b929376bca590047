"""Handing an order over at the store: who may, when, once.

A pickup order leaves ``awaiting`` by one conditional UPDATE, whether a clerk verifies
its code or the deadline job completes or refunds it, so exactly one of them wins. The
pickup method holds fulfilment of its orders (``fulfilOrder`` cannot bypass the code); it
hands one over itself with ``api.fulfil_order(..., by=METHOD)``, where the activities'
holds (a group-buy team not yet succeeded) still apply.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.pickup.checkout import METHOD
from yutang.plugins.pickup.codes import normalize
from yutang.plugins.pickup.errors import CODES
from yutang.plugins.pickup.models import PickupHandover, PickupLookupCount, PickupOrder
from yutang.plugins.pickup.settings import settings_of

T = TypeVar("T")
RETRY = timedelta(days=1)


async def _fulfil_and_complete(tenant: api.TenantInfo, order_id: int) -> None:
    await api.fulfil_order(tenant, order_id, by=METHOD)
    await api.complete_order(tenant, order_id, None)


def actor_of(principal: api.Principal) -> str:
    """``kind:id`` of a caller, as logs and counters name it."""
    return f"{principal.kind}:{principal.id}"


async def counted(
    tenant: api.TenantInfo, principal: api.Principal, work: Callable[[], Awaitable[T]]
) -> T:
    """Count one code lookup, then run ``work``, in one transaction: the count commits even
    when ``work`` is refused (a wrong code must use up the limit), ``work``'s writes only
    when it succeeds. Beyond the limit, TOO_MANY_ATTEMPTS (``retryAfter``: the seconds
    left in the current minute) and nothing runs."""
    limit = settings_of(tenant).lookups_per_minute
    now = api.now()
    actor, window = actor_of(principal), now.replace(second=0, microsecond=0)
    async with in_transaction():
        await PickupLookupCount.filter(tenant_id=tenant.id, actor=actor, window__lt=window).delete()
        await PickupLookupCount.bulk_create(
            [PickupLookupCount(tenant_id=tenant.id, actor=actor, window=window)],
            ignore_conflicts=True,
        )
        took = await PickupLookupCount.filter(
            tenant_id=tenant.id, actor=actor, window=window, count__lt=limit
        ).update(count=F("count") + 1)
        if not took:
            left = (window + timedelta(minutes=1) - now).total_seconds()
            raise api.TooManyAttempts(max(1, math.ceil(left)))
        try:
            async with in_transaction():  # a savepoint: a refusal undoes only the work
                return await work()
        except api.DomainError as err:
            refused = err
    raise refused


Reach = Callable[[int], Awaitable[None]]
"""Refuses (FORBIDDEN) unless the caller may act for the store of this id."""


async def find(tenant: api.TenantInfo, reach: Reach, code: str) -> PickupOrder:
    """The pickup order with ``code``, if the caller may act for its store."""
    row = await PickupOrder.get_or_none(tenant_id=tenant.id, code=normalize(code))
    if row is None:
        raise api.DomainError("NOT_FOUND", "no pickup order has this code", "code")
    await reach(row.store_id)
    return row


def _awaiting(row: PickupOrder) -> None:
    """Refuse a pickup order that is no longer waiting at the store."""
    if row.status == "picked_up":
        raise CODES.error("PICKUP_ALREADY_PICKED_UP", "this order was already picked up", "code")
    if row.status != "awaiting":
        raise CODES.error("PICKUP_NOT_AWAITING", f"this pickup order is {row.status}", "code")


async def _claim(row: PickupOrder, status: str) -> None:
    """Take the order out of ``awaiting`` (one conditional UPDATE: one winner; its row lock
    holds later claims until this transaction ends); the loser learns why it lost."""
    _awaiting(row)
    if not await PickupOrder.filter(id=row.id, status="awaiting").update(status=status):
        _awaiting(await PickupOrder.get(id=row.id))
        raise api.DomainError("CONFLICT", "the pickup changed meanwhile; retry", "code")
    row.status = status


async def _ready(tenant: api.TenantInfo, order_id: int) -> None:
    """Refuse an order that is not paid (and unfulfilled), or has a refund request open."""
    order = await api.order_view(tenant, order_id)
    if order.status != "paid":
        raise CODES.error("PICKUP_NOT_AWAITING", f"this order is {order.status}", "code")
    if await api.orders_with_open_refunds(tenant, [order_id]):
        raise CODES.error("PICKUP_REFUND_OPEN", "a refund request for this order is open", "code")


async def verify(
    tenant: api.TenantInfo, principal: api.Principal, reach: Reach, code: str
) -> PickupOrder:
    """Hand the order with ``code`` over: once, by staff of its store, then complete it.
    Run in a transaction: a refusal after the claim must undo it."""
    row = await find(tenant, reach, code)
    await _claim(row, "picked_up")
    await _ready(tenant, row.order_id)
    await _fulfil_and_complete(tenant, row.order_id)
    await PickupHandover.create(
        tenant_id=tenant.id,
        at=api.now(),
        order_id=row.order_id,
        store_id=row.store_id,
        action="picked_up",
        actor=actor_of(principal),
        role=principal.role or principal.kind,
    )
    return row


async def deadline(tenant: api.TenantInfo, payload: dict[str, Any]) -> None:
    """Job: an order nobody picked up by its deadline is completed or refunded, per the
    tenant's setting. Held or with a refund request open, it is looked at again a day later."""
    order_id = payload["order_id"]
    row = await PickupOrder.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if row is None or row.status != "awaiting":
        return
    refund = settings_of(tenant).on_deadline == "refund"
    try:
        async with in_transaction():  # a savepoint: a hold undoes only this attempt
            await _claim(row, "refunded" if refund else "expired")
            await _ready(tenant, order_id)
            if refund:
                await api.refund_order(
                    tenant,
                    order_id,
                    actor="plugin:pickup",
                    idempotency_key=f"pickup.deadline:{order_id}",
                    reason="not picked up by the deadline",
                )
            else:
                await _fulfil_and_complete(tenant, order_id)
            await PickupHandover.create(
                tenant_id=tenant.id,
                at=api.now(),
                order_id=order_id,
                store_id=row.store_id,
                action="auto_refunded" if refund else "auto_completed",
                actor="job",
            )
    except api.DomainError as err:
        if err.code in ("PICKUP_NOT_AWAITING", "PICKUP_ALREADY_PICKED_UP"):
            return
        if err.code not in ("FULFILMENT_HELD", "PICKUP_REFUND_OPEN"):
            raise
        later = api.now() + RETRY
        await api.schedule_job(
            tenant.id,
            "pickup.deadline",
            payload,
            later,
            dedupe_key=f"pickup.deadline:{order_id}:{later:%Y%m%d%H%M%S}",
        )
