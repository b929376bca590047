"""Storefront GraphQL: a product's offers and open teams, a team's page, my teams.

Fields on core types batch through DataLoaders: a page of products costs the same few
queries whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from tortoise.expressions import F

from yutang import api
from yutang.plugins.groupbuy.activities import running
from yutang.plugins.groupbuy.checkout import TEAM
from yutang.plugins.groupbuy.models import (
    OPEN,
    GroupbuyActivity,
    GroupbuyItem,
    GroupbuySeat,
    GroupbuyTeam,
)
from yutang.plugins.groupbuy.nodes import ItemNode, TeamNode, item_node, team_nodes

MAX_TEAMS = 50
MAX_SCAN = 500


@strawberry.type(
    name="GroupbuyOffer",
    description='A running group buy of a product: buy an item (`{plugin: "groupbuy", ref}`) '
    "to open a team, or add `extensions: {groupbuy: {team}}` to join one.",
)
class Offer:
    activity_id: strawberry.ID
    name: str
    team_size: int
    validity_minutes: int
    member_limit: int
    ends_at: datetime
    items: list[ItemNode]


@strawberry.enum(name="GroupbuySeatStatus")
class SeatStatus(Enum):
    HELD = strawberry.enum_value("held", description="Held for an unpaid order.")
    PAID = "paid"
    RELEASED = strawberry.enum_value("released", description="Given up: the order was cancelled.")
    REFUNDED = "refunded"


@strawberry.type(name="GroupbuyMembership", description="My seat in a team.")
class Membership:
    team: TeamNode
    order_id: strawberry.ID
    seat: SeatStatus
    leader: bool
    quantity: int
    moved: bool = strawberry.field(
        description="Paid after the first team closed, so seated in another or a new team."
    )
    late_payment_refunded: bool = strawberry.field(
        description="Paid after the order was cancelled; that payment is refunded in full."
    )


async def next_window_edge(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next start or end of an activity that is not stopped: the group price a
    product shows appears or goes then (a response cache's expiry)."""
    windows = await GroupbuyActivity.filter(
        tenant_id=tenant.id, stopped_at__isnull=True, ends_at__gt=now
    ).values_list("starts_at", "ends_at")
    return min((t for pair in windows for t in pair if t > now), default=None)


async def offers(tenant: api.TenantInfo, product_ids: Sequence[int]) -> list[list[Offer]]:
    """Running group buys of each product, in two queries."""
    now = api.now()
    items = await GroupbuyItem.filter(
        tenant_id=tenant.id,
        product_id__in=set(product_ids),
        activity__stopped_at__isnull=True,
        activity__starts_at__lte=now,
        activity__ends_at__gt=now,
    ).order_by("activity_id", "position")
    activities = {
        a.id: a
        for a in await GroupbuyActivity.filter(
            tenant_id=tenant.id, id__in={i.activity_id for i in items}
        )
    }
    found: dict[int, dict[int, list[ItemNode]]] = defaultdict(lambda: defaultdict(list))
    for it in items:
        found[it.product_id][it.activity_id].append(item_node(tenant, it))
    return [
        [
            Offer(
                activity_id=strawberry.ID(api.to_global("GroupbuyActivity", a.id)),
                name=a.name,
                team_size=a.team_size,
                validity_minutes=a.validity_minutes,
                member_limit=a.member_limit,
                ends_at=a.ends_at,
                items=nodes,
            )
            for activity_id, nodes in found[pid].items()
            if running(a := activities[activity_id], now)
        ]
        for pid in product_ids
    ]


async def open_teams(
    tenant: api.TenantInfo, product_ids: Sequence[int], first: int
) -> list[list[TeamNode]]:
    """Joinable teams of each product, the fullest (then the soonest to expire) first."""
    now = api.now()
    pairs = await GroupbuyItem.filter(
        tenant_id=tenant.id, product_id__in=set(product_ids), activity__stopped_at__isnull=True
    ).values_list("product_id", "activity_id")
    teams = (
        await GroupbuyTeam.filter(
            tenant_id=tenant.id,
            activity_id__in={a for _, a in pairs},
            status=OPEN,
            expires_at__gt=now,
            seats__lt=F("size"),
        )
        .order_by("-seats", "expires_at", "id")
        .limit(MAX_SCAN)
    )
    nodes = dict(zip([t.id for t in teams], await team_nodes(tenant, teams), strict=True))
    per_activity: dict[int, list[int]] = defaultdict(list)
    for t in teams:
        per_activity[t.activity_id].append(t.id)
    activities_of: dict[int, set[int]] = defaultdict(set)
    for pid, aid in pairs:
        activities_of[pid].add(aid)
    result = []
    for pid in product_ids:
        ids = sorted(
            (tid for aid in activities_of[pid] for tid in per_activity[aid]),
            key=lambda tid: (nodes[tid].seats_left, nodes[tid].expires_at, tid),
        )
        result.append([nodes[tid] for tid in ids[:first]])
    return result


async def groupbuy(root: Any, info: api.Info) -> list[Offer]:
    """The product's running group buys."""
    ctx = info.context

    async def load(keys: Sequence[int]) -> list[list[Offer]]:
        return await offers(ctx.tenant, keys)

    found: list[Offer] = await ctx.loader("groupbuy.offers", load).load(root.pk)
    return found


async def groupbuy_teams(root: Any, info: api.Info, first: int = 10) -> list[TeamNode]:
    """Open teams of the product with a free seat, to join instead of opening one."""
    ctx = info.context
    first = max(0, min(first, MAX_TEAMS))

    async def load(keys: Sequence[int]) -> list[list[TeamNode]]:
        return await open_teams(ctx.tenant, keys, first)

    found: list[TeamNode] = await ctx.loader(("groupbuy.teams", first), load).load(root.pk)
    return found


async def groupbuy_team(info: api.Info, id: strawberry.ID) -> TeamNode | None:
    """A team's page (what a share link opens): members masked, seats left, expiry, state."""
    return await _team(info, api.pk_of(id, TEAM, "id"))


async def _team(info: api.Info, pk: int) -> TeamNode | None:
    ctx = info.context
    row = await GroupbuyTeam.get_or_none(tenant_id=ctx.tenant.id, id=pk)
    return (await team_nodes(ctx.tenant, [row]))[0] if row else None


async def my_groupbuy_teams(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[Membership]:
    """My seats in teams, newest first."""
    ctx = info.context
    member_id = await ctx.member_id()
    query = GroupbuySeat.filter(tenant_id=ctx.tenant.id, member_id=member_id)
    return await api.keyset_page(query, first, after, lambda seats: _memberships(ctx, seats))


async def _memberships(ctx: api.Context, seats: list[GroupbuySeat]) -> list[Membership]:
    teams = await GroupbuyTeam.filter(tenant_id=ctx.tenant.id, id__in={s.team_id for s in seats})
    nodes = dict(zip([t.id for t in teams], await team_nodes(ctx.tenant, teams), strict=True))
    return [
        Membership(
            team=nodes[s.team_id],
            order_id=strawberry.ID(api.to_global("Order", s.order_id)),
            seat=SeatStatus(s.status),
            leader=s.leader,
            quantity=s.quantity,
            moved=s.moved_from_id is not None,
            late_payment_refunded=s.late_payment_id is not None,
        )
        for s in seats
    ]


async def groupbuy_team_of_order(root: Any, info: api.Info) -> TeamNode | None:
    """The team this order bought a seat in, if any."""
    ctx = info.context

    async def load(order_ids: Sequence[int]) -> list[TeamNode | None]:
        seats = await GroupbuySeat.filter(tenant_id=ctx.tenant.id, order_id__in=list(order_ids))
        teams = await GroupbuyTeam.filter(
            tenant_id=ctx.tenant.id, id__in={s.team_id for s in seats}
        )
        nodes = dict(zip([t.id for t in teams], await team_nodes(ctx.tenant, teams), strict=True))
        team_of = {s.order_id: nodes[s.team_id] for s in seats}
        return [team_of.get(o) for o in order_ids]

    found: TeamNode | None = await ctx.loader("groupbuy.orderTeam", load).load(root.pk)
    return found


def contribution() -> api.GraphQLContribution:
    """The storefront schema's group-buy fields."""
    return api.GraphQLContribution(
        query=[
            api.field(groupbuy_team, description="A group-buy team's page."),
            api.field(my_groupbuy_teams, description="The logged-in member's group-buy seats."),
        ],
        extend={
            "Product": [
                api.field(groupbuy, description="Running group buys of this product."),
                api.field(groupbuy_teams, description="Open teams of this product to join."),
            ],
            "Order": [
                api.field(
                    groupbuy_team_of_order,
                    name="groupbuyTeam",
                    description="The group-buy team of this order.",
                )
            ],
        },
        nodes=[api.NodeType(TeamNode, _team)],
    )
