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
from yutang.plugins.groupbuy import demo, teams
from yutang.plugins.groupbuy.admin import contribution as admin_contribution
from yutang.plugins.groupbuy.settings import Settings
from yutang.plugins.groupbuy.storefront import contribution as storefront_contribution
from yutang.plugins.groupbuy.storefront import next_window_edge


@api.hookimpl
def yutang_models() -> str:
    """Activities, items, teams, seats and member counters."""
    return "yutang.plugins.groupbuy.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """The codes a group buy refuses with."""
    return _checkout.CODES


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """The default seat hold and the bounds of team size and validity."""
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """``extensions.groupbuy.team``: the team a checkout joins."""
    return _checkout.GroupbuyInput if operation == "checkout" else None


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member follows group-buy activities; owners and managers create and
    stop them (owners hold every permission)."""
    return [
        api.Permission(
            "groupbuy.view", "see group-buy activities and their teams", ("clerk", "manager")
        ),
        api.Permission("groupbuy.manage", "create and stop group-buy activities", ("manager",)),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, stop and follow activities and their teams."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Offers and open teams of a product, a team's page, my teams."""
    return storefront_contribution()


@api.hookimpl
def yutang_activities() -> list[api.Activity[Any]]:
    """Group-buy lines: the group or leader price, the seat and the quota, the hold on
    fulfilment until the team succeeded, the team opening with the leader's payment."""
    return [_checkout.Groupbuy()]


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """Team expiry, and the refund of each paid member of a failed team."""
    return {"groupbuy.expire": teams.expire, "groupbuy.refund": teams.refund}


@api.hookimpl
def yutang_validate_checkout(checkout: api.CheckoutContext) -> None:
    """Joining a team needs a group-buy line."""
    _checkout.check_input(checkout)


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Apply the late-payment rule to a seat paid after its team closed."""
    if event.order_id is not None:
        await teams.settle_payment(tenant, event.order_id, event.occurred_at, late_rule=True)


@api.hookimpl
async def yutang_next_price_change(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next start or end of a group buy."""
    return await next_window_edge(tenant, now)


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live groupbuy play."""
    return await demo.seed(tenant, shop)
