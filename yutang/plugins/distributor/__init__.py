"""Distributor (分销员): promoters, the members they bring, and commission that follows
refunds.

A member becomes a promoter by applying (staff approve), automatically or by a spend
threshold — never by paying; staff promote for their store. Members are bound to the
promoter whose link or code brought them (first-link-wins, latest-link-wins or
sign-up-only, with expiry and a protection period; no self-binding, no loops). An order
snapshots its promoters (two levels at most) when placed; each line earns on what it
paid, as a percentage or a fixed amount per unit per SKU. Commission is pending when the
order is paid, frozen from completion, available after ``freeze_hours`` (a durable job),
reversed by refunds of its lines even after that. The ledger only appends; withdrawals
reserve the balance when requested. Written against ``yutang.api`` only.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pluggy

from yutang import api
from yutang.plugins.distributor import binding, commission, payout, promoters, withdrawals
from yutang.plugins.distributor.admin import contribution as admin_contribution
from yutang.plugins.distributor.codes import CODES
from yutang.plugins.distributor.settings import Settings, settings_of
from yutang.plugins.distributor.storefront import contribution as storefront_contribution


class RegisterInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The promoter's invite code that brought the member."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


@api.hookimpl
def yutang_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """``yutang_distributor_payout``, for plugins that transfer withdrawals."""
    plugin_manager.add_hookspecs(payout)


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    """The codes binding, promoting and withdrawing refuse with."""
    return CODES


@api.hookimpl
def yutang_models() -> str:
    """Promoters, bindings, rules, order snapshots, commissions, ledger, withdrawals."""
    return "yutang.plugins.distributor.models"


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """Promoter, binding, commission, freeze and withdrawal rules."""
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """The invite code given when registering."""
    return RegisterInput if operation == "register" else None


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """My promoter status, team, commissions and withdrawals; apply, bind, withdraw."""
    return storefront_contribution()


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    """Every staff member sees promoters, bindings, commissions and the ranking; owners and
    managers review and appoint promoters and set SKU rules, and see, review and pay
    withdrawals, whose payout accounts no clerk reads (owners hold every permission)."""
    return [
        api.Permission(
            "distributor.view",
            "see promoters, bindings, commissions and the ranking",
            ("clerk", "manager"),
        ),
        api.Permission(
            "distributor.manage",
            "review and appoint promoters and set SKU commission rules",
            ("manager",),
        ),
        api.Permission(
            "distributor.withdrawals",
            "see promoters' withdrawals with their payout accounts, approve, reject and "
            "mark them paid",
            ("manager",),
        ),
    ]


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    """Promoters, rules, bindings, commissions, withdrawals and the sales ranking."""
    return admin_contribution()


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """Releasing frozen commission, and paying withdrawals out."""
    return {commission.RELEASE_JOB: commission.release, withdrawals.PAYOUT_JOB: withdrawals.pay_out}


@api.hookimpl
async def yutang_reserve(checkout: api.CheckoutContext, order_id: int) -> None:
    """Snapshot the order's promoters and rules, in placeOrder's transaction."""
    await commission.snapshot(checkout, order_id)


@api.hookimpl
async def yutang_accept_member(
    tenant: api.TenantInfo, member_id: int, extensions: dict[str, msgspec.Struct]
) -> None:
    """An invite code binds the member in the registration's transaction, so their very
    first order is attributed; a bad code binds no one rather than refusing the sign-up."""
    given = extensions.get("distributor")
    if isinstance(given, RegisterInput):
        try:
            await binding.bind(tenant, member_id, given.code, "register")
        except api.DomainError:
            return


@api.hookimpl
async def yutang_member_registered(event: api.Event, tenant: api.TenantInfo) -> None:
    """Auto mode enrols every new member."""
    assert event.member_id is not None
    if settings_of(tenant).promoter_mode == "auto":
        await promoters.enrol(tenant, event.member_id, "auto")


@api.hookimpl
async def yutang_order_paid(event: api.Event, tenant: api.TenantInfo) -> None:
    """Pending commission for the order; spend mode enrols a member past the threshold."""
    assert event.order_id is not None and event.member_id is not None
    await commission.accrue(tenant, event.order_id)
    settings = settings_of(tenant)
    if settings.promoter_mode == "spend" and "distributor" in tenant.plugins:
        info = await api.member_info(tenant, event.member_id)
        if info.paid_spend >= settings.spend_threshold:
            await promoters.enrol(tenant, event.member_id, "spend")


@api.hookimpl
async def yutang_order_completed(event: api.Event, tenant: api.TenantInfo) -> None:
    """Freeze the order's commission until the after-sale window is over."""
    assert event.order_id is not None
    await commission.freeze(tenant, event.order_id, event.occurred_at)


@api.hookimpl
async def yutang_order_refunded(event: api.Event, tenant: api.TenantInfo) -> None:
    """Reverse the commission of exactly the refunded lines."""
    assert event.order_id is not None
    data: dict[str, Any] = event.data
    await commission.reverse(tenant, event.order_id, data["refund_id"], data["lines"])
