"""Storefront GraphQL: a product's presales, and the member's presale orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.presale.checkout import ACTIVITY
from yutang.plugins.presale.models import PresaleActivity, PresaleOrder
from yutang.plugins.presale.nodes import PresaleNode, presale_node

STATUS_OF_ORDER = MappingProxyType(
    {
        "pending_payment": "deposit_due",
        "deposit_paid": "deposit_paid",
        "paid": "balance_paid",
        "fulfilled": "balance_paid",
        "completed": "balance_paid",
        "cancelled": "released",
        "forfeited": "forfeited",
        "refunded": "refunded",
    }
)
"""The member's view of a presale order, read from the order itself (never behind)."""


@strawberry.enum(name="PresaleOrderStatus")
class OrderStatus(Enum):
    DEPOSIT_DUE = strawberry.enum_value("deposit_due", description="The deposit is unpaid.")
    DEPOSIT_PAID = strawberry.enum_value("deposit_paid", description="The balance is due.")
    BALANCE_PAID = "balance_paid"
    RELEASED = strawberry.enum_value("released", description="Cancelled unpaid.")
    FORFEITED = strawberry.enum_value(
        "forfeited", description="The balance went unpaid in its window."
    )
    REFUNDED = "refunded"


@strawberry.type(name="PresaleOrder", description="A member's order in a presale.")
class OrderNode:
    order_id: strawberry.ID
    presale: PresaleNode
    quantity: int
    deposit: api.MoneyType = strawberry.field(description="The deposits of its units.")
    balance: api.MoneyType = strawberry.field(description="The rest, fees included.")
    status: OrderStatus


async def upcoming_edge(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next window edge of a live presale: its phase (and a product's page) changes
    then (a response cache's expiry)."""
    rows = await PresaleActivity.filter(
        tenant_id=tenant.id, cancelled_at__isnull=True, balance_ends_at__gt=now
    ).values_list("deposit_starts_at", "deposit_ends_at", "balance_starts_at", "balance_ends_at")
    return min((t for edges in rows for t in edges if t > now), default=None)


async def product_presales(root: Any, info: api.Info) -> list[PresaleNode]:
    """The product's presales that have not ended, soonest window first."""
    ctx = info.context
    tenant = ctx.tenant

    async def load(keys: Sequence[int]) -> list[list[PresaleNode]]:
        now = api.now()
        rows = await PresaleActivity.filter(
            tenant_id=tenant.id,
            product_id__in=list(keys),
            cancelled_at__isnull=True,
            balance_ends_at__gt=now,
        ).order_by("deposit_starts_at", "id")
        found: dict[int, list[PresaleNode]] = defaultdict(list)
        for r in rows:
            found[r.product_id].append(presale_node(tenant, r, now))
        return [found[k] for k in keys]

    result: list[PresaleNode] = await ctx.loader("presale.product", load).load(root.pk)
    return result


async def _live(info: api.Info, pk: int) -> PresaleNode | None:
    """A presale that has not ended, as a product's ``presales`` lists it."""
    tenant = info.context.tenant
    now = api.now()
    row = await PresaleActivity.get_or_none(
        tenant_id=tenant.id, id=pk, cancelled_at__isnull=True, balance_ends_at__gt=now
    )
    return presale_node(tenant, row, now) if row else None


async def my_presale_orders(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[OrderNode]:
    """My presale orders, newest first."""
    ctx = info.context
    tenant = ctx.tenant
    member_id = await ctx.member_id()
    query = PresaleOrder.filter(tenant_id=tenant.id, member_id=member_id)
    return await api.keyset_page(
        query.select_related("activity"), first, after, lambda rows: _orders(tenant, rows)
    )


async def _orders(tenant: api.TenantInfo, rows: list[PresaleOrder]) -> list[OrderNode]:
    views = await api.order_views(tenant, [r.order_id for r in rows])
    now = api.now()
    return [
        OrderNode(
            order_id=strawberry.ID(api.to_global("Order", r.order_id)),
            presale=presale_node(tenant, r.activity, now),
            quantity=r.quantity,
            deposit=api.MoneyType.of(r.deposit, tenant.currency),
            balance=api.MoneyType.of(views[r.order_id].total - r.deposit, tenant.currency),
            status=OrderStatus(STATUS_OF_ORDER[views[r.order_id].status]),
        )
        for r in rows
    ]


def contribution() -> api.GraphQLContribution:
    """The storefront schema's presale fields."""
    return api.GraphQLContribution(
        query=[api.field(my_presale_orders, description="The logged-in member's presale orders.")],
        extend={
            "Product": [
                api.field(
                    product_presales,
                    name="presales",
                    description="Presales of this product that have not ended, with the "
                    "server time for countdowns.",
                )
            ]
        },
        nodes=[api.NodeType(PresaleNode, _live, tag=ACTIVITY)],
    )
