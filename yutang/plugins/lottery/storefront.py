"""Storefront GraphQL: activities with their prizes and published odds, what the member
may still draw today, the draw itself, the member's prizes and claiming goods."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum

import strawberry

from yutang import api
from yutang.plugins.lottery.activities import ineligible, member_facts, status_of
from yutang.plugins.lottery.claims import ClaimInput, claim_prize
from yutang.plugins.lottery.draws import draw, today_in, used_today
from yutang.plugins.lottery.models import (
    LotteryActivity,
    LotteryCounter,
    LotteryDraw,
    LotteryPrize,
)
from yutang.plugins.lottery.nodes import (
    ActivityNode,
    DrawNode,
    DrawPayload,
    PrizeNode,
    activity_nodes,
    draw_nodes,
    draw_page,
    draw_payload,
)


@strawberry.type(
    name="LotteryAllowance",
    description="What the logged-in member may still draw; days are the shop's time zone.",
)
class Allowance:
    eligible: bool
    reason: str | None = strawberry.field(description="Why the member may not draw now.")
    draws_left_today: int = strawberry.field(
        description="Draws the member can make today: free, earned and paid with their "
        "points, within the caps."
    )
    free_left_today: int
    earned_left: int = strawberry.field(description="Draws earned by paid orders, unused.")
    drawn_today: int
    drawn_total: int


@strawberry.type(name="LotteryActivity")
class StorefrontActivity(ActivityNode):
    my_draws: Allowance | None = strawberry.field(
        default=None, description="The logged-in member's draws; null for anonymous callers."
    )


@strawberry.enum(name="LotteryClaimMethod")
class ClaimMethod(Enum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


@strawberry.input(name="LotteryClaimInput")
class ClaimIn:
    draw_id: strawberry.ID
    method: ClaimMethod
    name: str
    phone: str
    address: str = ""


def allowance(
    activity: LotteryActivity,
    counter: LotteryCounter | None,
    member: api.MemberInfo,
    joined_at: datetime | None,
    now: datetime,
    day: date,
) -> Allowance:
    """The member's draws left in the activity on ``day``."""
    today, free_today = used_today(counter, day)
    total = counter.total if counter else 0
    earned = counter.earned - counter.earned_used if counter else 0
    free = max(activity.free_draws_per_day - free_today, 0)
    reason = ineligible(activity, member, joined_at, now)
    if reason is None and status_of(activity, now) != "running":
        reason = "this lucky draw is not running"
    left = free + earned
    if activity.points_per_draw:
        left += member.points // activity.points_per_draw
    if activity.daily_cap is not None:
        left = min(left, activity.daily_cap - today)
    if activity.total_cap is not None:
        left = min(left, activity.total_cap - total)
    return Allowance(
        eligible=reason is None,
        reason=reason,
        draws_left_today=0 if reason else max(left, 0),
        free_left_today=free,
        earned_left=earned,
        drawn_today=today,
        drawn_total=total,
    )


async def _nodes(info: api.Info, rows: list[LotteryActivity]) -> list[StorefrontActivity]:
    """Activities with the caller's allowance in each, in a fixed number of queries."""
    ctx = info.context
    nodes = await activity_nodes(ctx.tenant, rows)
    member_id = await ctx.optional_member_id()
    mine: dict[int, Allowance] = {}
    if member_id is not None and rows:
        member, joined_at = await member_facts(ctx.tenant, member_id)
        counters = {
            c.activity_id: c
            for c in await LotteryCounter.filter(
                tenant_id=ctx.tenant.id, member_id=member_id, activity_id__in=[a.id for a in rows]
            )
        }
        now = api.now()
        day = today_in(ctx.tenant, now)
        mine = {a.id: allowance(a, counters.get(a.id), member, joined_at, now, day) for a in rows}
    return [
        StorefrontActivity(
            **{f.name: getattr(node, f.name) for f in dataclasses.fields(node)},
            my_draws=mine.get(row.id),
        )
        for row, node in zip(rows, nodes, strict=True)
    ]


async def lottery_activities(info: api.Info) -> list[StorefrontActivity]:
    """Lucky draws running now or yet to start, soonest first."""
    tenant = info.context.tenant
    rows = await LotteryActivity.filter(
        tenant_id=tenant.id, stopped_at__isnull=True, ends_at__gt=api.now()
    ).order_by("starts_at", "id")
    return await _nodes(info, list(rows))


async def lottery_activity(info: api.Info, id: strawberry.ID) -> StorefrontActivity | None:
    """One lucky draw with its prizes, odds and the caller's draws left today."""
    return await _activity(info, api.pk_of(id, "LotteryActivity"))


async def _activity(info: api.Info, pk: int) -> StorefrontActivity | None:
    row = await LotteryActivity.get_or_none(tenant_id=info.context.tenant.id, id=pk)
    return (await _nodes(info, [row]))[0] if row else None


async def _prize(info: api.Info, pk: int) -> PrizeNode | None:
    """A prize of one of the tenant's draws, which anyone may look at."""
    row = await LotteryPrize.get_or_none(tenant_id=info.context.tenant.id, id=pk)
    activity = await _activity(info, row.activity_id) if row else None
    return next((p for p in activity.prizes if p.pk == pk), None) if activity else None


async def _my_draw(info: api.Info, pk: int) -> DrawNode | None:
    """One of the caller's own draws."""
    ctx = info.context
    member_id = await ctx.optional_member_id()
    row = (
        await LotteryDraw.get_or_none(tenant_id=ctx.tenant.id, id=pk, member_id=member_id)
        if member_id is not None
        else None
    )
    return (await draw_nodes(ctx.tenant, [row]))[0] if row else None


async def my_lottery_prizes(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[DrawNode]:
    """The logged-in member's winning draws, newest first, with the claim of goods."""
    ctx = info.context
    member_id = await ctx.member_id()
    query = LotteryDraw.filter(
        tenant_id=ctx.tenant.id, member_id=member_id, prize_id__isnull=False
    ).exclude(prize__kind="none")
    return await draw_page(ctx.tenant, query, first, after)


@strawberry.input(name="LotteryDrawInput")
class DrawIn:
    activity_id: strawberry.ID
    idempotency_key: str


async def draw_lottery(info: api.Info, input: DrawIn) -> DrawPayload:
    """Draw once; the same idempotency key returns the same draw and charges nothing more."""
    ctx = info.context

    async def run() -> LotteryDraw:
        member_id = await ctx.member_id()
        pk = api.pk_of(input.activity_id, "LotteryActivity", "activityId")
        return await draw(ctx.tenant, member_id, pk, input.idempotency_key)

    return await draw_payload(ctx.tenant, run)


async def claim_lottery_prize(info: api.Info, input: ClaimIn) -> DrawPayload:
    """Say where a won goods prize goes (an address, or pickup) before its deadline."""
    ctx = info.context

    async def run() -> LotteryDraw:
        member_id = await ctx.member_id()
        draw_id = api.pk_of(input.draw_id, "LotteryDraw", "input.drawId")
        data = api.convert(
            {
                "method": input.method.value,
                "name": input.name,
                "phone": input.phone,
                "address": input.address,
            },
            ClaimInput,
            "input",
        )
        await claim_prize(ctx.tenant, member_id, draw_id, data)
        return await LotteryDraw.get(tenant_id=ctx.tenant.id, id=draw_id)

    return await draw_payload(ctx.tenant, run)


def contribution() -> api.GraphQLContribution:
    """The storefront schema's lottery fields."""
    return api.GraphQLContribution(
        query=[
            api.field(lottery_activities, description="Lucky draws running now or yet to start."),
            api.field(lottery_activity, description="One lucky draw with its published odds."),
            api.field(my_lottery_prizes, description="The logged-in member's prizes."),
        ],
        mutation=[
            api.mutation(
                draw_lottery,
                description="Draw once. Codes: NOT_OPEN, NOT_ELIGIBLE, LIMIT_REACHED (a day "
                "or in all), LOTTERY_NO_DRAWS_LEFT, INSUFFICIENT_POINTS, IDEMPOTENCY_KEY_REUSED.",
            ),
            api.mutation(
                claim_lottery_prize,
                description="Claim a goods prize by its deadline. Codes: EXPIRED, "
                "LOTTERY_ALREADY_CLAIMED.",
            ),
        ],
        nodes=[
            api.NodeType(StorefrontActivity, _activity),
            api.NodeType(PrizeNode, _prize),
            api.NodeType(DrawNode, _my_draw),
        ],
    )
