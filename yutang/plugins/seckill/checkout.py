"""Seckill lines in a checkout: validation, the activity price, and the two counters.

A line takes part when its activity is ``{plugin: "seckill", ref: <SeckillItem ID>}``.
The item must be selling now (its session open, its activity not stopped) and be for the
line's SKU. Activity units and the member's quota in every limited scope (see ``limits``)
are taken with conditional UPDATEs in placeOrder's transaction and given back, exactly,
when the order is cancelled or refunded. With a Redis gate configured, the gate is asked
first, at admission (see ``gate``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from tortoise.expressions import F

from yutang import api
from yutang.plugins.seckill.gate import Gate, Quota, Refused, Units, gate_for
from yutang.plugins.seckill.limits import check_order, quota_keys, scope_of, where
from yutang.plugins.seckill.models import (
    SeckillActivity,
    SeckillItem,
    SeckillMemberQuota,
    SeckillReservation,
    SeckillStock,
)
from yutang.plugins.seckill.schedule import Slot, open_slot

PLUGIN = "seckill"
ITEM = "SeckillItem"
CODES = api.ErrorCodes(PLUGIN, {})
"""None of its own: a seckill line is refused with the shared codes only (NOT_APPLICABLE,
NOT_OPEN, LIMIT_EXCEEDED, LIMIT_REACHED, SOLD_OUT)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A checkout line resolved to the item and the occurrence it buys from."""

    index: int
    quantity: int
    item: SeckillItem
    activity: SeckillActivity
    slot: Slot

    def quota_keys(self) -> dict[str, int]:
        """The limited counters the line counts in, with their limits."""
        return quota_keys(self.activity, self.item, self.slot.starts_at)


def item_ref(item_id: int) -> str:
    """The activity reference a client sends for an item (the item's global ID)."""
    return api.to_global(ITEM, item_id)


class Seckill(api.Activity[list[Claim]]):
    """The seckill activity kind: lines ``{plugin: "seckill", ref: <SeckillItem ID>}``."""

    kind = PLUGIN

    async def resolve(
        self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]
    ) -> list[Claim]:
        """Each line's item, selling now; then the fast refusal of :func:`precheck`."""
        numbered = [(ln.index, ln.sku_id, ln.quantity, _ref(ln.activity)) for ln in lines]
        found = await resolve(checkout.tenant, numbered, checkout.now)
        await precheck(checkout, found)
        return found

    async def admit(
        self, tenant: api.TenantInfo, member_id: int, lines: Mapping[int, api.LineInput]
    ) -> None:
        """With the Redis gate, refuse sold-out items and members at their limit."""
        await admit(tenant, member_id, lines)

    def price(self, draft: api.Draft, claim: list[Claim]) -> None:
        """Each line takes its item's price (never above the list price)."""
        for c in claim:
            line = draft.lines[c.index]
            draft.set_activity_price(line, min(c.item.price, line.unit_price), "秒杀价")

    def payment_deadline(
        self, checkout: api.CheckoutContext, claim: list[Claim]
    ) -> datetime | None:
        """The shortest payment timeout of the activities the order buys from."""
        return checkout.now + timedelta(minutes=min(c.activity.payment_minutes for c in claim))

    async def reserve(
        self, checkout: api.CheckoutContext, claim: list[Claim], order_id: int
    ) -> None:
        """Take activity units and the member's quota."""
        await reserve(checkout, claim, order_id)

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        """Give units and quota back (cancel, timeout, refund)."""
        await release(tenant, order_id, lines)


def _ref(activity: api.ActivityRef | None) -> str:
    """The item reference of a line the core handed this kind (it always has one)."""
    assert activity is not None
    return activity.ref


Line = tuple[int, int, int, str]
"""A requested seckill line: its index, SKU, quantity and item reference."""


async def resolve(
    tenant: api.TenantInfo, lines: list[Line], now: datetime, *, recent: bool = False
) -> list[Claim]:
    """The seckill ``lines``, each checked to be selling at ``now``; DomainError naming
    the line otherwise. With ``recent``, items read in the last ``RECENT`` seconds are not
    read again."""
    wanted = {
        index: api.pk_of(ref, ITEM, f"lines[{index}].activity.ref") for index, _, _, ref in lines
    }
    items = await _items(tenant, set(wanted.values()), recent)
    found: list[Claim] = []
    for index, sku_id, quantity, _ in lines:
        item = items.get(wanted[index])
        if item is None:
            raise api.NotFound("seckill item", f"lines[{index}].activity.ref")
        if item.sku_id != sku_id:
            raise CODES.error(
                "NOT_APPLICABLE", "this SKU is not in that seckill session", f"lines[{index}].skuId"
            )
        slot = open_slot(item.session, item.activity, tenant.zone, now)
        if slot is None:
            raise CODES.error(
                "NOT_OPEN",
                "this seckill session is not open now",
                f"lines[{index}].activity",
            )
        found.append(Claim(index, quantity, item, item.activity, slot))
    _check_limits(found)
    return found


RECENT = 1.0  # seconds an admission may use an item as read by an earlier request


async def _items(tenant: api.TenantInfo, ids: set[int], recent: bool) -> dict[int, SeckillItem]:
    """The items with their session and activity; with ``recent``, copies read less than
    ``RECENT`` seconds ago (in the core's bounded cache) are used, so a storm's admissions
    read no table. Every read refreshes the copies."""
    copies = tenant.cache(PLUGIN, "items", maxsize=10_000, ttl=RECENT)
    found: dict[int, SeckillItem] = {}
    if recent:
        found = {i: copies[i] for i in ids if i in copies}
    missing = ids - found.keys()
    if missing:
        for item in await SeckillItem.filter(tenant_id=tenant.id, id__in=missing).select_related(
            "session", "activity"
        ):
            found[item.id] = copies[item.id] = item
        for gone in missing - found.keys():
            copies.pop(gone, None)
    return found


def _check_limits(found: list[Claim]) -> None:
    """Refuse a checkout asking more in one limited scope than a member may ever hold."""
    asked: dict[tuple[int, str], int] = defaultdict(int)
    for claim in found:
        for key, limit in claim.quota_keys().items():
            asked[(claim.activity.id, key)] += claim.quantity
            if asked[(claim.activity.id, key)] > limit:
                raise api.DomainError(
                    "LIMIT_EXCEEDED",
                    f"at most {limit} per member {where(scope_of(key))}",
                    f"lines[{claim.index}].quantity",
                )


def asked(found: list[Claim]) -> tuple[Units, Quota]:
    """What the claims take: units per (item, occurrence) with the item's stock, and
    quota per (activity, limited scope) with its limit."""
    units: Units = {}
    quota: Quota = {}
    for c in found:
        key = (c.item.id, c.slot.starts_at)
        units[key] = (units.get(key, (0, 0))[0] + c.quantity, c.item.stock)
        for scope, limit in c.quota_keys().items():
            held = quota.get((c.activity.id, scope), (0, 0))[0]
            quota[(c.activity.id, scope)] = (held + c.quantity, limit)
    return units, quota


def _named(found: list[Claim], refused: Refused) -> api.DomainError:
    """The refusal as a DomainError naming the first line it concerns."""
    if refused.code == "SOLD_OUT":
        claim = next(c for c in found if (c.item.id, c.slot.starts_at) == refused.key)
        message = "sold out in this session"
    else:
        activity_id, key = cast(tuple[int, str], refused.key)
        claim = next(c for c in found if c.activity.id == activity_id and key in c.quota_keys())
        message = (
            f"that would take you past the {claim.quota_keys()[key]} allowed per member "
            f"{where(scope_of(key))} (unpaid orders count)"
        )
    return CODES.error(refused.code, message, f"lines[{claim.index}].quantity")


async def precheck(checkout: api.CheckoutContext, found: list[Claim]) -> None:
    """Refuse sold-out items and members at their limit before placeOrder takes the SKU's
    row lock: from the gate if there is one, else with two reads. Only a fast path: the
    conditional UPDATEs of :func:`reserve` decide."""
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


async def admit(tenant: api.TenantInfo, member_id: int, lines: Mapping[int, api.LineInput]) -> None:
    """Refuse, before placeOrder's transaction, what the gate already knows is sold out or
    over the member's limit: in a storm most requests end here, at the cost of one Redis
    round trip. Without a gate, nothing (the transaction decides).

    Items are taken as read up to ``RECENT`` seconds ago: an activity stopped meanwhile is
    refused as sold out rather than as not open. Any other problem with the lines is left
    for the transaction to name.
    """
    gate = gate_for(tenant)
    if gate is None:
        return
    numbered = [(i, ln.sku_id, ln.quantity, _ref(ln.activity)) for i, ln in lines.items()]
    try:
        found = await resolve(tenant, numbered, api.now(), recent=True)
    except api.DomainError:
        return
    units, quota = asked(found)
    try:
        await gate.check(units, quota, member_id, rebuild=False)
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
        (r["activity_id"], r["scope"]): r["taken"]
        for r in await SeckillMemberQuota.filter(
            tenant_id=tenant_id,
            member_id=member_id,
            activity_id__in={a for a, _ in quota},
            scope__in={s for _, s in quota},
        ).values("activity_id", "scope", "taken")
    }
    for limited in sorted(quota, key=check_order):
        qty, limit = quota[limited]
        if held.get(limited, 0) + qty > limit:
            raise Refused("LIMIT_REACHED", limited)


async def reserve(checkout: api.CheckoutContext, found: list[Claim], order_id: int) -> None:
    """Take activity units and the member's quota in every limited scope for a placed
    order, in its transaction.

    Counter rows are created on first use (insert-or-ignore), then changed only by
    conditional UPDATEs in a fixed order, so concurrent orders cannot oversell, exceed
    the limit or deadlock. A gate's units go back if the database refuses.
    """
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
        await SeckillMemberQuota.bulk_create(
            [
                SeckillMemberQuota(
                    tenant_id=tenant_id, activity_id=a, member_id=member_id, scope=s, taken=0
                )
                for a, s in quota
            ],
            ignore_conflicts=True,
        )
        for activity_id, scope in sorted(quota, key=check_order):
            qty, limit = quota[(activity_id, scope)]
            if not await SeckillMemberQuota.filter(
                tenant_id=tenant_id,
                activity_id=activity_id,
                member_id=member_id,
                scope=scope,
                taken__lte=limit - qty,
            ).update(taken=F("taken") + qty):
                raise Refused("LIMIT_REACHED", (activity_id, scope))
    except Refused as refused:
        if gate is not None:
            await gate.resync(units, quota, member_id, refused)
        raise
    except BaseException:
        if gate is not None:
            await gate.give_back(units, quota, member_id)
        raise


async def release(tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine]) -> None:
    """Give back the units and quota of an order's seckill lines (cancel, timeout, refund),
    to the counters :func:`reserve` took them from (an activity's limits never change).

    Each reservation's ``released`` only grows up to its quantity, so a line is never
    given back twice.
    """
    asked_back: dict[int, int] = defaultdict(int)
    for ln in lines:
        if ln.activity is not None:
            asked_back[api.pk_of(ln.activity.ref, ITEM, "activity_ref")] += ln.quantity
    if not asked_back:
        return
    held = (
        await SeckillReservation.filter(
            tenant_id=tenant.id, order_id=order_id, item_id__in=list(asked_back)
        )
        .select_related("item", "activity")
        .order_by("item_id")
    )
    units: Units = {}
    quota: Quota = {}
    member_id = 0  # an order's reservations are all its member's
    for res in held:
        qty = min(asked_back[res.item_id], res.quantity - res.released)
        if qty > 0 and await SeckillReservation.filter(
            tenant_id=tenant.id, id=res.id, released__lte=res.quantity - qty
        ).update(released=F("released") + qty):
            units[(res.item_id, res.slot_start)] = (qty, 0)
            for scope in quota_keys(res.activity, res.item, res.slot_start):
                key = (res.activity_id, scope)
                quota[key] = (quota.get(key, (0, 0))[0] + qty, 0)
            member_id = res.member_id
    for (item_id, start), (qty, _) in sorted(units.items()):
        await SeckillStock.filter(tenant_id=tenant.id, item_id=item_id, slot_start=start).update(
            remaining=F("remaining") + qty
        )
    for activity_id, scope in sorted(quota, key=check_order):
        qty = quota[(activity_id, scope)][0]
        await SeckillMemberQuota.filter(
            tenant_id=tenant.id,
            activity_id=activity_id,
            member_id=member_id,
            scope=scope,
            taken__gte=qty,
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
