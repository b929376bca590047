"""Storefront GraphQL: stores near the member, open now, able to serve the cart, with
their slots; ``Order.pickup`` with the code to show at the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.pickup.hours import distance_m, is_open, local_now, upcoming_slots
from yutang.plugins.pickup.models import PickupSlotUsage
from yutang.plugins.pickup.nodes import (
    HoursNode,
    OrderPickupNode,
    hours_nodes,
    load_order_pickup,
    store_gid,
)
from yutang.plugins.pickup.settings import settings_of
from yutang.plugins.pickup.stores import Store, missing_skus, stores

MAX_STORES = 100
MAX_SKUS = 100


@strawberry.input(name="PickupNearInput")
class NearIn:
    latitude: float
    longitude: float


@strawberry.type(name="PickupSlot", description="Send `slot` as `extensions.pickup.slot`.")
class SlotNode:
    slot: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    remaining: int


@strawberry.type(name="PickupStore", description="Send `id` as `extensions.pickup.storeId`.")
class StoreNode(api.Node):
    name: str
    address: str
    phone: str
    latitude: float | None
    longitude: float | None
    distance_meters: int | None = strawberry.field(description="From `near`, when given.")
    open_now: bool
    hours: list[HoursNode]
    closed_days: list[str] = strawberry.field(description="Upcoming closed days, YYYY-MM-DD.")
    can_serve: bool = strawberry.field(description="Offers every SKU asked about.")
    missing_sku_ids: list[strawberry.ID]
    slots: list[SlotNode] = strawberry.field(description="Bookable slots, soonest first.")


def _check_near(near: NearIn | None) -> None:
    if near is None:
        return
    if not -90 <= near.latitude <= 90:
        raise api.DomainError("INVALID", "between -90 and 90", "near.latitude")
    if not -180 <= near.longitude <= 180:
        raise api.DomainError("INVALID", "between -180 and 180", "near.longitude")


def _distance(store: Store, near: NearIn | None) -> int | None:
    d = store.details
    if near is None or d.latitude is None or d.longitude is None:
        return None
    return distance_m(near.latitude, near.longitude, d.latitude, d.longitude)


async def _slot_nodes(tenant: api.TenantInfo, found: list[Store]) -> dict[int, list[SlotNode]]:
    """Each store's bookable slots with what is left of them, in one query."""
    now, days = api.now(), settings_of(tenant).slot_days
    upcoming = {
        s.view.id: upcoming_slots(s.details.slots, s.details.closed_days, tenant.zone, now, days)
        for s in found
    }
    starts = {t.starts_at for times in upcoming.values() for t in times}
    taken: dict[tuple[int, Any], int] = {}
    if starts:
        rows = await PickupSlotUsage.filter(
            tenant_id=tenant.id, store_id__in=list(upcoming), starts_at__in=starts
        ).values_list("store_id", "starts_at", "taken")
        taken = {(store_id, at): n for store_id, at, n in rows}
    return {
        store_id: [
            SlotNode(
                slot=t.key,
                starts_at=t.starts_at,
                ends_at=t.ends_at,
                capacity=t.capacity,
                remaining=max(0, t.capacity - taken.get((store_id, t.starts_at), 0)),
            )
            for t in times
        ]
        for store_id, times in upcoming.items()
    }


async def pickup_stores(
    info: api.Info,
    near: NearIn | None = None,
    within_meters: int | None = None,
    sku_ids: list[strawberry.ID] | None = None,
    first: int = 20,
) -> list[StoreNode]:
    """Pickup stores, nearest first when `near` is given, with whether each is open now
    and can serve the SKUs of the cart (`skuIds`)."""
    tenant = info.context.tenant
    _check_near(near)
    if len(sku_ids or []) > MAX_SKUS:
        raise api.DomainError("INVALID", f"at most {MAX_SKUS} SKUs", "skuIds")
    wanted = [api.pk_of(s, "Sku", f"skuIds[{i}]") for i, s in enumerate(sku_ids or [])]
    found = await stores(tenant)
    distance = {s.view.id: _distance(s, near) for s in found}
    if within_meters is not None:
        found = [s for s in found if (d := distance[s.view.id]) is not None and d <= within_meters]
    found.sort(key=lambda s: (distance[s.view.id] is None, distance[s.view.id] or 0, s.view.id))
    return await _store_nodes(tenant, found[: max(0, min(first, MAX_STORES))], distance, wanted)


async def _store(info: api.Info, pk: int) -> StoreNode | None:
    """A store of the tenant's that offers pickup, as ``pickupStores`` lists it."""
    tenant = info.context.tenant
    found = await stores(tenant, [pk])
    return next(iter(await _store_nodes(tenant, found, {pk: None}, [])), None)


async def _store_nodes(
    tenant: api.TenantInfo, found: list[Store], distance: dict[int, int | None], wanted: list[int]
) -> list[StoreNode]:
    missing = await missing_skus(tenant, found, wanted)
    slots = await _slot_nodes(tenant, found)
    now = api.now()
    today = local_now(tenant.zone, now).date().isoformat()
    return [
        StoreNode(
            id=store_gid(s.view.id),
            name=s.view.name,
            address=s.view.address,
            phone=s.details.phone,
            latitude=s.details.latitude,
            longitude=s.details.longitude,
            distance_meters=distance[s.view.id],
            open_now=is_open(s.details.hours, s.details.closed_days, tenant.zone, now),
            hours=hours_nodes(s.details),
            closed_days=[d for d in s.details.closed_days if d >= today],
            can_serve=not missing[s.view.id],
            missing_sku_ids=[
                strawberry.ID(api.to_global("Sku", sku)) for sku in sorted(missing[s.view.id])
            ],
            slots=slots[s.view.id],
        )
        for s in found
    ]


async def pickup(root: Any, info: api.Info) -> OrderPickupNode | None:
    """Where and when the order is picked up, and the code to show there once paid."""
    return await load_order_pickup(root, info, admin=False)


def contribution() -> api.GraphQLContribution:
    """The storefront schema's pickup fields."""
    return api.GraphQLContribution(
        query=[api.field(pickup_stores, description="Stores to pick up from.")],
        extend={"Order": [api.field(pickup, description="Pickup store, slot and code.")]},
        nodes=[api.NodeType(StoreNode, _store, tag="Store")],
    )
