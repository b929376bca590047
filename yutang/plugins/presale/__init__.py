"""Deposit presale (定金膨胀): a deposit now that counts for more off the price, the
balance in a window that opens later, both instalments of one order.

An admin puts a SKU on presale: deposit, what it counts for (the deduction), the final
price, the deposit and balance windows, the units and a per-member limit. Members order
it in the deposit window and pay the deposit; the core's payment plan makes the order
``deposit_paid``, announces the balance window when it opens (for reminders) and
forfeits the order when it closes unpaid. A forfeited deposit is kept unless the
presale's policy gives it back; a cancelled presale refunds every deposit whose balance
is still due (orders paid in full stand). Written against ``yutang.api`` only, as any
third-party plugin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yutang import api
from yutang.plugins.presale import demo, lifecycle
from yutang.plugins.presale.activities import WIND_UP
from yutang.plugins.presale.admin import contribution as admin_contribution
from yutang.plugins.presale.checkout import CODES, Presale
from yutang.plugins.presale.storefront import contribution as storefront_contribution
from yutang.plugins.presale.storefront import upcoming_edge

PRESALE = Presale()
"""The one presale activity object: the core lets only it cancel its orders."""


@api.hookimpl
def yutang_models() -> str:
    """Presales, their orders and the member counters."""
    return "yutang.plugins.presale.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """The codes a presale refuses with."""
    return CODES


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member follows presales; owners and managers create and cancel them."""
    return [
        api.Permission("presale.view", "see presales and their counts", ("clerk", "manager")),
        api.Permission("presale.manage", "create and cancel presales", ("manager",)),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, cancel and follow presales."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """A product's presales, my presale orders."""
    return storefront_contribution()


@api.hookimpl
def yutang_activities() -> list[api.Activity[Any]]:
    """Presale lines: the price, the deposit-and-balance plan, the units and the limit."""
    return [PRESALE]


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """The wind-up of a cancelled presale."""

    async def wind_up(tenant: api.TenantInfo | None, payload: dict[str, Any]) -> None:
        assert tenant is not None
        await lifecycle.wind_up(tenant, PRESALE, payload["activity_id"])

    return {WIND_UP: api.outside_transaction(wind_up)}


@api.hookimpl
async def yutang_refund_policy(
    tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
) -> None:
    """A deposit whose balance is unpaid is kept (定金不退) unless the presale says not."""
    await lifecycle.check_refund(tenant, order_id)


@api.hookimpl
async def yutang_instalment_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Count the deposit."""
    if event.order_id is not None:
        await lifecycle.deposit_paid(tenant, event.order_id, event.occurred_at)


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Count the balance."""
    if event.order_id is not None:
        await lifecycle.balance_paid(tenant, event.order_id, event.occurred_at)


@api.hookimpl
async def yutang_order_forfeited(event: api.Event, tenant: api.TenantInfo) -> None:
    """Give the deposit back if the presale's policy says so."""
    if event.order_id is not None:
        await lifecycle.after_forfeit(tenant, event.order_id)


@api.hookimpl
async def yutang_next_price_change(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next window edge of a presale."""
    return await upcoming_edge(tenant, now)


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live presale play."""
    return await demo.seed(tenant, shop)
