"""Store pickup (门店自提): members pick paid orders up at a store by showing a code.

Stores are the core's (with their staff); this plugin adds what pickup needs: where a
store is, when it is open, its pickup slots with their capacity and the SKUs it offers.
A checkout with ``fulfilment: "pickup"`` names a store (and a slot where the store has
them); a paid order gets an unguessable code; staff of that store verify it once, which
completes the order; an order nobody collects is completed or refunded at its deadline.
Written against ``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

import msgspec

from yutang import api
from yutang.plugins.pickup import checkout as _checkout
from yutang.plugins.pickup import codes, handover
from yutang.plugins.pickup.admin import contribution as admin_contribution
from yutang.plugins.pickup.settings import Settings
from yutang.plugins.pickup.storefront import contribution as storefront_contribution


@api.hookimpl
def yutang_models() -> str:
    """Store details, offered SKUs, slot usage, pickup orders, handovers, lookup counters."""
    return "yutang.plugins.pickup.models"


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Fee, deadline and what happens at it, lookup limit, how far ahead slots go."""
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """``extensions.pickup`` of a checkout: the store and the slot."""
    return _checkout.PickupInput if operation == "checkout" else None


@api.hookimpl
def yutang_fulfilment_methods() -> list[api.FulfilmentMethod]:
    """Pickup at a store, besides delivery."""
    return [api.FulfilmentMethod(name="pickup", label="到店自提")]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Store details, code lookup and verification, ``Order.pickup``."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Stores near the member, ``Order.pickup`` with the code."""
    return storefront_contribution()


@api.hookimpl
def yutang_price_steps() -> list[api.PriceStep]:
    """The pickup fee."""
    return [api.PriceStep(api.Stage.FEES, _checkout.pickup_fee)]


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """Complete or refund orders nobody picked up by their deadline."""
    return {"pickup.deadline": handover.deadline}


@api.hookimpl
async def yutang_validate_checkout(checkout: api.CheckoutContext) -> None:
    """The store exists, offers every line's SKU, and the slot is bookable."""
    await _checkout.choice(checkout)


@api.hookimpl
async def yutang_reserve_stock(checkout: api.CheckoutContext, order_id: int) -> None:
    """Take the slot's capacity and remember the store."""
    await _checkout.reserve(checkout, order_id)


@api.hookimpl
async def yutang_release_stock(tenant: api.TenantInfo, order_id: int, reason: str) -> None:
    """Free the slot when the order is cancelled or fully refunded."""
    await _checkout.release(tenant, order_id, reason)


@api.hookimpl
async def yutang_fulfilment_hold(tenant: api.TenantInfo, order_id: int) -> str | None:
    """A pickup order is handed over only by its code (or at its deadline)."""
    return await handover.hold(tenant, order_id)


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Issue the pickup code and schedule the deadline, once."""
    if event.order_id is not None:
        await codes.on_paid(tenant, event.order_id)
