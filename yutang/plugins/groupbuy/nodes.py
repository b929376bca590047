"""GraphQL types shared by the storefront and admin schemas, built in batches."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from enum import Enum

import strawberry

from yutang import api
from yutang.plugins.groupbuy.checkout import TEAM, item_ref
from yutang.plugins.groupbuy.models import (
    HELD,
    PAID,
    GroupbuyActivity,
    GroupbuyItem,
    GroupbuySeat,
    GroupbuyTeam,
)


@strawberry.enum(name="GroupbuyTeamStatus")
class TeamStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Its leader has not paid yet.")
    OPEN = strawberry.enum_value("open", description="Paid by its leader; seats to join.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="Full: the orders ship.")
    FAILED = strawberry.enum_value("failed", description="Not full in time: refunded.")
    ABANDONED = strawberry.enum_value("abandoned", description="Its leader never paid.")


@strawberry.type(
    name="GroupbuyItem", description="A SKU at the group price; `ref` is the line's activity ref."
)
class ItemNode:
    ref: str
    sku_id: strawberry.ID
    product_id: strawberry.ID
    price: api.MoneyType
    leader_price: api.MoneyType | None = strawberry.field(
        description="What whoever opens a team pays (团长价), if set."
    )


@strawberry.type(name="GroupbuyMember", description="A member of a team, name masked.")
class MemberNode:
    name: str
    leader: bool
    paid: bool = strawberry.field(description="False while the seat is held unpaid.")


@strawberry.type(name="GroupbuyTeam", description="A team (团); share its `id` to invite.")
class TeamNode(api.Node):
    activity_name: str
    status: TeamStatus
    size: int
    seats_left: int
    paid_members: int
    virtual_members: int = strawberry.field(description="Added by virtual completion (模拟成团).")
    opened_at: datetime | None
    expires_at: datetime | None
    members: list[MemberNode]


async def team_nodes(tenant: api.TenantInfo, teams: list[GroupbuyTeam]) -> list[TeamNode]:
    """Teams with their members (masked) and activity names, in three queries for any page."""
    ids = [t.id for t in teams]
    seats = await GroupbuySeat.filter(
        tenant_id=tenant.id, team_id__in=ids, status__in=(HELD, PAID)
    ).order_by("-leader", "id")
    names = await api.masked_member_names(tenant, {s.member_id for s in seats})
    activity_names = dict(
        await GroupbuyActivity.filter(
            tenant_id=tenant.id, id__in={t.activity_id for t in teams}
        ).values_list("id", "name")
    )
    members: dict[int, list[MemberNode]] = defaultdict(list)
    for s in seats:
        members[s.team_id].append(
            MemberNode(name=names.get(s.member_id, "****"), leader=s.leader, paid=s.status == PAID)
        )
    return [
        TeamNode(
            id=strawberry.ID(api.to_global(TEAM, t.id)),
            activity_name=str(activity_names.get(t.activity_id, "")),
            status=TeamStatus(t.status),
            size=t.size,
            seats_left=max(t.size - t.seats - t.virtual, 0),
            paid_members=t.paid,
            virtual_members=t.virtual,
            opened_at=t.opened_at,
            expires_at=t.expires_at,
            members=members[t.id],
        )
        for t in teams
    ]


def item_node(tenant: api.TenantInfo, item: GroupbuyItem) -> ItemNode:
    """An item as GraphQL shows it."""
    return ItemNode(
        ref=item_ref(item.id),
        sku_id=strawberry.ID(api.to_global("Sku", item.sku_id)),
        product_id=strawberry.ID(api.to_global("Product", item.product_id)),
        price=api.MoneyType.of(item.price, tenant.currency),
        leader_price=None
        if item.leader_price is None
        else api.MoneyType.of(item.leader_price, tenant.currency),
    )
