"""Lottery (抽奖): a points lucky draw with prize stock, caps, audit and published odds.

An activity has a time window, a cost (a points price, free draws per day, draws earned
by paid orders), who may draw (member tags, levels, new members) and per-member caps per
day and in total; its prizes (points, a coupon through the reward hook, goods, or no
prize) have a weight, optional stock and a per-member win cap. A draw is one transaction
under the member's counter row, chooses with the ``secrets`` generator by weight, takes
stock conditionally and keeps the weights and the random value for audit. Points and
coupons are granted at once; goods wait for the winner's claim. Written against
``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

import msgspec

from yutang import api
from yutang.plugins.lottery import demo
from yutang.plugins.lottery.admin import contribution as admin_contribution
from yutang.plugins.lottery.claims import expire_claim
from yutang.plugins.lottery.codes import CODES
from yutang.plugins.lottery.earned import credit_paid_order
from yutang.plugins.lottery.settings import Settings
from yutang.plugins.lottery.storefront import contribution as storefront_contribution


@api.hookimpl
def yutang_models() -> str:
    """Activities, prizes, counters, draws, claims and order credits."""
    return "yutang.plugins.lottery.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """The codes a lucky draw refuses with besides the shared ones."""
    return CODES


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Claim days and pickup for goods prizes."""
    return Settings


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member follows lucky draws and their draw records; owners and
    managers create and stop them and ship won prizes (owners hold every permission)."""
    return [
        api.Permission(
            "lottery.view", "see lucky draws, their prizes and draw records", ("clerk", "manager")
        ),
        api.Permission("lottery.manage", "create and stop lucky draws", ("manager",)),
        api.Permission(
            "lottery.ship",
            "see winners' contact details and mark goods prizes shipped",
            ("manager",),
        ),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, stop and follow activities; draw records; shipping."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Activities with odds, draws left today, drawing, my prizes, claiming."""
    return storefront_contribution()


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """Expire goods prizes not claimed by their deadline."""
    return {"lottery.expire_claim": expire_claim}


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Credit the draws a paid order earns."""
    await credit_paid_order(tenant, event)


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live lottery play."""
    return await demo.seed(tenant, shop)
