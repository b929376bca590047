"""Seckill lines in a checkout: validation, the activity price, and the two counters.

A line takes part when its activity is ``{plugin: "seckill", ref: <SeckillItem ID>}``.
The item must be selling now (its session open, its activity not stopped) and be for the
line's SKU. Activity units and the member's quota are taken with conditional UPDATEs in
placeOrder's transaction and given back, exactly, when the order is cancelled or refunded.
With a Redis gate configured, the gate is asked first (see ``gate``).
"""

from __future__ import annotations

from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F

from yutang import api
from yutang.plugins.seckill.gate import Gate, Quota, Refused, Units, gate_for
from yutang.plugins.seckill.models import (
    SeckillActivity,
    SeckillItem,
    SeckillQuota,
    SeckillReservation,
    SeckillStock,
)
from yutang.plugins.seckill.schedule import Slot, open_slot

PLUGIN = "seckill"
ITEM = "SeckillItem"


@dataclass(frozen=True, slots=True)
class Claim:
    """A checkout line resolved to the item and the occurrence it buys from."""

    index: int
    quantity: int
    item: SeckillItem
    activity: SeckillActivity
    slot: Slot


# Validation, pricing, the deadline and the reservation of one placeOrder all run in the
# same task on the same checkout: resolve its lines once for all of them.
_resolved: ContextVar[tuple[api.CheckoutContext, list[Claim]] | None] = ContextVar(
    "seckill_claims", default=None
)


def item_ref(item_id: int) -> str:
    """The activity reference a client sends for an item (the item's global ID)."""
    return api.to_global(ITEM, item_id)


async def claims(checkout: api.CheckoutContext) -> list[Claim]:
    """The checkout's seckill lines, each checked to be selling now; DomainError naming
    the line otherwise."""
    memo = _resolved.get()
    if memo is not None and memo[0] is checkout:
        return memo[1]
    found = await _resolve(checkout)
    _resolved.set((checkout, found))
    return found


async def _resolve(checkout: api.CheckoutContext) -> list[Claim]:
    wanted = {
        ln.index: api.pk_of(ln.activity.ref, ITEM, f"lines[{ln.index}].activity.ref")
        for ln in checkout.lines
        if ln.activity is not None and ln.activity.plugin == PLUGIN
    }
    if not wanted:
        return []
    items = {
        item.id: item
        for item in await SeckillItem.filter(
            tenant_id=checkout.tenant.id, id__in=set(wanted.values())
        ).select_related("session", "activity")
    }
    zone = checkout.tenant.zone
    found: list[Claim] = []
    for ln in (ln for ln in checkout.lines if ln.index in wanted):
        item = items.get(wanted[ln.index])
        if item is None:
            raise api.NotFound("seckill item", f"lines[{ln.index}].activity.ref")
        if item.sku_id != ln.sku_id:
            raise api.DomainError(
                "NOT_IN_SESSION",
                "this SKU is not in that seckill session",
                f"lines[{ln.index}].skuId",
            )
        slot = open_slot(item.session, item.activity, zone, checkout.now)
        if slot is None:
            raise api.DomainError(
                "SESSION_NOT_OPEN",
                "this seckill session is not open now",
                f"lines[{ln.index}].activity",
            )
        found.append(Claim(ln.index, ln.quantity, item, item.activity, slot))
    _check_limits(found)
    return found


def _check_limits(found: list[Claim]) -> None:
    """Refuse a checkout asking more of one activity than a member may ever hold."""
    asked: dict[int, int] = defaultdict(int)
    for claim in found:
        asked[claim.activity.id] += claim.quantity
        if asked[claim.activity.id] > claim.activity.member_limit:
            raise api.DomainError(
                "LIMIT_EXCEEDED",
                f"at most {claim.activity.member_limit} per member in this activity",
                f"lines[{claim.index}].quantity",
            )


def asked(found: list[Claim]) -> tuple[Units, Quota]:
    """What the claims take: units per (item, occurrence) and quota per activity, each
    with the item's stock or the activity's limit."""
    units: Units = {}
    quota: Quota = {}
    for c in found:
        key = (c.item.id, c.slot.starts_at)
        units[key] = (units.get(key, (0, 0))[0] + c.quantity, c.item.stock)
        held = quota.get(c.activity.id, (0, 0))[0]
        quota[c.activity.id] = (held + c.quantity, c.activity.member_limit)
    return units, quota


def _named(found: list[Claim], refused: Refused) -> api.DomainError:
    """The refusal as a DomainError naming the first line it concerns."""
    if refused.code == "SOLD_OUT":
        claim = next(c for c in found if (c.item.id, c.slot.starts_at) == refused.key)
        message = "sold out in this session"
    else:
        claim = next(c for c in found if c.activity.id == refused.key)
        message = (
            f"you already hold the {claim.activity.member_limit} allowed in this activity "
            "(unpaid orders count)"
        )
    return api.DomainError(refused.code, message, f"lines[{claim.index}].quantity")


async def precheck(checkout: api.CheckoutContext) -> None:
    """Refuse sold-out items and members at their limit before placeOrder takes the SKU's
    row lock: from the gate if there is one, else with two reads. Only a fast path: the
    conditional UPDATEs of :func:`reserve` decide."""
    found = await claims(checkout)
    if not found:
        return
    units, quota = asked(found)
    member_id = checkout.member.id if checkout.member is not None else None
    gate = gate_for(checkout.tenant)
    try:
        if gate is not None:
            await gate.check(units, quota, member_id)
        else:
            await _check_rows(checkout.tenant.id, units, quota, member_id)
    except Refused as refused:
        raise _named(found, refused) from None


async def _check_rows(tenant_id: int, units: Units, quota: Quota, member_id: int | None) -> None:
    left = {
        (r["item_id"], r["slot_start"]): r["remaining"]
        for r in await SeckillStock.filter(
            tenant_id=tenant_id,
            item_id__in={item for item, _ in units},
            slot_start__in={start for _, start in units},
        ).values("item_id", "slot_start", "remaining")
    }
    for key, (qty, stock) in units.items():
        if qty > left.get(key, stock):
            raise Refused("SOLD_OUT", key)
    if member_id is None:
        return
    held = {
        r["activity_id"]: r["taken"]
        for r in await SeckillQuota.filter(
            tenant_id=tenant_id, member_id=member_id, activity_id__in=list(quota)
        ).values("activity_id", "taken")
    }
    for activity_id, (qty, limit) in quota.items():
        if held.get(activity_id, 0) + qty > limit:
            raise Refused("LIMIT_REACHED", activity_id)


async def activity_price(draft: api.Draft) -> None:
    """Stage ACTIVITY: seckill lines take their item's price (never above the list price)."""
    for claim in await claims(draft.checkout):
        line = draft.lines[claim.index]
        draft.set_activity_price(line, min(claim.item.price, line.unit_price), "秒杀价")


async def payment_deadline(checkout: api.CheckoutContext) -> datetime | None:
    """The shortest payment timeout of the activities the order buys from."""
    found = await claims(checkout)
    if not found:
        return None
    return checkout.now + timedelta(minutes=min(c.activity.payment_minutes for c in found))


async def reserve(checkout: api.CheckoutContext, order_id: int) -> None:
    """Take activity units and the member's quota for a placed order, in its transaction.

    Counter rows are created on first use (insert-or-ignore), then changed only by
    conditional UPDATEs in a fixed order, so concurrent orders cannot oversell, exceed
    the limit or deadlock. A gate's units go back if the database refuses.
    """
    found = await claims(checkout)
    if not found:
        return
    if checkout.member is None:
        raise api.DomainError("UNAUTHENTICATED", "log in as a member first")
    tenant_id, member_id = checkout.tenant.id, checkout.member.id
    units, quota = asked(found)
    gate = gate_for(checkout.tenant)
    try:
        if gate is not None and not await gate.take(units, quota, member_id):
            gate = None
        await _take_rows(tenant_id, member_id, units, quota, gate)
    except Refused as refused:
        raise _named(found, refused) from None
    activity_of = {c.item.id: c.activity.id for c in found}
    await SeckillReservation.bulk_create(
        [
            SeckillReservation(
                tenant_id=tenant_id,
                order_id=order_id,
                member_id=member_id,
                activity_id=activity_of[item_id],
                item_id=item_id,
                slot_start=start,
                quantity=qty,
            )
            for (item_id, start), (qty, _) in units.items()
        ]
    )


async def _take_rows(
    tenant_id: int, member_id: int, units: Units, quota: Quota, gate: Gate | None
) -> None:
    """The conditional UPDATEs; if they fail, the gate (when it took) gets its units back
    and the counter the database contradicted is reset from the database."""
    try:
        await SeckillStock.bulk_create(
            [
                SeckillStock(tenant_id=tenant_id, item_id=item, slot_start=start, remaining=stock)
                for (item, start), (_, stock) in units.items()
            ],
            ignore_conflicts=True,
        )
        for (item, start), (qty, _) in sorted(units.items()):
            if not await SeckillStock.filter(
                tenant_id=tenant_id, item_id=item, slot_start=start, remaining__gte=qty
            ).update(remaining=F("remaining") - qty):
                raise Refused("SOLD_OUT", (item, start))
        await SeckillQuota.bulk_create(
            [
                SeckillQuota(tenant_id=tenant_id, activity_id=a, member_id=member_id, taken=0)
                for a in quota
            ],
            ignore_conflicts=True,
        )
        for activity_id, (qty, limit) in sorted(quota.items()):
            if not await SeckillQuota.filter(
                tenant_id=tenant_id,
                activity_id=activity_id,
                member_id=member_id,
                taken__lte=limit - qty,
            ).update(taken=F("taken") + qty):
                raise Refused("LIMIT_REACHED", activity_id)
    except Refused as refused:
        if gate is not None:
            await gate.resync(units, quota, member_id, refused)
        raise
    except BaseException:
        if gate is not None:
            await gate.give_back(units, quota, member_id)
        raise


async def release(tenant: api.TenantInfo, order_id: int, lines: list[dict[str, Any]]) -> None:
    """Give back the units and quota of an order's seckill lines (cancel, timeout, refund).

    Each reservation's ``released`` only grows up to its quantity, so a line is never
    given back twice.
    """
    asked_back: dict[int, int] = defaultdict(int)
    for ln in lines:
        if ln["activity_plugin"] == PLUGIN and ln["activity_ref"]:
            asked_back[api.pk_of(ln["activity_ref"], ITEM, "activity_ref")] += ln["quantity"]
    if not asked_back:
        return
    held = await SeckillReservation.filter(
        tenant_id=tenant.id, order_id=order_id, item_id__in=list(asked_back)
    ).order_by("item_id")
    units: Units = {}
    quota: Quota = {}
    member_id = 0  # an order's reservations are all its member's
    for res in held:
        qty = min(asked_back[res.item_id], res.quantity - res.released)
        if qty > 0 and await SeckillReservation.filter(
            tenant_id=tenant.id, id=res.id, released__lte=res.quantity - qty
        ).update(released=F("released") + qty):
            units[(res.item_id, res.slot_start)] = (qty, 0)
            quota[res.activity_id] = (quota.get(res.activity_id, (0, 0))[0] + qty, 0)
            member_id = res.member_id
    for (item_id, start), (qty, _) in sorted(units.items()):
        await SeckillStock.filter(tenant_id=tenant.id, item_id=item_id, slot_start=start).update(
            remaining=F("remaining") + qty
        )
    for activity_id, (qty, _) in sorted(quota.items()):
        await SeckillQuota.filter(
            tenant_id=tenant.id, activity_id=activity_id, member_id=member_id, taken__gte=qty
        ).update(taken=F("taken") - qty)
    gate = gate_for(tenant)
    if gate is not None and units:
        await gate.give_back(units, quota, member_id)


async def mark_paid(event: api.Event) -> None:
    """Count an order's units as sold once it is paid (idempotent)."""
    if event.order_id is not None:
        await SeckillReservation.filter(
            tenant_id=event.tenant_id, order_id=event.order_id, paid=False
        ).update(paid=True)
