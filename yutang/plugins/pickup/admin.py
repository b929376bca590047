"""Admin GraphQL: stores' pickup details, looking up and verifying codes, ``Order.pickup``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.pickup import handover
from yutang.plugins.pickup.codes import typed_code
from yutang.plugins.pickup.models import PickupOrder, PickupStore
from yutang.plugins.pickup.nodes import (
    HoursNode,
    OrderPickupNode,
    PickupStatus,
    SlotRuleNode,
    hours_nodes,
    load_order_pickup,
    slot_rule_nodes,
    store_gid,
)
from yutang.plugins.pickup.stores import StoreInput, offered_sku_ids, save_store


@strawberry.type(name="PickupStoreDetails", description="A core store and what pickup needs.")
class StoreDetailsNode:
    store_id: strawberry.ID
    name: str
    address: str
    staff_ids: list[strawberry.ID]
    enabled: bool
    latitude: float | None
    longitude: float | None
    phone: str
    hours: list[HoursNode]
    closed_days: list[str]
    slots: list[SlotRuleNode]
    all_skus: bool = strawberry.field(description="Offers every SKU; else only `skuIds`.")
    sku_ids: list[strawberry.ID]


@strawberry.type(name="PickupStorePayload")
class StorePayload:
    store: StoreDetailsNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="PickupLine")
class LineNode:
    product_name: str
    quantity: int
    refunded_quantity: int


@strawberry.type(name="PickupOrderSummary", description="What a clerk sees for a code.")
class SummaryNode:
    order_id: strawberry.ID
    number: str
    order_status: api.OrderStatus
    status: PickupStatus
    store_id: strawberry.ID
    slot_starts_at: datetime | None
    slot_ends_at: datetime | None
    deadline_at: datetime | None
    total: api.MoneyType
    lines: list[LineNode]


@strawberry.type(name="PickupPayload")
class PickupPayload:
    order: SummaryNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


@strawberry.input(name="PickupHoursInput")
class HoursIn:
    weekday: int
    opens: str
    closes: str = strawberry.field(description='Up to "24:00".')


@strawberry.input(name="PickupSlotInput")
class SlotIn:
    weekday: int
    starts: str
    ends: str
    capacity: int


@strawberry.input(name="PickupStoreInput", description="Replaces the store's pickup details.")
class StoreIn:
    store_id: strawberry.ID
    enabled: bool = True
    latitude: float | None = None
    longitude: float | None = None
    phone: str = ""
    hours: list[HoursIn] | None = None
    closed_days: list[str] | None = strawberry.field(default=None, description="YYYY-MM-DD.")
    slots: list[SlotIn] | None = None
    all_skus: bool = False
    sku_ids: list[strawberry.ID] | None = None


def store_data(inp: StoreIn) -> StoreInput:
    """The validated input; errors name ``input.<field>``."""
    raw: dict[str, Any] = {
        "storeId": api.pk_of(inp.store_id, "Store", "input.storeId"),
        "enabled": inp.enabled,
        "latitude": inp.latitude,
        "longitude": inp.longitude,
        "phone": inp.phone,
        "hours": [
            {"weekday": h.weekday, "opens": h.opens, "closes": h.closes} for h in inp.hours or []
        ],
        "closedDays": inp.closed_days or [],
        "slots": [
            {"weekday": s.weekday, "starts": s.starts, "ends": s.ends, "capacity": s.capacity}
            for s in inp.slots or []
        ],
        "allSkus": inp.all_skus,
        "skuIds": [
            api.pk_of(s, "Sku", f"input.skuIds[{i}]") for i, s in enumerate(inp.sku_ids or [])
        ],
    }
    return api.convert(raw, StoreInput, "input")


async def _details(tenant: api.TenantInfo, views: list[api.StoreView]) -> list[StoreDetailsNode]:
    ids = [v.id for v in views]
    rows = {r.store_id: r for r in await PickupStore.filter(tenant_id=tenant.id, store_id__in=ids)}
    skus = await offered_sku_ids(tenant, ids)
    nodes = []
    for v in views:
        d = rows.get(v.id) or PickupStore(tenant_id=tenant.id, store_id=v.id, enabled=False)
        nodes.append(
            StoreDetailsNode(
                store_id=store_gid(v.id),
                name=v.name,
                address=v.address,
                staff_ids=[strawberry.ID(api.to_global("Staff", s)) for s in v.staff_ids],
                enabled=d.enabled,
                latitude=d.latitude,
                longitude=d.longitude,
                phone=d.phone,
                hours=hours_nodes(d),
                closed_days=list(d.closed_days),
                slots=slot_rule_nodes(d),
                all_skus=d.all_skus,
                sku_ids=[strawberry.ID(api.to_global("Sku", s)) for s in skus[v.id]],
            )
        )
    return nodes


async def _summary(tenant: api.TenantInfo, row: PickupOrder) -> SummaryNode:
    order = await api.order_view(tenant, row.order_id)
    return SummaryNode(
        order_id=strawberry.ID(api.to_global("Order", order.id)),
        number=order.number,
        order_status=api.OrderStatus(order.status),
        status=PickupStatus(row.status),
        store_id=store_gid(row.store_id),
        slot_starts_at=row.slot_starts_at,
        slot_ends_at=row.slot_ends_at,
        deadline_at=row.deadline_at,
        total=api.MoneyType.of(order.total, order.currency),
        lines=[
            LineNode(
                product_name=ln.product_name,
                quantity=ln.quantity,
                refunded_quantity=ln.refunded_quantity,
            )
            for ln in order.lines
        ],
    )


async def _by_code(info: api.Info, code: str, act: bool) -> PickupPayload:
    ctx = info.context
    try:
        principal = await api.require_permission(info, "pickup.verify")
        code = typed_code(code)

        async def reach(store_id: int) -> None:
            await api.require_store(info, "pickup.verify", store_id)

        async def work() -> PickupOrder:
            if act:
                return await handover.verify(ctx.tenant, principal, reach, code)
            return await handover.find(ctx.tenant, reach, code)

        row = await handover.counted(ctx.tenant, principal, work)
        return PickupPayload(order=await _summary(ctx.tenant, row))
    except api.DomainError as err:
        return PickupPayload(errors=[api.UserError.of(err)])


async def pickup_stores(info: api.Info) -> list[StoreDetailsNode]:
    """Every store with its pickup details (disabled where none were saved)."""
    ctx = info.context
    return await _details(ctx.tenant, await api.store_views(ctx.tenant))


async def pickup_order_by_code(info: api.Info, code: str) -> PickupPayload:
    """Look a code up before handing over; counts against the caller's lookup limit."""
    return await _by_code(info, code, act=False)


async def save_pickup_store(info: api.Info, input: StoreIn) -> StorePayload:
    """Replace a store's pickup details (owners and managers)."""
    ctx = info.context
    try:
        saved = await save_store(ctx.tenant, store_data(input))
    except api.DomainError as err:
        return StorePayload(errors=[api.UserError.of(err)])
    return StorePayload(store=(await _details(ctx.tenant, [saved.view]))[0])


async def verify_pickup(info: api.Info, code: str) -> PickupPayload:
    """Hand an order over by its code: once, by staff of its store; completes the order."""
    return await _by_code(info, code, act=True)


async def pickup(root: Any, info: api.Info) -> OrderPickupNode | None:
    """Where and when the order is picked up, and who handed it over."""
    return await load_order_pickup(root, info, admin=True)


def contribution() -> api.GraphQLContribution:
    """The admin schema's pickup fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                pickup_stores,
                permission="pickup.view",
                description="Stores with their pickup details.",
            ),
            api.field(
                pickup_order_by_code,
                permission="pickup.verify",
                description="The pickup order with this code (rate-limited per staff member).",
            ),
        ],
        mutation=[
            api.mutation(
                save_pickup_store,
                permission="pickup.manage",
                description="Replace a store's pickup details.",
            ),
            api.mutation(
                verify_pickup,
                permission="pickup.verify",
                description="Hand a pickup order over by its code and complete it: staff of "
                "the order's store (or owners, managers, operators), once; rate-limited.",
            ),
        ],
        extend={"Order": [api.field(pickup, description="Pickup store, slot and handover.")]},
    )
