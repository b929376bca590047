"""Admin GraphQL: create and stop activities, and follow their teams."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from tortoise.functions import Count

from yutang import api
from yutang.plugins.groupbuy.activities import (
    ActivityInput,
    create_activity,
    status_of,
    stop_activity,
)
from yutang.plugins.groupbuy.models import GroupbuyActivity, GroupbuyItem, GroupbuyTeam
from yutang.plugins.groupbuy.nodes import ItemNode, item_node

ACTIVITY = "GroupbuyActivity"


@strawberry.type(name="GroupbuyTeamCounts", description="Teams of an activity by status.")
class TeamCounts:
    pending: int = 0
    open: int = 0
    succeeded: int = 0
    failed: int = 0
    abandoned: int = 0


@strawberry.type(name="GroupbuyActivity")
class ActivityNode:
    id: strawberry.ID
    name: str
    starts_at: datetime
    ends_at: datetime
    team_size: int
    validity_minutes: int = strawberry.field(description="A team's life from its leader's payment.")
    member_limit: int
    payment_minutes: int = strawberry.field(description="How long an unpaid seat is held.")
    virtual_completion: bool
    status: api.ActivityStatus
    stopped_at: datetime | None
    items: list[ItemNode]
    teams: TeamCounts


@strawberry.input(name="GroupbuyItemInput")
class ItemIn:
    sku_id: strawberry.ID
    price: int
    leader_price: int | None = None


@strawberry.input(
    name="GroupbuyActivityInput",
    description="`virtualCompletion` completes expiring teams with virtual members "
    "(模拟成团): their members get the goods though the team never filled.",
)
class ActivityIn:
    name: str
    starts_at: datetime
    ends_at: datetime
    team_size: int
    validity_minutes: int
    items: list[ItemIn]
    member_limit: int = 1
    payment_minutes: int | None = None
    virtual_completion: bool = False


@strawberry.type(name="GroupbuyActivityPayload")
class ActivityPayload:
    activity: ActivityNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


async def activity_nodes(
    tenant: api.TenantInfo, activities: list[GroupbuyActivity]
) -> list[ActivityNode]:
    """Activities with items and team counts, in two queries for any page."""
    ids = [a.id for a in activities]
    items: dict[int, list[ItemNode]] = defaultdict(list)
    for it in await GroupbuyItem.filter(tenant_id=tenant.id, activity_id__in=ids).order_by(
        "position"
    ):
        items[it.activity_id].append(item_node(tenant, it))
    counts: dict[int, TeamCounts] = defaultdict(TeamCounts)
    for r in (
        await GroupbuyTeam.filter(tenant_id=tenant.id, activity_id__in=ids)
        .annotate(n=Count("id"))
        .group_by("activity_id", "status")
        .values("activity_id", "status", "n")
    ):
        setattr(counts[r["activity_id"]], r["status"], int(r["n"]))
    now = api.now()
    return [
        ActivityNode(
            id=strawberry.ID(api.to_global(ACTIVITY, a.id)),
            name=a.name,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            team_size=a.team_size,
            validity_minutes=a.validity_minutes,
            member_limit=a.member_limit,
            payment_minutes=a.payment_minutes,
            virtual_completion=a.virtual_completion,
            status=api.ActivityStatus(status_of(a, now)),
            stopped_at=a.stopped_at,
            items=items[a.id],
            teams=counts[a.id],
        )
        for a in activities
    ]


def activity_data(inp: ActivityIn) -> ActivityInput:
    """The validated input; errors name ``input.<field>``."""
    raw = {
        "name": inp.name,
        "startsAt": inp.starts_at,
        "endsAt": inp.ends_at,
        "teamSize": inp.team_size,
        "validityMinutes": inp.validity_minutes,
        "memberLimit": inp.member_limit,
        "paymentMinutes": inp.payment_minutes,
        "virtualCompletion": inp.virtual_completion,
        "items": [
            {
                "skuId": api.pk_of(it.sku_id, "Sku", f"input.items[{i}].skuId"),
                "price": it.price,
                "leaderPrice": it.leader_price,
            }
            for i, it in enumerate(inp.items)
        ],
    }
    return api.convert(raw, ActivityInput, "input")


async def _payload(
    run: Callable[[], Awaitable[GroupbuyActivity]], info: api.Info
) -> ActivityPayload:
    try:
        row = await run()
    except api.DomainError as err:
        return ActivityPayload(errors=[api.UserError.of(err)])
    return ActivityPayload(activity=(await activity_nodes(info.context.tenant, [row]))[0])


async def groupbuy_activities(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[ActivityNode]:
    """Activities, newest first."""
    ctx = info.context
    return await api.keyset_page(
        GroupbuyActivity.filter(tenant_id=ctx.tenant.id),
        first,
        after,
        lambda rows: activity_nodes(ctx.tenant, rows),
    )


async def groupbuy_activity(info: api.Info, id: strawberry.ID) -> ActivityNode | None:
    """One activity with its items and team counts."""
    ctx = info.context
    row = await GroupbuyActivity.get_or_none(tenant_id=ctx.tenant.id, id=api.pk_of(id, ACTIVITY))
    return (await activity_nodes(ctx.tenant, [row]))[0] if row else None


async def create_groupbuy_activity(info: api.Info, input: ActivityIn) -> ActivityPayload:
    """Create an activity."""
    ctx = info.context

    async def run() -> GroupbuyActivity:
        return await create_activity(ctx.tenant, activity_data(input))

    return await _payload(run, info)


async def stop_groupbuy_activity(info: api.Info, id: strawberry.ID) -> ActivityPayload:
    """Stop an activity for good. Stopping again changes nothing."""
    ctx = info.context

    async def run() -> GroupbuyActivity:
        return await stop_activity(ctx.tenant, api.pk_of(id, ACTIVITY, "id"))

    return await _payload(run, info)


def contribution() -> api.GraphQLContribution:
    """The admin schema's group-buy fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                groupbuy_activities,
                permission="groupbuy.view",
                description="Group-buy activities, newest first.",
            ),
            api.field(
                groupbuy_activity, permission="groupbuy.view", description="One group-buy activity."
            ),
        ],
        mutation=[
            api.mutation(
                create_groupbuy_activity,
                permission="groupbuy.manage",
                description="Create a group-buy activity.",
            ),
            api.mutation(
                stop_groupbuy_activity,
                permission="groupbuy.manage",
                description="Stop an activity for good: no new teams; open teams run on "
                "to success or expiry. Stopping again changes nothing.",
            ),
        ],
    )
