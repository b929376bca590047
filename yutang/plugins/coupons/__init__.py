"""Coupons (优惠券): templates, claims under conditional counters, one coupon per order.

A template is a fixed amount or a percentage (with a maximum) off, above a minimum spend,
over a scope of goods, valid on fixed dates or for N days from claim, with a total and a
per-member limit. Members claim coupons and choose one per order with
``extensions: {"coupons": {"couponId": ...}}``; in the COUPON stage its minimum spend is
measured on the eligible in-scope lines after order promotions. placeOrder locks it, payment
uses it, a cancel or timeout gives it back (a full refund too when the template says so).
Other plugins grant coupons through the reward hook (kind ``coupon``, ``item`` the
template's ID). Written against ``yutang.api`` only.
"""

from __future__ import annotations

import msgspec

from yutang import api
from yutang.plugins.coupons import checkout as _checkout
from yutang.plugins.coupons import demo, issue
from yutang.plugins.coupons.admin import contribution as admin_contribution
from yutang.plugins.coupons.settings import Settings
from yutang.plugins.coupons.storefront import contribution as storefront_contribution

KIND = "coupon"


@api.hookimpl
def yutang_models() -> str:
    """Templates, claim counters and coupons."""
    return "yutang.plugins.coupons.models"


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """The codes a coupon is refused with besides the shared ones."""
    return _checkout.CODES


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Limits on templates and quote hints."""
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """The coupon a checkout uses."""
    return _checkout.CheckoutInput if operation == "checkout" else None


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member sees coupon templates and their counts; owners and managers
    create and stop them (owners hold every permission)."""
    return [
        api.Permission(
            "coupons.view", "see coupon templates and their counts", ("clerk", "manager")
        ),
        api.Permission("coupons.manage", "create and stop coupon templates", ("manager",)),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Create, stop and list templates."""
    return admin_contribution()


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """Claimable templates, claiming, the member's coupons."""
    return storefront_contribution()


@api.hookimpl
def yutang_price_steps() -> list[api.PriceStep]:
    """The coupon step."""
    return [api.PriceStep(api.Stage.COUPON, _checkout.apply_coupon, priority=100)]


@api.hookimpl
async def yutang_reserve(checkout: api.CheckoutContext, order_id: int) -> None:
    """The order locks its coupon."""
    await _checkout.lock(checkout, order_id)


@api.hookimpl
async def yutang_release(tenant: api.TenantInfo, order_id: int, reason: str) -> None:
    """A cancelled, timed-out or forfeited order (never paid in full) gives its coupon
    back."""
    if reason in ("cancelled", "forfeited"):
        await _checkout.give_back(tenant, order_id, ("locked",))


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """The paid order's coupon is used."""
    if event.order_id is not None:
        await _checkout.mark_used(tenant, event.order_id)


@api.hookimpl
async def yutang_order_refunded(event: api.Event, tenant: api.TenantInfo) -> None:
    """A full refund gives the coupon back if its template says so."""
    if event.order_id is not None and event.data.get("full"):
        await _checkout.refunded(tenant, event.order_id)


class Coupons(api.RewardKind):
    """Coupons as rewards (full-reduction gifts, lottery prizes): ``item`` is the template's
    ID, ``amount`` how many."""

    kind = KIND

    async def grant(self, tenant: api.TenantInfo, member_id: int, reward: api.Reward) -> None:
        """Issue the coupons (once per reference)."""
        await issue.grant(tenant, member_id, reward)

    async def revoke(self, tenant: api.TenantInfo, member_id: int, reward: api.Reward) -> None:
        """Void the reward's coupons that are still unused."""
        await issue.revoke(tenant, member_id, reward)


@api.hookimpl
def yutang_reward_kinds() -> list[api.RewardKind]:
    """Coupons."""
    return [Coupons()]


@api.hookimpl
async def yutang_demo_data(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """The demo tenant's live coupons play."""
    return await demo.seed(tenant, shop)
