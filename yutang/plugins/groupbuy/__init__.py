"""Group buy (拼团): members open teams at a group price and friends join them by team id.

An activity sells SKUs at a group price (optionally a lower leader price) in teams of a
fixed size. A member opens a team by buying at that price; the team exists once the
leader paid and lives for the activity's validity from that payment. Others join through
the team's id (``extensions: {groupbuy: {team}}``), each holding a seat for the unpaid
timeout; the last paid member completes the team, and only then may its orders be
shipped or picked up. An expired team short of members is failed by a durable job and
every paid member refunded in full (or completed with virtual members, if the merchant
chose that). Written against ``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from yutang import api
from yutang.plugins.groupbuy import checkout as _checkout
from yutang.plugins.groupbuy import teams
from yutang.plugins.groupbuy.admin import contribution as admin_contribution
from yutang.plugins.groupbuy.settings import Settings
from yutang.plugins.groupbuy.storefront import contribution as storefront_contribution
from yutang.plugins.groupbuy.storefront import next_window_edge


@api.hookimpl
def yutang_models() -> str:
    """Activities, items, teams, seats and member counters."""
    return "yutang.plugins.groupbuy.models"


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """The default seat hold and the bounds of team size and validity."""
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """``extensions.groupbuy.team``: the team a checkout joins."""
    return _checkout.GroupbuyInput if operation == "checkout" else None


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, stop and follow activities and their teams."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Offers and open teams of a product, a team's page, my teams."""
    return storefront_contribution()


@api.hookimpl
def yutang_price_steps() -> list[api.PriceStep]:
    """The group or leader price of the group-buy line."""
    return [api.PriceStep(api.Stage.ACTIVITY, _checkout.activity_price, priority=20)]


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """Team expiry, and the refund of each paid member of a failed team."""
    return {"groupbuy.expire": teams.expire, "groupbuy.refund": teams.refund}


@api.hookimpl
async def yutang_validate_checkout(checkout: api.CheckoutContext) -> None:
    """One group-buy line alone, a running activity or a joinable team, within the limit."""
    await _checkout.precheck(checkout)


@api.hookimpl
async def yutang_payment_deadline(
    checkout: api.CheckoutContext, default: datetime
) -> datetime | None:
    """The seat is held for the activity's payment minutes, never past the team's expiry."""
    return await _checkout.payment_deadline(checkout)


@api.hookimpl
async def yutang_reserve_stock(checkout: api.CheckoutContext, order_id: int) -> None:
    """Take the member's quota and a seat."""
    await _checkout.reserve(checkout, order_id)


@api.hookimpl
async def yutang_release_stock(
    tenant: api.TenantInfo, order_id: int, lines: list[dict[str, Any]], reason: str
) -> None:
    """Give the seat and quota back when the order is cancelled or refunded."""
    await _checkout.release(tenant, order_id, lines, reason)


@api.hookimpl
async def yutang_fulfilment_hold(tenant: api.TenantInfo, order_id: int) -> str | None:
    """No shipping or pickup before the team succeeded."""
    return await teams.hold(tenant, order_id)


@api.hookimpl
async def yutang_claim_payment(tenant: api.TenantInfo, order_id: int, payment_id: int) -> None:
    """Declined (the core refunds in full): a cancelled order cannot be revived through
    the plugin API. The payment is recorded on the member's released seat."""
    await _checkout.note_late_payment(tenant, order_id, payment_id)


@api.hookimpl
async def yutang_accept_payment(tenant: api.TenantInfo, order_id: int, paid_at: datetime) -> None:
    """Open the leader's team or confirm the seat in the payment's transaction."""
    await teams.settle_payment(tenant, order_id, paid_at, late_rule=False)


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Apply the late-payment rule to a seat paid after its team closed."""
    if event.order_id is not None:
        await teams.settle_payment(tenant, event.order_id, event.occurred_at, late_rule=True)


@api.hookimpl
async def yutang_next_price_change(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next start or end of a group buy."""
    return await next_window_edge(tenant, now)
