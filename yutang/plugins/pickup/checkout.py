"""Pickup in a checkout: the chosen store and slot, the fee, the slot's capacity.

A checkout picks up with ``fulfilment: "pickup"`` and
``extensions: {"pickup": {"storeId": <Store ID>, "slot": "2026-06-02T10:00"}}`` (a slot
only where the store has slots). The store must offer every line's SKU. The slot's
capacity is taken with a conditional UPDATE in placeOrder's transaction and given back
when the order is cancelled or fully refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from tortoise.expressions import F

from yutang import api
from yutang.plugins.pickup import codes
from yutang.plugins.pickup.errors import CODES
from yutang.plugins.pickup.hours import SlotTime, find_slot
from yutang.plugins.pickup.models import PickupOrder, PickupSlotUsage
from yutang.plugins.pickup.settings import settings_of
from yutang.plugins.pickup.stores import Store, missing_skus, stores

PLUGIN = "pickup"
AT = "extensions.pickup"


class PickupInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """The store (its global ID) and, where the store has slots, the slot's local start."""

    store_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    slot: Annotated[str, msgspec.Meta(max_length=40)] | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """Where and when a checkout picks up."""

    store: Store
    slot: SlotTime | None


class Pickup(api.FulfilmentMethod[Choice]):
    """Pickup at a store: a store (and slot), the pickup fee, the slot's capacity, and a
    hand-over only by the pickup code (or at the deadline)."""

    name = PLUGIN
    label = "到店自提"

    async def resolve(self, checkout: api.CheckoutContext) -> Choice:
        """The store exists, offers every line's SKU, and the slot is bookable."""
        return await _resolve(checkout)

    def store_of(self, choice: Choice) -> int:
        """A pickup order belongs to its store: its clerks hand it over."""
        return choice.store.view.id

    async def fee(self, draft: api.Draft, choice: Choice) -> None:
        """The tenant's pickup fee (usually nothing)."""
        draft.add_fee(PLUGIN, settings_of(draft.checkout.tenant).fee, "到店自提")

    async def reserve(self, checkout: api.CheckoutContext, choice: Choice, order_id: int) -> None:
        """Take the slot's capacity and remember the store."""
        await reserve(checkout, choice, order_id)

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        """Free the slot when the order is cancelled or fully refunded."""
        await release(tenant, order_id, reason)

    async def paid(self, tenant: api.TenantInfo, order_id: int) -> None:
        """Issue the code in the payment's own transaction, so the answer that says the
        order is paid (``payOrder``) already shows it."""
        await codes.issue_at_payment(tenant, order_id)

    async def hold(self, tenant: api.TenantInfo, order_id: int) -> str | None:
        """A pickup order is handed over only by its code (or at its deadline)."""
        return "a pickup order is handed over by verifying its pickup code"


METHOD = Pickup()
"""The one instance registered: handing an order over with it skips its own hold."""


def check_input(checkout: api.CheckoutContext) -> None:
    """Pickup details belong to pickup orders only."""
    if checkout.fulfilment != PLUGIN and checkout.input(PLUGIN) is not None:
        raise api.DomainError("INVALID", "pickup details need fulfilment pickup", "fulfilment")


async def _resolve(checkout: api.CheckoutContext) -> Choice:
    data: PickupInput | None = checkout.input(PLUGIN)
    if data is None:
        raise api.DomainError("REQUIRED", "choose a store to pick up from", f"{AT}.storeId")
    tenant = checkout.tenant
    store_id = api.pk_of(data.store_id, "Store", f"{AT}.storeId")
    found = await stores(tenant, [store_id])
    if not found:
        raise api.NotFound("pickup store", f"{AT}.storeId")
    store = found[0]
    missing = (await missing_skus(tenant, found, (ln.sku_id for ln in checkout.lines)))[store_id]
    for ln in checkout.lines:
        if ln.sku_id in missing:
            raise CODES.error(
                "PICKUP_NOT_OFFERED",
                f"{store.view.name} does not offer {ln.product_name} for pickup",
                f"lines[{ln.index}].skuId",
            )
    return Choice(store, await _slot(checkout, store, data.slot))


async def _slot(checkout: api.CheckoutContext, store: Store, key: str | None) -> SlotTime | None:
    """The chosen slot, bookable and (as read now) not full; reserve() takes it for real."""
    details = store.details
    if not details.slots:
        if key is not None:
            raise api.DomainError("INVALID", "this store takes no pickup slots", f"{AT}.slot")
        return None
    if key is None:
        raise api.DomainError("REQUIRED", "choose a pickup slot at this store", f"{AT}.slot")
    tenant = checkout.tenant
    slot = find_slot(
        details.slots,
        details.closed_days,
        tenant.zone,
        checkout.now,
        settings_of(tenant).slot_days,
        key,
        f"{AT}.slot",
    )
    usage = await PickupSlotUsage.get_or_none(
        tenant_id=tenant.id, store_id=store.view.id, starts_at=slot.starts_at
    )
    if usage is not None and usage.taken >= slot.capacity:
        raise CODES.error("PICKUP_SLOT_FULL", "this pickup slot is full", f"{AT}.slot")
    return slot


async def reserve(checkout: api.CheckoutContext, chosen: Choice, order_id: int) -> None:
    """Take the slot's capacity and remember where the order is picked up."""
    tenant, slot = checkout.tenant, chosen.slot
    store_id = chosen.store.view.id
    if slot is not None:
        await PickupSlotUsage.bulk_create(
            [PickupSlotUsage(tenant_id=tenant.id, store_id=store_id, starts_at=slot.starts_at)],
            ignore_conflicts=True,
        )
        took = await PickupSlotUsage.filter(
            tenant_id=tenant.id,
            store_id=store_id,
            starts_at=slot.starts_at,
            taken__lt=slot.capacity,
        ).update(taken=F("taken") + 1)
        if not took:
            raise CODES.error("PICKUP_SLOT_FULL", "this pickup slot is full", f"{AT}.slot")
    await PickupOrder.create(
        tenant_id=tenant.id,
        order_id=order_id,
        store_id=store_id,
        slot_starts_at=slot.starts_at if slot else None,
        slot_ends_at=slot.ends_at if slot else None,
    )


async def release(tenant: api.TenantInfo, order_id: int, reason: str) -> None:
    """On cancel, or once every line is refunded: close the pickup and free its slot."""
    row = await PickupOrder.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if row is None:
        return
    if reason == "refunded":
        order = await api.order_view(tenant, order_id)
        if any(ln.refunded_quantity < ln.quantity for ln in order.lines):
            return
    await PickupOrder.filter(id=row.id, status__in=("placed", "awaiting")).update(status=reason)
    freed = await PickupOrder.filter(
        id=row.id, slot_released=False, slot_starts_at__isnull=False
    ).update(slot_released=True)
    if freed:
        await PickupSlotUsage.filter(
            tenant_id=tenant.id, store_id=row.store_id, starts_at=row.slot_starts_at, taken__gt=0
        ).update(taken=F("taken") - 1)
