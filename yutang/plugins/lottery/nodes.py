"""GraphQL types shared by the storefront and admin schemas, and their batch builders:
each builder answers a whole page in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from yutang import api
from yutang.plugins.lottery.activities import status_of
from yutang.plugins.lottery.claims import status_of as claim_status
from yutang.plugins.lottery.models import LotteryActivity, LotteryClaim, LotteryDraw, LotteryPrize
from yutang.plugins.lottery.odds import percent


@strawberry.enum(name="LotteryClaimStatus")
class ClaimStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Won, not claimed yet.")
    CLAIMED = strawberry.enum_value("claimed", description="Where it goes is known.")
    SHIPPED = "shipped"
    PICKED_UP = "picked_up"
    EXPIRED = strawberry.enum_value("expired", description="The deadline passed unclaimed.")


@strawberry.enum(name="LotteryPrizeKind")
class PrizeKind(Enum):
    POINTS = "points"
    COUPON = "coupon"
    GOODS = "goods"
    NONE = "none"


async def prize_wins(root: Any, info: api.Info) -> int:
    """How many draws were awarded this prize, batched over the page's prizes."""
    tenant_id = info.context.tenant.id

    async def load(prize_ids: Sequence[int]) -> list[int]:
        rows = await (
            LotteryDraw.filter(tenant_id=tenant_id, prize_id__in=list(prize_ids))
            .annotate(n=Count("id"))
            .group_by("prize_id")
            .values("prize_id", "n")
        )
        found = {r["prize_id"]: r["n"] for r in rows}
        return [found.get(pk, 0) for pk in prize_ids]

    count: int = await info.context.loader("lottery.won", load).load(root.pk)
    return count


@strawberry.type(name="LotteryPrize")
class PrizeNode(api.Node):
    name: str
    kind: PrizeKind
    amount: int = strawberry.field(
        description="Points of a points prize; given to the coupon provider for a coupon prize."
    )
    item: str = strawberry.field(description="The coupon template of a coupon prize.")
    weight: int
    odds: str = strawberry.field(description="The published odds: weight / totalWeight, in %.")
    stock: int | None = strawberry.field(description="Units at the start; null is unlimited.")
    remaining: int | None = strawberry.field(description="Units left; null is unlimited.")
    sold_out: bool
    win_cap: int | None = strawberry.field(description="Times one member may win it.")
    claim_days: int | None = strawberry.field(description="Days a goods winner has to claim.")
    pk: strawberry.Private[int]

    won: int = strawberry.field(
        resolver=prize_wins,
        description="Draws that were awarded it (counted only when asked).",
    )


@strawberry.type(name="LotteryActivity")
class ActivityNode(api.Node):
    name: str
    rules: str
    starts_at: datetime
    ends_at: datetime
    status: api.ActivityStatus
    stopped_at: datetime | None
    points_per_draw: int = strawberry.field(description="0: points cannot pay for a draw.")
    free_draws_per_day: int
    draws_per_order: int = strawberry.field(description="Draws a paid order earns.")
    min_order_amount: api.MoneyType
    member_tags: list[str]
    member_levels: list[str]
    new_member_days: int | None
    daily_cap: int | None
    total_cap: int | None
    total_weight: int
    prizes: list[PrizeNode]


@strawberry.type(name="LotteryWeight")
class WeightNode:
    prize_id: strawberry.ID
    weight: int


@strawberry.type(name="LotteryClaim", description="Where a goods prize goes and how far it got.")
class ClaimNode:
    status: ClaimStatus
    deadline: datetime
    method: str | None
    name: str
    phone: str
    address: str
    claimed_at: datetime | None
    carrier: str
    tracking_number: str
    shipped_at: datetime | None


@strawberry.type(name="LotteryDraw", description="One draw with the audit of its choice.")
class DrawNode(api.Node):
    activity_id: strawberry.ID
    member_id: strawberry.ID
    seq: int = strawberry.field(description="The member's n-th draw in the activity.")
    created_at: datetime
    won: bool = strawberry.field(description="A prize other than no prize was awarded.")
    prize: PrizeNode | None = strawberry.field(
        description="What was awarded; null when the draw fell through to no prize."
    )
    chosen_prize_id: strawberry.ID = strawberry.field(description="What the random value chose.")
    fallthrough: str | None = strawberry.field(
        description="Why the chosen prize was not awarded: OUT_OF_STOCK, WIN_CAP, or the "
        "reward provider's error code (NO_REWARD_PROVIDER)."
    )
    paid_with: str = strawberry.field(description="free, earned or points.")
    points_charged: int
    random_value: int = strawberry.field(description="Uniform in [0, totalWeight).")
    total_weight: int
    weights: list[WeightNode]
    claim: ClaimNode | None


def prize_node(p: LotteryPrize, total: int) -> PrizeNode:
    return PrizeNode(
        id=strawberry.ID(api.to_global("LotteryPrize", p.id)),
        name=p.name,
        kind=PrizeKind(p.kind),
        amount=p.amount,
        item=p.item,
        weight=p.weight,
        odds=percent(p.weight, total),
        stock=p.stock,
        remaining=p.remaining,
        sold_out=p.remaining is not None and p.remaining <= 0,
        win_cap=p.win_cap,
        claim_days=p.claim_days,
        pk=p.id,
    )


async def prize_nodes(
    tenant: api.TenantInfo, activity_ids: list[int]
) -> list[tuple[LotteryPrize, PrizeNode]]:
    """Every prize of the activities with its node, in position order, in one query."""
    prizes = await LotteryPrize.filter(tenant_id=tenant.id, activity_id__in=activity_ids)
    totals: dict[int, int] = defaultdict(int)
    for p in prizes:
        totals[p.activity_id] += p.weight
    return [
        (p, prize_node(p, totals[p.activity_id]))
        for p in sorted(prizes, key=lambda p: (p.activity_id, p.position))
    ]


def activity_node(
    tenant: api.TenantInfo, a: LotteryActivity, prizes: list[PrizeNode], now: datetime
) -> ActivityNode:
    return ActivityNode(
        id=strawberry.ID(api.to_global("LotteryActivity", a.id)),
        name=a.name,
        rules=a.rules,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        status=api.ActivityStatus(status_of(a, now)),
        stopped_at=a.stopped_at,
        points_per_draw=a.points_per_draw,
        free_draws_per_day=a.free_draws_per_day,
        draws_per_order=a.draws_per_order,
        min_order_amount=api.MoneyType.of(a.min_order_amount, tenant.currency),
        member_tags=list(a.member_tags),
        member_levels=list(a.member_levels),
        new_member_days=a.new_member_days,
        daily_cap=a.daily_cap,
        total_cap=a.total_cap,
        total_weight=sum(p.weight for p in prizes),
        prizes=prizes,
    )


async def activity_nodes(
    tenant: api.TenantInfo, activities: list[LotteryActivity]
) -> list[ActivityNode]:
    """Activities with their prizes and odds, in one query for any page."""
    by_activity: dict[int, list[PrizeNode]] = defaultdict(list)
    for row, node in await prize_nodes(tenant, [a.id for a in activities]):
        by_activity[row.activity_id].append(node)
    now = api.now()
    return [activity_node(tenant, a, by_activity[a.id], now) for a in activities]


def claim_node(c: LotteryClaim, now: datetime, contact: bool = True) -> ClaimNode:
    """A claim; without ``contact`` its name and phone masked and no address (脱敏)."""
    return ClaimNode(
        status=ClaimStatus(claim_status(c, now)),
        deadline=c.deadline,
        method=c.method or None,
        name=c.name if contact else c.name[:1] + "*" * (len(c.name) > 1),
        phone=c.phone if contact else c.phone[:3] + "****" + c.phone[-4:],
        address=c.address if contact else "",
        claimed_at=c.claimed_at,
        carrier=c.carrier,
        tracking_number=c.tracking_number,
        shipped_at=c.shipped_at,
    )


async def draw_nodes(
    tenant: api.TenantInfo, draws: list[LotteryDraw], contact: bool = True
) -> list[DrawNode]:
    """Draws with their prizes and claims, in two queries for any page; claims masked
    without ``contact``."""
    prizes = {
        row.id: node
        for row, node in await prize_nodes(tenant, list({d.activity_id for d in draws}))
    }
    claims = {
        c.draw_id: c
        for c in await LotteryClaim.filter(tenant_id=tenant.id, draw_id__in=[d.id for d in draws])
    }
    now = api.now()
    nodes = []
    for d in draws:
        prize = prizes[d.prize_id] if d.prize_id is not None else None
        claim = claims.get(d.id)
        nodes.append(
            DrawNode(
                id=strawberry.ID(api.to_global("LotteryDraw", d.id)),
                activity_id=strawberry.ID(api.to_global("LotteryActivity", d.activity_id)),
                member_id=strawberry.ID(api.to_global("Member", d.member_id)),
                seq=d.seq,
                created_at=d.created_at,
                won=prize is not None and prize.kind is not PrizeKind.NONE,
                prize=prize,
                chosen_prize_id=strawberry.ID(api.to_global("LotteryPrize", d.chosen_prize_id)),
                fallthrough=d.fallthrough or None,
                paid_with=d.paid_with,
                points_charged=d.points_charged,
                random_value=d.random_value,
                total_weight=d.total_weight,
                weights=[
                    WeightNode(prize_id=strawberry.ID(api.to_global("LotteryPrize", pk)), weight=w)
                    for pk, w in d.weights
                ],
                claim=claim_node(claim, now, contact) if claim else None,
            )
        )
    return nodes


@strawberry.type(name="LotteryDrawPayload")
class DrawPayload:
    draw: DrawNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


async def draw_payload(
    tenant: api.TenantInfo, run: Callable[[], Awaitable[LotteryDraw]]
) -> DrawPayload:
    """The payload of a mutation that ends in a draw, with domain errors as ``errors``."""
    try:
        row = await run()
    except api.DomainError as err:
        return DrawPayload(errors=[api.UserError.of(err)])
    return DrawPayload(draw=(await draw_nodes(tenant, [row]))[0])


async def draw_page(
    tenant: api.TenantInfo,
    query: QuerySet[LotteryDraw],
    first: int,
    after: str | None,
    contact: bool = True,
) -> api.Connection[DrawNode]:
    """One page of draws, newest first (keyset by id)."""
    return await api.keyset_page(
        query, first, after, lambda rows: draw_nodes(tenant, rows, contact)
    )
