"""Admin GraphQL: create and stop activities, follow stock and winners, read the draw
records with their audit, and mark goods prizes shipped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from tortoise.expressions import Q

from yutang import api
from yutang.plugins.lottery.activities import ActivityInput, create_activity, stop_activity
from yutang.plugins.lottery.claims import ShipInput, mark_shipped
from yutang.plugins.lottery.models import LotteryActivity, LotteryDraw
from yutang.plugins.lottery.nodes import (
    ActivityNode,
    ClaimStatus,
    DrawNode,
    DrawPayload,
    PrizeKind,
    activity_nodes,
    draw_page,
    draw_payload,
)


@strawberry.input(name="LotteryPrizeInput")
class PrizeIn:
    name: str
    kind: PrizeKind
    weight: int = strawberry.field(description="Odds are weight / the sum of all weights.")
    amount: int = strawberry.field(
        default=0, description="Points of a points prize; passed to the coupon provider."
    )
    item: str = strawberry.field(default="", description="The coupon template of a coupon.")
    stock: int | None = strawberry.field(default=None, description="null: unlimited.")
    win_cap: int | None = strawberry.field(default=None, description="Wins per member.")
    claim_days: int | None = strawberry.field(
        default=None, description="Days a goods winner has to claim (the shop's default)."
    )


@strawberry.input(
    name="LotteryActivityInput",
    description="A draw is paid with a free draw of the day, then a draw earned by a paid "
    "order, then points. A coupon prize nobody grants (no coupon plugin enabled) falls "
    "through to no prize at the draw, recorded as NO_REWARD_PROVIDER.",
)
class ActivityIn:
    name: str
    starts_at: datetime
    ends_at: datetime
    prizes: list[PrizeIn]
    rules: str = ""
    points_per_draw: int = 0
    free_draws_per_day: int = 0
    draws_per_order: int = 0
    min_order_amount: int = strawberry.field(default=0, description="Minor units.")
    member_tags: list[str] = strawberry.field(
        default_factory=list, description="Members with one of these tags may draw."
    )
    member_levels: list[str] = strawberry.field(
        default_factory=list, description="Members at one of these levels may draw."
    )
    new_member_days: int | None = strawberry.field(
        default=None, description="Only members who registered within this many days."
    )
    daily_cap: int | None = None
    total_cap: int | None = None


@strawberry.type(name="LotteryActivityPayload")
class ActivityPayload:
    activity: ActivityNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


def activity_data(inp: ActivityIn) -> ActivityInput:
    """The validated input; errors name ``input.<field>``."""
    raw: dict[str, Any] = {
        "name": inp.name,
        "startsAt": inp.starts_at,
        "endsAt": inp.ends_at,
        "rules": inp.rules,
        "pointsPerDraw": inp.points_per_draw,
        "freeDrawsPerDay": inp.free_draws_per_day,
        "drawsPerOrder": inp.draws_per_order,
        "minOrderAmount": inp.min_order_amount,
        "memberTags": inp.member_tags,
        "memberLevels": inp.member_levels,
        "newMemberDays": inp.new_member_days,
        "dailyCap": inp.daily_cap,
        "totalCap": inp.total_cap,
        "prizes": [
            {
                "name": p.name,
                "kind": p.kind.value,
                "weight": p.weight,
                "amount": p.amount,
                "item": p.item,
                "stock": p.stock,
                "winCap": p.win_cap,
                "claimDays": p.claim_days,
            }
            for p in inp.prizes
        ],
    }
    return api.convert(raw, ActivityInput, "input")


async def _activity_payload(
    tenant: api.TenantInfo, run: Callable[[], Awaitable[LotteryActivity]]
) -> ActivityPayload:
    try:
        row = await run()
    except api.DomainError as err:
        return ActivityPayload(errors=[api.UserError.of(err)])
    return ActivityPayload(activity=(await activity_nodes(tenant, [row]))[0])


async def lottery_activities(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[ActivityNode]:
    """Lucky draws, newest first, with each prize's stock left and wins."""
    ctx = info.context
    return await api.keyset_page(
        LotteryActivity.filter(tenant_id=ctx.tenant.id),
        first,
        after,
        lambda rows: activity_nodes(ctx.tenant, rows),
    )


async def lottery_activity(info: api.Info, id: strawberry.ID) -> ActivityNode | None:
    """One lucky draw with its prizes, stock left and wins."""
    ctx = info.context
    row = await LotteryActivity.get_or_none(
        tenant_id=ctx.tenant.id, id=api.pk_of(id, "LotteryActivity")
    )
    return (await activity_nodes(ctx.tenant, [row]))[0] if row else None


def _claim_filter(status: str, now: datetime) -> Q:
    """Draws whose claim is in ``status``; a pending claim past its deadline is expired."""
    if status == "pending":
        return Q(claim__status="pending", claim__deadline__gt=now)
    if status == "expired":
        return Q(claim__status="expired") | Q(claim__status="pending", claim__deadline__lte=now)
    return Q(claim__status=status)


async def lottery_draws(
    info: api.Info,
    activity_id: strawberry.ID,
    winners_only: bool = False,
    claim_status: ClaimStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> api.Connection[DrawNode]:
    """The draw records of an activity, newest first, with the audit of each choice; a
    winner's name and phone masked and address hidden unless the caller ships prizes."""
    ctx = info.context
    pk = api.pk_of(activity_id, "LotteryActivity", "activityId")
    query = LotteryDraw.filter(tenant_id=ctx.tenant.id, activity_id=pk)
    if winners_only:
        query = query.filter(prize_id__isnull=False).exclude(prize__kind="none")
    if claim_status is not None:
        query = query.filter(_claim_filter(claim_status.value, api.now()))
    contact = await api.holds(info, "lottery.ship")
    return await draw_page(ctx.tenant, query, first, after, contact)


async def create_lottery_activity(info: api.Info, input: ActivityIn) -> ActivityPayload:
    """Create a lucky draw with its prizes."""
    ctx = info.context

    async def run() -> LotteryActivity:
        return await create_activity(ctx.tenant, activity_data(input))

    return await _activity_payload(ctx.tenant, run)


async def stop_lottery_activity(info: api.Info, id: strawberry.ID) -> ActivityPayload:
    """Stop a lucky draw for good; won prizes can still be claimed. Stopping again changes
    nothing."""
    ctx = info.context

    async def run() -> LotteryActivity:
        return await stop_activity(ctx.tenant, api.pk_of(id, "LotteryActivity"))

    return await _activity_payload(ctx.tenant, run)


async def mark_lottery_prize_shipped(
    info: api.Info, draw_id: strawberry.ID, carrier: str = "", tracking_number: str = ""
) -> DrawPayload:
    """A claimed goods prize was shipped (or handed over, for a pickup)."""
    ctx = info.context

    async def run() -> LotteryDraw:
        pk = api.pk_of(draw_id, "LotteryDraw", "drawId")
        data = api.convert({"carrier": carrier, "trackingNumber": tracking_number}, ShipInput)
        await mark_shipped(ctx.tenant, pk, data)
        return await LotteryDraw.get(tenant_id=ctx.tenant.id, id=pk)

    return await draw_payload(ctx.tenant, run)


def contribution() -> api.GraphQLContribution:
    """The admin schema's lottery fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                lottery_activities,
                permission="lottery.view",
                description="Lucky draws, newest first.",
            ),
            api.field(
                lottery_activity,
                permission="lottery.view",
                description="One lucky draw with stock left and wins.",
            ),
            api.field(
                lottery_draws,
                permission="lottery.view",
                description="Draw records of an activity, winners only or by claim status.",
            ),
        ],
        mutation=[
            api.mutation(
                create_lottery_activity,
                permission="lottery.manage",
                description="Create a lucky draw.",
            ),
            api.mutation(
                stop_lottery_activity,
                permission="lottery.manage",
                description="Stop a lucky draw for good. Stopping again changes nothing.",
            ),
            api.mutation(
                mark_lottery_prize_shipped,
                permission="lottery.ship",
                description="Mark a claimed goods prize shipped (or picked up).",
            ),
        ],
    )
