"""Admin GraphQL: create and stop activities, and see sold / unpaid / remaining per item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from tortoise.functions import Sum

from yutang import api
from yutang.plugins.seckill.activities import ActivityInput, create_activity, stop_activity
from yutang.plugins.seckill.checkout import item_ref
from yutang.plugins.seckill.limits import tightest
from yutang.plugins.seckill.models import (
    SeckillActivity,
    SeckillItem,
    SeckillReservation,
    SeckillSession,
    SeckillStock,
)
from yutang.plugins.seckill.nodes import LimitNode, LimitScope, limit_nodes
from yutang.plugins.seckill.schedule import current_or_next, format_time_of_day


@strawberry.type(name="SeckillItem", description="A SKU in a session; `id` is the line's ref.")
class ItemNode:
    id: strawberry.ID
    sku_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str | None
    price: api.MoneyType
    stock: int = strawberry.field(description="Activity units of each occurrence.")
    sold: int = strawberry.field(description="Units in paid orders, every occurrence.")
    unpaid: int = strawberry.field(description="Units held by unpaid orders.")
    remaining: int = strawberry.field(description="Units left in `slotStartsAt`'s occurrence.")


@strawberry.type(name="SeckillSession")
class SessionNode:
    id: strawberry.ID
    daily_start: str | None
    daily_end: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    slot_starts_at: datetime | None = strawberry.field(
        description="The occurrence open now, else the next, else the last one."
    )
    slot_ends_at: datetime | None
    items: list[ItemNode]


@strawberry.type(name="SeckillActivity")
class ActivityNode:
    id: strawberry.ID
    name: str
    starts_at: datetime
    ends_at: datetime
    limits: list[LimitNode] = strawberry.field(description="Per-member limits; all must hold.")
    member_limit: int = strawberry.field(
        description="The tightest limit: the most one member may hold of one item in one session.",
        deprecation_reason="Use `limits`.",
    )
    payment_minutes: int
    status: api.ActivityStatus
    stopped_at: datetime | None
    sessions: list[SessionNode]


@strawberry.input(name="SeckillItemInput")
class ItemIn:
    sku_id: strawberry.ID
    price: int
    stock: int


@strawberry.input(
    name="SeckillSessionInput",
    description="dailyStart/dailyEnd (`10:00`, tenant time zone; an end not after the start "
    "crosses midnight) or startsAt/endsAt for a one-off session.",
)
class SessionIn:
    items: list[ItemIn]
    daily_start: str | None = None
    daily_end: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.input(
    name="SeckillLimitInput",
    description="At most `quantity` units per member within `scope` (up to the shop's "
    "`max_member_limit` setting).",
)
class LimitIn:
    scope: LimitScope
    quantity: int


@strawberry.input(
    name="SeckillActivityInput",
    description="Without `limits` (and `memberLimit`) a member may hold one unit in the activity.",
)
class ActivityIn:
    name: str
    starts_at: datetime
    ends_at: datetime
    sessions: list[SessionIn]
    limits: list[LimitIn] | None = strawberry.field(
        default=None,
        description="Per-member limits, at most one per scope; every one that applies must "
        "hold (e.g. 1 per item per session and 3 per activity).",
    )
    member_limit: int | None = strawberry.field(
        default=None,
        description="An ACTIVITY limit alone; not together with `limits`.",
        deprecation_reason="Use `limits: [{scope: ACTIVITY, quantity}]`.",
    )
    payment_minutes: int | None = None


@strawberry.type(name="SeckillActivityPayload")
class ActivityPayload:
    activity: ActivityNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


def status_of(activity: SeckillActivity, now: datetime) -> str:
    """Where an activity stands at ``now``."""
    if activity.stopped_at is not None:
        return "stopped"
    if now < activity.starts_at:
        return "scheduled"
    return "running" if now < activity.ends_at else "ended"


async def _totals(tenant_id: int, item_ids: list[int]) -> dict[tuple[int, bool], int]:
    """Units still held per (item, paid), over every occurrence."""
    rows = (
        await SeckillReservation.filter(tenant_id=tenant_id, item_id__in=item_ids)
        .annotate(quantity_sum=Sum("quantity"), released_sum=Sum("released"))
        .group_by("item_id", "paid")
        .values("item_id", "paid", "quantity_sum", "released_sum")
    )
    return {
        (r["item_id"], bool(r["paid"])): int(r["quantity_sum"]) - int(r["released_sum"])
        for r in rows
    }


async def activity_nodes(
    tenant: api.TenantInfo, activities: list[SeckillActivity]
) -> list[ActivityNode]:
    """Activities with sessions, items and their figures, in five queries for any page."""
    ids = [a.id for a in activities]
    sessions = await SeckillSession.filter(tenant_id=tenant.id, activity_id__in=ids).order_by(
        "position"
    )
    items = await SeckillItem.filter(tenant_id=tenant.id, activity_id__in=ids).order_by("position")
    by_id = {a.id: a for a in activities}
    now, zone = api.now(), tenant.zone
    slot = {s.id: current_or_next(s, by_id[s.activity_id], zone, now) for s in sessions}
    left = {
        (r["item_id"], r["slot_start"]): r["remaining"]
        for r in await SeckillStock.filter(
            tenant_id=tenant.id,
            item_id__in=[i.id for i in items],
            slot_start__in={s.starts_at for s in slot.values() if s is not None},
        ).values("item_id", "slot_start", "remaining")
    }
    totals = await _totals(tenant.id, [i.id for i in items])
    skus = await api.sku_summaries(tenant, {i.sku_id for i in items})
    item_nodes: dict[int, list[ItemNode]] = defaultdict(list)
    for i in items:
        current = slot[i.session_id]
        sku = skus.get(i.sku_id)
        item_nodes[i.session_id].append(
            ItemNode(
                id=strawberry.ID(item_ref(i.id)),
                sku_id=strawberry.ID(api.to_global("Sku", i.sku_id)),
                product_id=strawberry.ID(api.to_global("Product", i.product_id)),
                product_name=sku.product_name if sku else None,
                price=api.MoneyType.of(i.price, tenant.currency),
                stock=i.stock,
                sold=totals.get((i.id, True), 0),
                unpaid=totals.get((i.id, False), 0),
                remaining=left.get((i.id, current.starts_at), i.stock) if current else 0,
            )
        )
    session_nodes: dict[int, list[SessionNode]] = defaultdict(list)
    for s in sessions:
        current = slot[s.id]
        session_nodes[s.activity_id].append(
            SessionNode(
                id=strawberry.ID(api.to_global("SeckillSession", s.id)),
                daily_start=None if s.daily_start is None else format_time_of_day(s.daily_start),
                daily_end=None if s.daily_end is None else format_time_of_day(s.daily_end),
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                slot_starts_at=current.starts_at if current else None,
                slot_ends_at=current.ends_at if current else None,
                items=item_nodes[s.id],
            )
        )
    return [
        ActivityNode(
            id=strawberry.ID(api.to_global("SeckillActivity", a.id)),
            name=a.name,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            limits=limit_nodes(a.limits),
            member_limit=tightest(a.limits),
            payment_minutes=a.payment_minutes,
            status=api.ActivityStatus(status_of(a, now)),
            stopped_at=a.stopped_at,
            sessions=session_nodes[a.id],
        )
        for a in activities
    ]


async def _node(tenant: api.TenantInfo, activity: SeckillActivity) -> ActivityNode:
    return (await activity_nodes(tenant, [activity]))[0]


def activity_data(inp: ActivityIn) -> ActivityInput:
    """The validated input; errors name ``input.<field>``."""
    limits = None
    if inp.limits is not None:
        limits = [{"scope": n.scope.value, "quantity": n.quantity} for n in inp.limits]
    raw: dict[str, Any] = {
        "name": inp.name,
        "startsAt": inp.starts_at,
        "endsAt": inp.ends_at,
        "limits": limits,
        "memberLimit": inp.member_limit,
        "paymentMinutes": inp.payment_minutes,
        "sessions": [
            {
                "dailyStart": s.daily_start,
                "dailyEnd": s.daily_end,
                "startsAt": s.starts_at,
                "endsAt": s.ends_at,
                "items": [
                    {
                        "skuId": api.pk_of(
                            it.sku_id, "Sku", f"input.sessions[{i}].items[{j}].skuId"
                        ),
                        "price": it.price,
                        "stock": it.stock,
                    }
                    for j, it in enumerate(s.items)
                ],
            }
            for i, s in enumerate(inp.sessions)
        ],
    }
    return api.convert(raw, ActivityInput, "input")


async def _payload(run: Callable[[], Awaitable[ActivityNode]]) -> ActivityPayload:
    try:
        return ActivityPayload(activity=await run())
    except api.DomainError as err:
        return ActivityPayload(errors=[api.UserError.of(err)])


async def seckill_activities(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[ActivityNode]:
    """Activities, newest first."""
    ctx = info.context
    return await api.keyset_page(
        SeckillActivity.filter(tenant_id=ctx.tenant.id),
        first,
        after,
        lambda rows: activity_nodes(ctx.tenant, rows),
    )


async def seckill_activity(info: api.Info, id: strawberry.ID) -> ActivityNode | None:
    """One activity with its sessions, items and figures."""
    ctx = info.context
    row = await SeckillActivity.get_or_none(
        tenant_id=ctx.tenant.id, id=api.pk_of(id, "SeckillActivity")
    )
    return await _node(ctx.tenant, row) if row else None


async def create_seckill_activity(info: api.Info, input: ActivityIn) -> ActivityPayload:
    """Create an activity; a SKU already selling at an overlapping time is refused."""
    ctx = info.context

    async def run() -> ActivityNode:
        row = await create_activity(ctx.tenant, activity_data(input))
        return await _node(ctx.tenant, row)

    return await _payload(run)


async def stop_seckill_activity(info: api.Info, id: strawberry.ID) -> ActivityPayload:
    """Stop an activity for good; its sessions stop selling at once. Stopping again
    changes nothing."""
    ctx = info.context

    async def run() -> ActivityNode:
        row = await stop_activity(ctx.tenant, api.pk_of(id, "SeckillActivity"))
        return await _node(ctx.tenant, row)

    return await _payload(run)


def contribution() -> api.GraphQLContribution:
    """The admin schema's seckill fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                seckill_activities,
                permission="seckill.view",
                description="Seckill activities, newest first.",
            ),
            api.field(
                seckill_activity,
                permission="seckill.view",
                description="One seckill activity with its figures.",
            ),
        ],
        mutation=[
            api.mutation(
                create_seckill_activity,
                permission="seckill.manage",
                description="Create a seckill activity; a SKU already selling at an "
                "overlapping time is refused (OVERLAP).",
            ),
            api.mutation(
                stop_seckill_activity,
                permission="seckill.manage",
                description="Stop an activity for good; its sessions stop selling at once. "
                "Stopping again changes nothing.",
            ),
        ],
    )
