"""Seckill (秒杀): timed sessions selling SKUs at an activity price from their own stock.

An activity has a time window, sessions (daily slots in the tenant's time zone, which may
cross midnight, or one-off datetimes) and items: a SKU, its activity price and the
activity units of each occurrence. A checkout line refers to an item with
``activity: {plugin: "seckill", ref: <SeckillItem ID>}``; it gets the activity price only
while the item's session is open, is exclusive of member prices, promotions and coupons,
and takes activity units and the member's quota (unpaid orders count) atomically in the
order's transaction. Cancel, timeout and refund give both back. With the optional Redis
gate, sold-out items and members at their limit are refused at admission, before any
transaction. Written against ``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from yutang import api
from yutang.plugins.seckill import checkout as _checkout
from yutang.plugins.seckill import demo
from yutang.plugins.seckill.admin import contribution as admin_contribution
from yutang.plugins.seckill.settings import Settings
from yutang.plugins.seckill.storefront import contribution as storefront_contribution
from yutang.plugins.seckill.storefront import next_price_change


@api.hookimpl
def yutang_models() -> str:
    """Activities, sessions, items and their counters."""
    return "yutang.plugins.seckill.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """No codes of its own: everything a seckill line is refused with is shared."""
    return _checkout.CODES


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Defaults for new activities and the optional Redis gate."""
    return Settings


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member follows activities; owners and managers create and stop them
    (owners hold every permission)."""
    return [
        api.Permission("seckill.view", "see activities and their figures", ("clerk", "manager")),
        api.Permission("seckill.manage", "create and stop activities", ("manager",)),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, stop and follow activities."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Today's and tomorrow's sessions, and the open seckill price on products and SKUs."""
    return storefront_contribution()


@api.hookimpl
def yutang_activities() -> list[api.Activity[Any]]:
    """Seckill lines: the activity price, the short payment timeout, activity units and the
    member's quota, given back on cancel, timeout and refund."""
    return [_checkout.Seckill()]


@api.hookimpl
async def yutang_order_paid(event: api.Event) -> None:
    """Count the order's units as sold."""
    await _checkout.mark_paid(event)


@api.hookimpl
async def yutang_next_price_change(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next session start or end."""
    return await next_price_change(tenant, now)


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live seckill play."""
    return await demo.seed(tenant, shop)
