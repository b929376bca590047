"""GraphQL types both surfaces share, and ``Order.pickup`` batched through a DataLoader."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.pickup.hours import format_minutes
from yutang.plugins.pickup.models import PickupHandover, PickupOrder, PickupStore


@strawberry.type(name="PickupHours", description="Open from `opens` to `closes`, local time.")
class HoursNode:
    weekday: int = strawberry.field(description="ISO weekday: 1 is Monday.")
    opens: str
    closes: str


@strawberry.type(name="PickupSlotRule", description="A weekly pickup slot and its capacity.")
class SlotRuleNode:
    weekday: int
    starts: str
    ends: str
    capacity: int


@strawberry.type(name="PickupHandover", description="Who handed the order over, when, where.")
class HandoverNode:
    action: str = strawberry.field(description="picked_up, auto_completed or auto_refunded.")
    actor: str = strawberry.field(description="`staff:<id>`, `operator:<id>` or `job`.")
    role: str
    store_id: strawberry.ID
    at: datetime


@strawberry.enum(name="PickupStatus", description="Where a pickup stands.")
class PickupStatus(Enum):
    PLACED = strawberry.enum_value("placed", description="The order is not paid yet.")
    AWAITING = strawberry.enum_value("awaiting", description="Paid: waiting at the store.")
    PICKED_UP = "picked_up"
    EXPIRED = strawberry.enum_value("expired", description="Not picked up by the deadline.")
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


@strawberry.type(name="OrderPickup", description="Where and when an order is picked up.")
class OrderPickupNode:
    status: PickupStatus
    store_id: strawberry.ID
    store_name: str
    store_address: str
    store_phone: str
    slot_starts_at: datetime | None
    slot_ends_at: datetime | None
    deadline_at: datetime | None
    code: str | None = strawberry.field(
        description="What the member shows at the store; storefront only, once paid."
    )
    handover: HandoverNode | None = strawberry.field(description="Admin only.")


def hours_nodes(details: PickupStore) -> list[HoursNode]:
    """Opening hours as local ``HH:MM`` times."""
    return [
        HoursNode(weekday=d, opens=format_minutes(o), closes=format_minutes(c))
        for d, o, c in details.hours
    ]


def slot_rule_nodes(details: PickupStore) -> list[SlotRuleNode]:
    """The store's weekly slots."""
    return [
        SlotRuleNode(
            weekday=s["weekday"],
            starts=format_minutes(s["starts"]),
            ends=format_minutes(s["ends"]),
            capacity=s["capacity"],
        )
        for s in details.slots
    ]


def store_gid(store_id: int) -> strawberry.ID:
    """The core store's global ID (what a checkout sends as ``storeId``)."""
    return strawberry.ID(api.to_global("Store", store_id))


async def _load(
    tenant: api.TenantInfo, order_ids: Sequence[int], admin: bool
) -> list[OrderPickupNode | None]:
    rows = {
        r.order_id: r
        for r in await PickupOrder.filter(tenant_id=tenant.id, order_id__in=set(order_ids))
    }
    if not rows:
        return [None] * len(order_ids)
    store_ids = {r.store_id for r in rows.values()}
    views = {v.id: v for v in await api.store_views(tenant, store_ids)}
    phones: dict[int, str] = dict(
        await PickupStore.filter(tenant_id=tenant.id, store_id__in=store_ids).values_list(
            "store_id", "phone"
        )
    )
    handovers = {}
    if admin:
        handovers = {
            h.order_id: h
            for h in await PickupHandover.filter(tenant_id=tenant.id, order_id__in=set(rows))
        }
    out: list[OrderPickupNode | None] = []
    for order_id in order_ids:
        row = rows.get(order_id)
        if row is None:
            out.append(None)
            continue
        view = views.get(row.store_id)
        h = handovers.get(order_id)
        out.append(
            OrderPickupNode(
                status=PickupStatus(row.status),
                store_id=store_gid(row.store_id),
                store_name=view.name if view else "",
                store_address=view.address if view else "",
                store_phone=phones.get(row.store_id, ""),
                slot_starts_at=row.slot_starts_at,
                slot_ends_at=row.slot_ends_at,
                deadline_at=row.deadline_at,
                code=row.code if not admin and row.status == "awaiting" else None,
                handover=HandoverNode(
                    action=h.action,
                    actor=h.actor,
                    role=h.role,
                    store_id=store_gid(h.store_id),
                    at=h.at,
                )
                if h
                else None,
            )
        )
    return out


async def load_order_pickup(root: Any, info: api.Info, admin: bool) -> OrderPickupNode | None:
    """The order's pickup, batched: at most five queries for a whole page of orders."""
    ctx = info.context

    async def load(keys: Sequence[int]) -> list[OrderPickupNode | None]:
        return await _load(ctx.tenant, keys, admin)

    found: OrderPickupNode | None = await ctx.loader(("pickup", "order", admin), load).load(root.pk)
    return found
