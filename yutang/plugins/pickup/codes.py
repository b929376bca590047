"""Pickup codes: drawn from ``secrets`` when an order is paid, unique per tenant.

Twelve characters from 31 (no 0/O, 1/I/L, so a clerk can type what a member reads out)
give about 59 bits: guessing is hopeless, all the more with lookups rate-limited.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.pickup.models import PickupOrder
from yutang.plugins.pickup.settings import settings_of

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
DRAWS = 5


def new_code() -> str:
    """A fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text: str) -> str:
    """A code as typed or scanned, without spaces or dashes, upper case."""
    return "".join(ch for ch in text.upper() if ch not in " -")


def typed_code(text: str) -> str:
    """A code as typed, normalized; INVALID naming ``code`` if no code could be that
    long (a value longer than the column never reaches a query)."""
    return api.bounded(normalize(text), "code", 32)


class NoFreeCode(RuntimeError):
    """Every draw hit a code in use: try again later."""


async def issue_at_payment(tenant: api.TenantInfo, order_id: int) -> None:
    """In the transaction that marks the order paid: its code and deadline at once. Should
    every draw collide, the payment still goes through and the order-paid event issues the
    code instead (retried until it finds a free one)."""
    try:
        await on_paid(tenant, order_id)
    except NoFreeCode:
        return


async def on_paid(tenant: api.TenantInfo, order_id: int) -> None:
    """Give a paid pickup order its code and schedule its deadline; a second call (the
    order-paid event after the payment issued it) finds the code issued and does nothing."""
    row = await PickupOrder.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if row is None or row.status != "placed":
        return
    order = await api.order_view(tenant, order_id)
    if order.status != "paid":
        return
    start = max(order.paid_at or api.now(), row.slot_ends_at or api.now())
    deadline = start + timedelta(days=settings_of(tenant).deadline_days)
    await _issue(row, deadline)
    await api.schedule_job(
        tenant.id,
        "pickup.deadline",
        {"order_id": order_id},
        deadline,
        dedupe_key=f"pickup.deadline:{order_id}",
    )


async def _issue(row: PickupOrder, deadline: datetime) -> None:
    """Store a code on the order, drawing again if the unique index says it is taken."""
    for _ in range(DRAWS):
        try:
            async with in_transaction():  # a savepoint: a collision must not abort the caller
                await PickupOrder.filter(id=row.id, status="placed").update(
                    code=new_code(), status="awaiting", deadline_at=deadline
                )
        except IntegrityError:
            continue
        return
    raise NoFreeCode(f"no unused pickup code in {DRAWS} draws")
