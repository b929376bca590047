"""Full reduction (满减送): rules with ladder or per-threshold tiers over a scope of goods.

A rule has a time window, a scope (all goods, chosen products, categories with their
subcategories, or product tags) and tiers: an amount or percentage off, free shipping, a
gift SKU (a free line of the quote), points or coupons. Two live rules overlapping in time
and goods (some product of the catalogue falls under both) are refused when saved; should
a catalogue edit later bring a product under two rules, the rule saved first prices it, so
at most one rule prices a line. In the PROMOTION stage each rule measures its in-scope
eligible lines after member prices (activity lines neither count nor get anything),
apportions its discount to them exactly and hints the next tier. Points and coupons are
granted after payment through the reward hook and revoked once the order is wholly
refunded (a partial refund keeps them). Written against ``yutang.api`` only.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from yutang import api
from yutang.plugins.fullreduction import awards, demo
from yutang.plugins.fullreduction.admin import contribution as admin_contribution
from yutang.plugins.fullreduction.pricing import Earned, promote
from yutang.plugins.fullreduction.rules import next_window_edge
from yutang.plugins.fullreduction.settings import Settings
from yutang.plugins.fullreduction.storefront import contribution as storefront_contribution

CODES = api.ErrorCodes("fullreduction", {})
"""None of its own: a rule refuses with the shared codes only (INVALID, NOT_FOUND, OVERLAP)."""


@api.hookimpl
def yutang_models() -> str:
    """Rules and the rewards orders earned."""
    return "yutang.plugins.fullreduction.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """No codes of its own: everything a rule refuses with is shared."""
    return CODES


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Limits on tiers and scopes."""
    return Settings


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member sees full-reduction rules; owners and managers create and
    stop them (owners hold every permission)."""
    return [
        api.Permission("fullreduction.view", "see full-reduction rules", ("clerk", "manager")),
        api.Permission(
            "fullreduction.manage", "create and stop full-reduction rules", ("manager",)
        ),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, stop and list rules."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """The rules running now."""
    return storefront_contribution()


@api.hookimpl
def yutang_price_steps() -> list[api.PriceStep]:
    """The order-promotion step."""
    return [api.PriceStep(api.Stage.PROMOTION, promote, priority=100)]


@api.hookimpl
async def yutang_reserve(
    checkout: api.CheckoutContext, order_id: int, state: list[Earned] | None
) -> None:
    """Record the points and coupons the order earned, as the promotion step kept them."""
    await awards.record(checkout, order_id, state)


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Grant what the order earned, once."""
    if event.order_id is not None:
        await awards.grant(tenant, event.order_id)


@api.hookimpl
async def yutang_order_refunded(event: api.Event, tenant: api.TenantInfo) -> None:
    """A full refund revokes what the order earned; a partial one keeps it."""
    if event.order_id is not None and event.data.get("full"):
        await awards.revoke(tenant, event.order_id)


@api.hookimpl
async def yutang_next_price_change(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next start or end of a rule: the promotion a quote shows changes then."""
    return await next_window_edge(tenant, now)


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live fullreduction play."""
    return await demo.seed(tenant, shop)
