"""Draws earned by paid orders: credited once per (activity, order) from the order-paid
event, which is delivered at least once."""

from __future__ import annotations

from tortoise.expressions import F, Q

from yutang import api
from yutang.plugins.lottery.activities import ineligible, member_facts, restricted
from yutang.plugins.lottery.draws import ensure_counter
from yutang.plugins.lottery.models import LotteryActivity, LotteryCounter, LotteryOrderCredit


async def credit_paid_order(tenant: api.TenantInfo, event: api.Event) -> None:
    """Credit the member's draws in every activity running when the order was paid that
    earns draws by order and the order reached its minimum; runs in the event's
    transaction."""
    if event.order_id is None or event.member_id is None:
        return
    at = event.occurred_at
    activities = await LotteryActivity.filter(
        Q(stopped_at__isnull=True) | Q(stopped_at__gt=at),
        tenant_id=tenant.id,
        draws_per_order__gt=0,
        min_order_amount__lte=int(event.data.get("amount", 0)),
        starts_at__lte=at,
        ends_at__gt=at,
    )
    facts = (
        await member_facts(tenant, event.member_id) if any(map(restricted, activities)) else None
    )
    for activity in activities:
        if await LotteryOrderCredit.exists(activity_id=activity.id, order_id=event.order_id):
            continue
        if facts is not None and ineligible(activity, *facts, at) is not None:
            continue
        await LotteryOrderCredit.create(
            tenant_id=tenant.id,
            activity_id=activity.id,
            order_id=event.order_id,
            member_id=event.member_id,
            draws=activity.draws_per_order,
        )
        await ensure_counter(tenant, activity.id, event.member_id)
        await LotteryCounter.filter(
            tenant_id=tenant.id, activity_id=activity.id, member_id=event.member_id
        ).update(earned=F("earned") + activity.draws_per_order)
