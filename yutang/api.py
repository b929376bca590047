"""The public plugin API: everything a plugin may import from Yutang.

The rest of the ``yutang`` package is private and may change without notice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types.field import StrawberryField

from yutang.core import gateways
from yutang.core.auth import Principal
from yutang.core.clock import now
from yutang.core.contract import (
    Activity,
    ActivityRef,
    CheckoutContext,
    CheckoutLine,
    DemoShop,
    Draft,
    DraftLine,
    ErrorCodes,
    Event,
    FulfilmentMethod,
    GraphQLContribution,
    Instalment,
    JobHandler,
    LineInput,
    MemberInfo,
    NodeType,
    Permission,
    PriceStep,
    ReleasedLine,
    Reward,
    RewardKind,
    SkuSummary,
    Stage,
    TenantInfo,
    VerificationProvider,
    outside_transaction,
)
from yutang.core.db import check_constraints
from yutang.core.errors import DomainError, Forbidden, NotFound, TooManyAttempts
from yutang.core.fulfilment import complete_order, fulfil_order
from yutang.core.hookspecs import hookimpl, hookspec
from yutang.core.inputs import bounded, convert, one_of
from yutang.core.members import change_points, member_info
from yutang.core.models.base import TenantModel, Timestamped
from yutang.core.money import Money, apportion, format_money, percent_of
from yutang.core.orders import cancel_owned as cancel_order
from yutang.core.outbox import schedule as schedule_job
from yutang.core.payment_contract import (
    CallbackAnswer,
    Capture,
    GatewayContext,
    GatewayPayment,
    Notification,
    PaymentIntent,
    PaymentProvider,
    PaymentRequest,
    RefundRequest,
    RefundState,
)
from yutang.core.plugins import hooks_of
from yutang.core.refunds import refund_order
from yutang.core.regions import Destination
from yutang.core.rewards import grant_reward, revoke_reward
from yutang.core.schedules import Cron, Queue, Recurring
from yutang.core.views import (
    LineView,
    OrderView,
    ProductView,
    StoreView,
    masked_member_names,
    member_joined_at,
    order_view,
    order_views,
    orders_with_open_refunds,
    product_views,
    sku_summaries,
    staff_role,
    store_views,
)
from yutang.graphql import permissions
from yutang.graphql.context import Context
from yutang.graphql.ids import from_global, pk_of, to_global
from yutang.graphql.permissions import ANY_STAFF, Requires
from yutang.graphql.statuses import ActivityStatus, OrderStatus
from yutang.graphql.types import Connection, Node, UserError, after_pk, connection, keyset_page
from yutang.graphql.types import Money as MoneyType

Info = strawberry.Info[Context, None]


def field(
    resolver: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    permission: str | None = None,
) -> StrawberryField:
    """A GraphQL field for a contribution, named after its resolver unless ``name``.

    An admin field names the ``permission`` it requires (declared in
    ``yutang_permissions``), checked before the resolver runs; the admin schema refuses a
    field without one. ``api.ANY_STAFF`` lets any of the tenant's staff in."""
    extensions: list[FieldExtension] = [] if permission is None else [Requires(permission)]
    f: StrawberryField = strawberry.field(
        resolver=resolver, name=name, description=description, extensions=extensions
    )
    f.python_name = resolver.__name__
    return f


def mutation(
    resolver: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    permission: str | None = None,
) -> StrawberryField:
    """A GraphQL mutation field for a contribution; an admin mutation names its
    ``permission`` as :func:`field` does, and each one that goes through is written to
    the audit log."""
    extensions: list[FieldExtension] = (
        [] if permission is None else [Requires(permission, audited=True)]
    )
    f: StrawberryField = strawberry.mutation(
        resolver=resolver, name=name, description=description, extensions=extensions
    )
    f.python_name = resolver.__name__
    return f


async def gateway_context(tenant: TenantInfo, provider: str) -> GatewayContext:
    """The context of a call a payment provider's plugin makes to its own gateway beyond
    payments (a transfer that pays a withdrawal out): the tenant's credentials, opened;
    PROVIDER_NOT_CONFIGURED until its owner has set them."""
    return await gateways.context(tenant, provider, installed=True)


async def first_answer(tenant: TenantInfo, hook: str, /, **kwargs: Any) -> Any:
    """Call a hook a plugin declared itself (``yutang_add_hookspecs``, e.g. the
    distributor's payout provider) on the tenant's plugins, in order, until one answers
    something other than None; that answer, or None."""
    return await hooks_of(tenant).first(hook, **kwargs)


async def require_permission(info: Info, permission: str) -> Principal:
    """The caller if they hold ``permission`` (declared in ``yutang_permissions``).

    The field's own permission is checked before its resolver runs; call this for a
    second one. Anyone else gets UNAUTHENTICATED or FORBIDDEN; an undeclared permission
    raises LookupError (a bug)."""
    await permissions.require(info.context, permission)
    return await _caller(info)


async def holds(info: Info, permission: str) -> bool:
    """Whether the caller holds ``permission``: to show more to those who do (a winner's
    address to who ships prizes) on a field that requires less."""
    return await permissions.holds(info.context, permission)


async def require_store(info: Info, permission: str, store_id: int | None) -> Principal:
    """The caller if they hold ``permission`` for an object of ``store_id`` (None: of no
    store): a role bound to its stores, as a clerk is, reaches its own stores only."""
    await permissions.require_store(info.context, permission, store_id)
    return await _caller(info)


async def _caller(info: Info) -> Principal:
    principal = await info.context.principal()
    assert principal is not None, "permissions are held by a caller"
    return principal


async def store_scope(info: Info, permission: str) -> frozenset[int] | None:
    """The stores whose objects the caller reaches through ``permission`` (a list of
    them filters on these), or None for every store and none."""
    return await permissions.store_scope(info.context, permission)


__all__ = [
    "ANY_STAFF",
    "Activity",
    "ActivityRef",
    "ActivityStatus",
    "CallbackAnswer",
    "Capture",
    "CheckoutContext",
    "CheckoutLine",
    "Connection",
    "Context",
    "Cron",
    "DemoShop",
    "Destination",
    "DomainError",
    "Draft",
    "DraftLine",
    "ErrorCodes",
    "Event",
    "Forbidden",
    "FulfilmentMethod",
    "GatewayContext",
    "GatewayPayment",
    "GraphQLContribution",
    "Info",
    "Instalment",
    "JobHandler",
    "LineInput",
    "LineView",
    "MemberInfo",
    "Money",
    "MoneyType",
    "Node",
    "NodeType",
    "NotFound",
    "Notification",
    "OrderStatus",
    "OrderView",
    "PaymentIntent",
    "PaymentProvider",
    "PaymentRequest",
    "Permission",
    "PriceStep",
    "Principal",
    "ProductView",
    "Queue",
    "Recurring",
    "RefundRequest",
    "RefundState",
    "ReleasedLine",
    "Reward",
    "RewardKind",
    "SkuSummary",
    "Stage",
    "StoreView",
    "TenantInfo",
    "TenantModel",
    "Timestamped",
    "TooManyAttempts",
    "UserError",
    "VerificationProvider",
    "after_pk",
    "apportion",
    "bounded",
    "cancel_order",
    "change_points",
    "check_constraints",
    "complete_order",
    "connection",
    "convert",
    "field",
    "first_answer",
    "format_money",
    "from_global",
    "fulfil_order",
    "gateway_context",
    "grant_reward",
    "holds",
    "hookimpl",
    "hookspec",
    "keyset_page",
    "masked_member_names",
    "member_info",
    "member_joined_at",
    "mutation",
    "now",
    "one_of",
    "order_view",
    "order_views",
    "orders_with_open_refunds",
    "outside_transaction",
    "percent_of",
    "pk_of",
    "product_views",
    "refund_order",
    "require_permission",
    "require_store",
    "revoke_reward",
    "schedule_job",
    "sku_summaries",
    "staff_role",
    "store_scope",
    "store_views",
    "to_global",
]
