"""Storefront GraphQL: a product's presales, and the member's presale orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import strawberry

from yutang import api
from yutang.plugins.presale.models import PresaleActivity, PresaleOrder
from yutang.plugins.presale.nodes import PresaleNode, presale_node

MAX_ORDERS = 50
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


@strawberry.type(name="PresaleOrder", description="A member's order in a presale.")
class OrderNode:
    order_id: strawberry.ID
    presale: PresaleNode
    quantity: int
    deposit: api.MoneyType = strawberry.field(description="The deposits of its units.")
    balance: api.MoneyType = strawberry.field(description="The rest, fees included.")
    status: str = strawberry.field(
        description="deposit_due, deposit_paid, balance_paid, released (cancelled unpaid), "
        "forfeited (balance unpaid in its window) or refunded."
    )


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


async def my_presale_orders(info: api.Info, first: int = 20) -> list[OrderNode]:
    """My presale orders, newest first."""
    ctx = info.context
    tenant = ctx.tenant
    member_id = await ctx.member_id()
    rows = (
        await PresaleOrder.filter(tenant_id=tenant.id, member_id=member_id)
        .order_by("-id")
        .limit(max(1, min(first, MAX_ORDERS)))
        .select_related("activity")
    )
    views = await api.order_views(tenant, [r.order_id for r in rows])
    now = api.now()
    return [
        OrderNode(
            order_id=strawberry.ID(api.to_global("Order", r.order_id)),
            presale=presale_node(tenant, r.activity, now),
            quantity=r.quantity,
            deposit=api.MoneyType.of(r.deposit, tenant.currency),
            balance=api.MoneyType.of(views[r.order_id].total - r.deposit, tenant.currency),
            status=STATUS_OF_ORDER[views[r.order_id].status],
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
    )
