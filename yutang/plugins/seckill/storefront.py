"""Storefront GraphQL: today's and tomorrow's sessions, and the open price on products.

Prices are read from the database on every request (batched per request by DataLoaders),
so a product page shows the seckill price from a session's first second to its last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.seckill.checkout import item_ref
from yutang.plugins.seckill.limits import tightest
from yutang.plugins.seckill.models import SeckillItem, SeckillSession, SeckillStock
from yutang.plugins.seckill.nodes import LimitNode, limit_nodes
from yutang.plugins.seckill.schedule import Slot, next_boundary, open_slot, slots

TIGHTEST = "The most one member may hold of one item in one session: the tightest of `limits`."


@strawberry.type(
    name="SeckillOffer",
    description="A seckill price selling now; send `ref` as the line's activity ref "
    '(`{plugin: "seckill", ref}`).',
)
class Offer:
    ref: str
    price: api.MoneyType
    starts_at: datetime
    ends_at: datetime
    stock: int
    remaining: int
    member_limit: int = strawberry.field(description=TIGHTEST)
    limits: list[LimitNode] = strawberry.field(description="Per-member limits; all must hold.")


@strawberry.type(name="SeckillSlotItem")
class SlotItem:
    ref: str
    sku_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str
    list_price: api.MoneyType
    price: api.MoneyType
    stock: int
    remaining: int


@strawberry.enum(name="SeckillSlotStatus")
class SlotStatus(Enum):
    UPCOMING = "upcoming"
    OPEN = strawberry.enum_value("open", description="Selling now.")
    ENDED = "ended"


@strawberry.type(name="SeckillSlot", description="One session's occurrence (场次).")
class SlotNode:
    session_id: strawberry.ID
    activity_name: str
    starts_at: datetime
    ends_at: datetime
    status: SlotStatus
    member_limit: int = strawberry.field(description=TIGHTEST)
    limits: list[LimitNode] = strawberry.field(description="Per-member limits; all must hold.")
    items: list[SlotItem]


@strawberry.type(name="SeckillSchedule")
class Schedule:
    server_time: datetime
    sessions: list[SlotNode]


async def _remaining(tenant_id: int, pairs: set[tuple[int, datetime]]) -> dict[Any, int]:
    """Units left per (item, occurrence start); occurrences nobody bought from are absent."""
    if not pairs:
        return {}
    rows = await SeckillStock.filter(
        tenant_id=tenant_id,
        item_id__in={item for item, _ in pairs},
        slot_start__in={start for _, start in pairs},
    ).values("item_id", "slot_start", "remaining")
    return {(r["item_id"], r["slot_start"]): r["remaining"] for r in rows}


async def open_offers(tenant: api.TenantInfo, sku_ids: Sequence[int]) -> list[Offer | None]:
    """The cheapest offer selling now for each SKU, in two queries for any number of SKUs."""
    now = api.now()
    items = await SeckillItem.filter(
        tenant_id=tenant.id,
        sku_id__in=set(sku_ids),
        activity__stopped_at__isnull=True,
        activity__starts_at__lte=now,
        activity__ends_at__gt=now,
    ).select_related("session", "activity")
    selling: list[tuple[SeckillItem, Slot]] = []
    for item in items:
        slot = open_slot(item.session, item.activity, tenant.zone, now)
        if slot is not None:
            selling.append((item, slot))
    left = await _remaining(tenant.id, {(i.id, s.starts_at) for i, s in selling})
    best: dict[int, Offer] = {}
    for item, slot in selling:
        offer = Offer(
            ref=item_ref(item.id),
            price=api.MoneyType.of(item.price, tenant.currency),
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            stock=item.stock,
            remaining=left.get((item.id, slot.starts_at), item.stock),
            member_limit=tightest(item.activity.limits),
            limits=limit_nodes(item.activity.limits),
        )
        known = best.get(item.sku_id)
        if known is None or offer.price.amount < known.price.amount:
            best[item.sku_id] = offer
    return [best.get(sku) for sku in sku_ids]


def _offer_loader(info: api.Info) -> Any:
    ctx = info.context

    async def load(keys: Sequence[int]) -> list[Offer | None]:
        return await open_offers(ctx.tenant, keys)

    return ctx.loader(("seckill", "offers"), load)


async def seckill(root: Any, info: api.Info) -> Offer | None:
    """The seckill price of this SKU while one of its sessions is open."""
    found: Offer | None = await _offer_loader(info).load(root.pk)
    return found


async def product_seckill(root: Any, info: api.Info) -> Offer | None:
    """The lowest seckill price among this product's SKUs while a session is open."""
    offers = await _offer_loader(info).load_many([s.pk for s in root.skus])
    selling = [o for o in offers if o is not None]
    return min(selling, key=lambda o: o.price.amount) if selling else None


def _status(slot: Slot, now: datetime) -> str:
    if slot.is_open(now):
        return "open"
    return "upcoming" if now < slot.starts_at else "ended"


async def seckill_sessions(info: api.Info) -> Schedule:
    """Today's and tomorrow's sessions (tenant time zone) with the server time for
    countdowns, each item's activity price and the units left."""
    tenant = info.context.tenant
    now, zone = api.now(), tenant.zone
    today = now.astimezone(zone).date()
    lo = datetime.combine(today, time(), zone).astimezone(UTC)
    hi = datetime.combine(today + timedelta(days=2), time(), zone).astimezone(UTC)
    items = (
        await SeckillItem.filter(
            tenant_id=tenant.id,
            activity__stopped_at__isnull=True,
            activity__starts_at__lt=hi,
            activity__ends_at__gt=lo,
        )
        .select_related("session", "activity")
        .order_by("position")
    )
    by_session: dict[int, list[SeckillItem]] = defaultdict(list)
    sessions: dict[int, SeckillSession] = {}
    for item in items:
        by_session[item.session_id].append(item)
        sessions[item.session_id] = item.session
    occurrences = [
        (slot, by_session[s.id])
        for s in sessions.values()
        for slot in slots(s, by_session[s.id][0].activity, zone, lo, hi)
    ]
    left = await _remaining(
        tenant.id, {(i.id, slot.starts_at) for slot, group in occurrences for i in group}
    )
    skus = await api.sku_summaries(tenant, {i.sku_id for i in items})
    nodes = []
    for slot, group in sorted(occurrences, key=lambda o: (o[0].starts_at, o[0].session_id)):
        activity = group[0].activity
        nodes.append(
            SlotNode(
                session_id=strawberry.ID(api.to_global("SeckillSession", slot.session_id)),
                activity_name=activity.name,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                status=SlotStatus(_status(slot, now)),
                member_limit=tightest(activity.limits),
                limits=limit_nodes(activity.limits),
                items=[
                    SlotItem(
                        ref=item_ref(i.id),
                        sku_id=strawberry.ID(api.to_global("Sku", i.sku_id)),
                        product_id=strawberry.ID(api.to_global("Product", i.product_id)),
                        product_name=sku.product_name,
                        list_price=api.MoneyType.of(sku.price, tenant.currency),
                        price=api.MoneyType.of(i.price, tenant.currency),
                        stock=i.stock,
                        remaining=left.get((i.id, slot.starts_at), i.stock),
                    )
                    for i in group
                    if (sku := skus.get(i.sku_id)) is not None and sku.published
                ],
            )
        )
    return Schedule(server_time=now, sessions=nodes)


async def next_price_change(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next start or end of a session of a live activity (a response cache's expiry)."""
    now = now.astimezone(UTC)
    sessions = await SeckillSession.filter(
        tenant_id=tenant.id, activity__stopped_at__isnull=True, activity__ends_at__gt=now
    ).select_related("activity")
    moments = [
        moment
        for s in sessions
        if (moment := next_boundary(s, s.activity, tenant.zone, now)) is not None
    ]
    return min(moments, default=None)


def contribution() -> api.GraphQLContribution:
    """The storefront schema's seckill fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                seckill_sessions,
                description="Today's and tomorrow's seckill sessions (tenant time zone), "
                "with the server time for countdowns.",
            )
        ],
        extend={
            "Sku": [api.field(seckill, description="The seckill price while a session is open.")],
            "Product": [
                api.field(
                    product_seckill,
                    name="seckill",
                    description="The lowest seckill price of its SKUs while a session is open.",
                )
            ],
        },
    )
