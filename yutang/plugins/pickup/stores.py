"""A store's pickup details: saving them (admin) and reading them in batches.

The core owns stores and their staff; this plugin keeps one row of details per store
and the SKUs it offers, replaced as a whole when an admin saves them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.pickup.hours import parse_minutes
from yutang.plugins.pickup.models import PickupStore, PickupStoreSku

MAX_SKUS = 10_000


class HoursInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An opening interval on an ISO weekday (1 = Monday), local ``"HH:MM"`` times."""

    weekday: Annotated[int, msgspec.Meta(ge=1, le=7)]
    opens: str
    closes: str


class SlotInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A weekly pickup slot and how many orders it takes."""

    weekday: Annotated[int, msgspec.Meta(ge=1, le=7)]
    starts: str
    ends: str
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class StoreInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Everything pickup needs of a store; saving replaces what was there."""

    store_id: int
    enabled: bool = True
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    hours: Annotated[list[HoursInput], msgspec.Meta(max_length=50)] = []
    closed_days: Annotated[list[date], msgspec.Meta(max_length=366)] = []
    slots: Annotated[list[SlotInput], msgspec.Meta(max_length=200)] = []
    all_skus: bool = False
    sku_ids: Annotated[list[int], msgspec.Meta(max_length=MAX_SKUS)] = []


@dataclass(frozen=True, slots=True)
class Store:
    """A core store joined with its pickup details."""

    view: api.StoreView
    details: PickupStore


def _hours(data: StoreInput) -> list[list[int]]:
    rows = []
    for i, h in enumerate(data.hours):
        opens = parse_minutes(h.opens, f"input.hours[{i}].opens")
        closes = parse_minutes(h.closes, f"input.hours[{i}].closes", end=True)
        if closes <= opens:
            raise api.DomainError("INVALID", "must be after opens", f"input.hours[{i}].closes")
        rows.append([h.weekday, opens, closes])
    return rows


def _slots(data: StoreInput) -> list[dict[str, int]]:
    rows: list[dict[str, int]] = []
    for i, s in enumerate(data.slots):
        starts = parse_minutes(s.starts, f"input.slots[{i}].starts")
        ends = parse_minutes(s.ends, f"input.slots[{i}].ends", end=True)
        if ends <= starts:
            raise api.DomainError("INVALID", "must be after starts", f"input.slots[{i}].ends")
        if any(r["weekday"] == s.weekday and r["starts"] == starts for r in rows):
            raise api.DomainError(
                "DUPLICATE", "a slot already starts then that day", f"input.slots[{i}].starts"
            )
        rows.append({"weekday": s.weekday, "starts": starts, "ends": ends, "capacity": s.capacity})
    return rows


async def _check_skus(tenant: api.TenantInfo, sku_ids: list[int]) -> None:
    found = await api.sku_summaries(tenant, sku_ids)
    for i, sku_id in enumerate(sku_ids):
        if sku_id not in found:
            raise api.NotFound("SKU", f"input.skuIds[{i}]")


async def save_store(tenant: api.TenantInfo, data: StoreInput) -> Store:
    """Replace a store's pickup details and offered SKUs, in one transaction."""
    if (data.latitude is None) != (data.longitude is None):
        raise api.DomainError("INVALID", "give latitude and longitude together", "input.latitude")
    hours, slots = _hours(data), _slots(data)
    sku_ids = sorted(set(data.sku_ids))
    async with in_transaction():
        views = await api.store_views(tenant, [data.store_id])
        if not views:
            raise api.NotFound("store", "input.storeId")
        await _check_skus(tenant, data.sku_ids)
        details, _ = await PickupStore.update_or_create(
            tenant_id=tenant.id,
            store_id=data.store_id,
            defaults={
                "enabled": data.enabled,
                "latitude": data.latitude,
                "longitude": data.longitude,
                "phone": data.phone,
                "hours": hours,
                "closed_days": sorted({d.isoformat() for d in data.closed_days}),
                "slots": slots,
                "all_skus": data.all_skus,
            },
        )
        await (
            PickupStoreSku.filter(tenant_id=tenant.id, store_id=data.store_id)
            .exclude(sku_id__in=sku_ids)
            .delete()
        )
        await PickupStoreSku.bulk_create(
            [
                PickupStoreSku(tenant_id=tenant.id, store_id=data.store_id, sku_id=s)
                for s in sku_ids
            ],
            ignore_conflicts=True,
        )
    return Store(views[0], details)


async def stores(
    tenant: api.TenantInfo, ids: Iterable[int] | None = None, *, enabled_only: bool = True
) -> list[Store]:
    """Stores with pickup details (all, or those among ``ids``), by id, in three queries."""
    query = PickupStore.filter(tenant_id=tenant.id)
    if ids is not None:
        query = query.filter(store_id__in=set(ids))
    if enabled_only:
        query = query.filter(enabled=True)
    details = {d.store_id: d for d in await query}
    if not details:
        return []
    return [Store(v, details[v.id]) for v in await api.store_views(tenant, details.keys())]


async def missing_skus(
    tenant: api.TenantInfo, found: list[Store], sku_ids: Iterable[int]
) -> dict[int, set[int]]:
    """Per store, which of ``sku_ids`` it does not offer (one query for all stores)."""
    wanted = set(sku_ids)
    listed = [s.view.id for s in found if not s.details.all_skus]
    offered: dict[int, set[int]] = defaultdict(set)
    if wanted and listed:
        rows = await PickupStoreSku.filter(
            tenant_id=tenant.id, store_id__in=listed, sku_id__in=wanted
        ).values_list("store_id", "sku_id")
        for store_id, sku_id in rows:
            offered[store_id].add(sku_id)
    return {s.view.id: set() if s.details.all_skus else wanted - offered[s.view.id] for s in found}


async def offered_sku_ids(tenant: api.TenantInfo, store_ids: Iterable[int]) -> dict[int, list[int]]:
    """The SKUs each store lists (stores offering every SKU list none), in one query."""
    listed: dict[int, list[int]] = defaultdict(list)
    rows = await PickupStoreSku.filter(tenant_id=tenant.id, store_id__in=set(store_ids)).order_by(
        "sku_id"
    )
    for r in rows:
        listed[r.store_id].append(r.sku_id)
    return listed
