"""Store pickup (门店自提): members pick paid orders up at a store by showing a code.

Stores are the core's (with their staff); this plugin adds what pickup needs: where a
store is, when it is open, its pickup slots with their capacity and the SKUs it offers.
A checkout with ``fulfilment: "pickup"`` names a store (and a slot where the store has
them); a paid order gets an unguessable code; staff of that store verify it once, which
completes the order; an order nobody collects is completed or refunded at its deadline.
Written against ``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

from typing import Any

import msgspec

from yutang import api
from yutang.plugins.pickup import checkout as _checkout
from yutang.plugins.pickup import codes, demo, handover
from yutang.plugins.pickup.admin import contribution as admin_contribution
from yutang.plugins.pickup.errors import CODES
from yutang.plugins.pickup.settings import Settings
from yutang.plugins.pickup.storefront import contribution as storefront_contribution


@api.hookimpl
def yutang_models() -> str:
    """Store details, offered SKUs, slot usage, pickup orders, handovers, lookup counters."""
    return "yutang.plugins.pickup.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """The codes a pickup checkout and hand-over refuse with."""
    return CODES


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Fee, deadline and what happens at it, lookup limit, how far ahead slots go."""
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """``extensions.pickup`` of a checkout: the store and the slot."""
    return _checkout.PickupInput if operation == "checkout" else None


@api.hookimpl
def yutang_fulfilment_methods() -> list[api.FulfilmentMethod[Any]]:
    """Pickup at a store, besides delivery: its fee, its slot, its hand-over by code."""
    return [_checkout.METHOD]


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member sees stores' pickup details and looks up and verifies codes
    (a clerk only at their own stores); owners and managers change a store's pickup
    details (owners hold every permission)."""
    return [
        api.Permission("pickup.view", "see stores' pickup details", ("clerk", "manager")),
        api.Permission(
            "pickup.verify",
            "look up and verify pickup codes at the order's store",
            ("clerk", "manager"),
            store_scoped=True,
        ),
        api.Permission("pickup.manage", "change stores' pickup details", ("manager",)),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Store details, code lookup and verification, ``Order.pickup``."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Stores near the member, ``Order.pickup`` with the code."""
    return storefront_contribution()


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """Complete or refund orders nobody picked up by their deadline."""
    return {"pickup.deadline": handover.deadline}


@api.hookimpl
def yutang_validate_checkout(checkout: api.CheckoutContext) -> None:
    """Pickup details belong to pickup orders only."""
    _checkout.check_input(checkout)


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Issue the pickup code and schedule the deadline if the payment could not (every
    draw collided), once."""
    if event.order_id is not None:
        await codes.on_paid(tenant, event.order_id)


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live pickup play."""
    return await demo.seed(tenant, shop)
