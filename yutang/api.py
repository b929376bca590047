"""The public plugin API: everything a plugin may import from Yutang.

The rest of the ``yutang`` package is private and may change without notice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import strawberry
from strawberry.types.field import StrawberryField

from yutang.core.auth import Principal
from yutang.core.clock import now
from yutang.core.errors import DomainError, Forbidden, NotFound
from yutang.core.events import Event, FulfilmentMethod, GraphQLContribution, JobHandler, Reward
from yutang.core.fulfilment import complete_order, fulfil_order
from yutang.core.hookspecs import hookimpl, hookspec
from yutang.core.inputs import convert
from yutang.core.members import change_points, member_info
from yutang.core.models import Sku as _SkuRow
from yutang.core.models.base import TenantModel, Timestamped
from yutang.core.money import Money, apportion, format_money, percent_of
from yutang.core.outbox import schedule as schedule_job
from yutang.core.payments import Capture, PaymentIntent, PaymentProvider
from yutang.core.pricing import (
    ActivityRef,
    CheckoutContext,
    CheckoutLine,
    Draft,
    DraftLine,
    MemberInfo,
    PriceStep,
    Stage,
)
from yutang.core.refunds import refund_order
from yutang.core.rewards import grant_reward, revoke_reward
from yutang.core.tenancy import TenantInfo
from yutang.core.views import (
    LineView,
    OrderView,
    StoreView,
    order_view,
    order_views,
    staff_role,
    store_views,
)
from yutang.core.worker import outside_transaction
from yutang.graphql.context import Context
from yutang.graphql.ids import from_global, pk_of, to_global
from yutang.graphql.types import Connection, Node, UserError, after_pk, connection
from yutang.graphql.types import Money as MoneyType

Info = strawberry.Info[Context, None]


class SkuSummary(msgspec.Struct, frozen=True):
    """A SKU as a plugin may read it: its product, list price, stock and whether it is on sale."""

    id: int
    product_id: int
    product_name: str
    price: int
    stock: int
    published: bool


async def sku_summaries(tenant: TenantInfo, ids: Iterable[int]) -> dict[int, SkuSummary]:
    """This tenant's SKUs among ``ids`` by id, in one query; foreign or unknown ids are absent."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await _SkuRow.filter(tenant_id=tenant.id, id__in=wanted).values(
        "id", "product_id", "product__name", "price", "stock", "product__published"
    )
    return {
        r["id"]: SkuSummary(
            id=r["id"],
            product_id=r["product_id"],
            product_name=r["product__name"],
            price=r["price"],
            stock=r["stock"],
            published=r["product__published"],
        )
        for r in rows
    }


def field(
    resolver: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> StrawberryField:
    """A GraphQL field for a contribution, named after its resolver unless ``name``."""
    f: StrawberryField = strawberry.field(resolver=resolver, name=name, description=description)
    f.python_name = resolver.__name__
    return f


def mutation(
    resolver: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> StrawberryField:
    """A GraphQL mutation field for a contribution."""
    f: StrawberryField = strawberry.mutation(resolver=resolver, name=name, description=description)
    f.python_name = resolver.__name__
    return f


__all__ = [
    "ActivityRef",
    "Capture",
    "CheckoutContext",
    "CheckoutLine",
    "Connection",
    "Context",
    "DomainError",
    "Draft",
    "DraftLine",
    "Event",
    "Forbidden",
    "FulfilmentMethod",
    "GraphQLContribution",
    "Info",
    "JobHandler",
    "LineView",
    "MemberInfo",
    "Money",
    "MoneyType",
    "Node",
    "NotFound",
    "OrderView",
    "PaymentIntent",
    "PaymentProvider",
    "PriceStep",
    "Principal",
    "Reward",
    "SkuSummary",
    "Stage",
    "StoreView",
    "TenantInfo",
    "TenantModel",
    "Timestamped",
    "UserError",
    "after_pk",
    "apportion",
    "change_points",
    "complete_order",
    "connection",
    "convert",
    "field",
    "format_money",
    "from_global",
    "fulfil_order",
    "grant_reward",
    "hookimpl",
    "hookspec",
    "member_info",
    "mutation",
    "now",
    "order_view",
    "order_views",
    "outside_transaction",
    "percent_of",
    "pk_of",
    "refund_order",
    "revoke_reward",
    "schedule_job",
    "sku_summaries",
    "staff_role",
    "store_views",
    "to_global",
]
