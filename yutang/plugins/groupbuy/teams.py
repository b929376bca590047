"""A team's life after checkout: payments, success, expiry, refunds, late payments.

Every step runs in one transaction (an event delivery or a job) and moves a team or a
seat by a conditional UPDATE on its state, with the team row locked first, so redelivery
and retries change nothing twice.

**The late-payment rule.** A payment that reaches a seat whose team no longer takes it
(the team expired, or was completed virtually, before the payment was recorded) is never
failed. In this order: (1) unless the activity was stopped, the member takes a free seat
in another open, unexpired team of the same activity (the fullest first, then the one
expiring soonest); (2) otherwise,
while the activity still opens teams, the member leads a new team whose validity starts
now, at the price they paid; (3) otherwise the order is refunded in full. A payment that
arrives after its order was cancelled cannot be turned into a paid order through the
plugin API, so the activity declines it in ``claim_payment`` (the core refunds it in
full) and records it on the released seat.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F

from yutang import api
from yutang.plugins.groupbuy.activities import running
from yutang.plugins.groupbuy.models import (
    FAILED,
    HELD,
    OPEN,
    PAID,
    PENDING,
    SUCCEEDED,
    GroupbuyActivity,
    GroupbuySeat,
    GroupbuyTeam,
)

ACTOR = "plugin:groupbuy"
PAID_ORDER = frozenset({"paid", "fulfilled", "completed"})


async def _locked(tenant_id: int, team_id: int) -> GroupbuyTeam | None:
    return await GroupbuyTeam.filter(tenant_id=tenant_id, id=team_id).select_for_update().first()


async def _schedule_expiry(tenant_id: int, team_id: int, at: datetime) -> None:
    await api.schedule_job(
        tenant_id,
        "groupbuy.expire",
        {"team_id": team_id},
        at,
        dedupe_key=f"groupbuy.expire:{team_id}",
    )


async def settle_payment(
    tenant: api.TenantInfo, order_id: int, paid_at: datetime, *, late_rule: bool
) -> None:
    """An order was paid: open the leader's team, or confirm a joiner's seat (completing
    the team with the last one). In the payment's own transaction this is all it does,
    so the team takes joiners the moment the payment commits; the late-payment rule,
    which may move or refund the member, runs only from the event after commit."""
    seat = await GroupbuySeat.get_or_none(tenant_id=tenant.id, order_id=order_id, status=HELD)
    if seat is None:
        return
    team = await _locked(tenant.id, seat.team_id)
    assert team is not None
    if team.status == PENDING and seat.leader:
        activity = await GroupbuyActivity.get(tenant_id=tenant.id, id=team.activity_id)
        expires = paid_at + timedelta(minutes=activity.validity_minutes)
        await GroupbuyTeam.filter(id=team.id, status=PENDING).update(
            status=OPEN, paid=1, opened_at=paid_at, expires_at=expires
        )
        await _schedule_expiry(tenant.id, team.id, expires)
        await _mark_paid(seat, paid_at)
    elif team.status == OPEN and team.expires_at is not None and paid_at < team.expires_at:
        await _mark_paid(seat, paid_at)
        await _count_paid(team.id)
    elif late_rule:
        activity = await GroupbuyActivity.get(tenant_id=tenant.id, id=team.activity_id)
        await _late(tenant, seat, team, activity)


async def _mark_paid(seat: GroupbuySeat, at: datetime) -> bool:
    return bool(await GroupbuySeat.filter(id=seat.id, status=HELD).update(status=PAID, paid_at=at))


async def _count_paid(team_id: int) -> None:
    """One more paid member; the last one completes the team, once."""
    await GroupbuyTeam.filter(id=team_id, status=OPEN).update(paid=F("paid") + 1)
    await GroupbuyTeam.filter(id=team_id, status=OPEN, paid__gte=F("size")).update(
        status=SUCCEEDED, settled_at=api.now()
    )


async def _late(
    tenant: api.TenantInfo, seat: GroupbuySeat, old: GroupbuyTeam, activity: GroupbuyActivity
) -> None:
    """The late-payment rule (module docstring): another team, a new team, or a refund."""
    now = api.now()
    mine = {
        r["team_id"]
        for r in await GroupbuySeat.filter(
            tenant_id=tenant.id, member_id=seat.member_id, status__in=(HELD, PAID)
        ).values("team_id")
    }
    candidates = (
        []
        if activity.stopped_at is not None
        else (
            await GroupbuyTeam.filter(
                tenant_id=tenant.id,
                activity_id=activity.id,
                status=OPEN,
                expires_at__gt=now,
                seats__lt=F("size"),
            )
            .exclude(id__in=mine)
            .order_by("-seats", "expires_at", "id")
            .limit(20)
        )
    )
    for team in candidates:
        if await GroupbuyTeam.filter(
            id=team.id, status=OPEN, expires_at__gt=now, seats__lt=F("size")
        ).update(seats=F("seats") + 1):
            await _move(seat, old, team.id, leader=False, now=now)
            await _count_paid(team.id)
            return
    if running(activity, now):
        expires = now + timedelta(minutes=activity.validity_minutes)
        team = await GroupbuyTeam.create(
            tenant_id=tenant.id,
            activity_id=activity.id,
            leader_id=seat.member_id,
            size=activity.team_size,
            status=OPEN,
            paid=1,
            opened_at=now,
            expires_at=expires,
        )
        await _schedule_expiry(tenant.id, team.id, expires)
        await _move(seat, old, team.id, leader=True, now=now)
        return
    await api.refund_order(
        tenant,
        seat.order_id,
        actor=ACTOR,
        idempotency_key=f"groupbuy.late:{seat.order_id}",
        reason="拼团已结束: paid after the team closed and no team could take the member",
    )


async def _move(
    seat: GroupbuySeat, old: GroupbuyTeam, team_id: int, *, leader: bool, now: datetime
) -> None:
    await GroupbuySeat.filter(id=seat.id, status=HELD).update(
        team_id=team_id, moved_from_id=old.id, leader=leader, status=PAID, paid_at=now
    )
    await GroupbuyTeam.filter(id=old.id, status=OPEN).update(seats=F("seats") - 1)


async def expire(tenant: api.TenantInfo, payload: dict[str, Any]) -> None:
    """Job at a team's expiry: succeed it if payments recorded in time fill it, complete
    it with virtual members if the merchant chose that, else fail it and refund every paid
    member through one job each."""
    team = await _locked(tenant.id, payload["team_id"])
    if team is None or team.status != OPEN:
        return
    assert team.expires_at is not None
    await _confirm_in_time(tenant, team)
    team = await GroupbuyTeam.get(id=team.id)
    now = api.now()
    if team.paid >= team.size:
        await GroupbuyTeam.filter(id=team.id, status=OPEN).update(status=SUCCEEDED, settled_at=now)
        return
    activity = await GroupbuyActivity.get(tenant_id=tenant.id, id=team.activity_id)
    if activity.virtual_completion:
        await GroupbuyTeam.filter(id=team.id, status=OPEN).update(
            status=SUCCEEDED, virtual=team.size - team.paid, settled_at=now
        )
        return
    await GroupbuyTeam.filter(id=team.id, status=OPEN).update(status=FAILED, settled_at=now)
    for order_id in await GroupbuySeat.filter(team_id=team.id, status=PAID).values_list(
        "order_id", flat=True
    ):
        await api.schedule_job(
            tenant.id,
            "groupbuy.refund",
            {"order_id": order_id},
            now,
            dedupe_key=f"groupbuy.refund:{order_id}",
        )


async def _confirm_in_time(tenant: api.TenantInfo, team: GroupbuyTeam) -> None:
    """Count seats whose order was paid before the expiry but whose paid event has not
    been handled yet: the worker may run this job first."""
    held = await GroupbuySeat.filter(team_id=team.id, status=HELD)
    if not held:
        return
    orders = await api.order_views(tenant, [s.order_id for s in held])
    for seat in held:
        order = orders.get(seat.order_id)
        if (
            order is not None
            and order.status in PAID_ORDER
            and order.paid_at is not None
            and team.expires_at is not None
            and order.paid_at < team.expires_at
            and await _mark_paid(seat, order.paid_at)
        ):
            await GroupbuyTeam.filter(id=team.id, status=OPEN).update(paid=F("paid") + 1)


async def refund(tenant: api.TenantInfo, payload: dict[str, Any]) -> None:
    """Job: refund one paid member of a failed team in full (idempotent per order)."""
    try:
        await api.refund_order(
            tenant,
            payload["order_id"],
            actor=ACTOR,
            idempotency_key=f"groupbuy.refund:{payload['order_id']}",
            reason="拼团失败: the team did not fill before it expired",
        )
    except api.DomainError as err:
        if err.code != "NOT_REFUNDABLE":  # already refunded by staff
            raise


async def hold(tenant: api.TenantInfo, order_id: int) -> str | None:
    """Refuse shipping or pickup of a group-buy order until its team succeeded."""
    rows = await GroupbuySeat.filter(tenant_id=tenant.id, order_id=order_id).values("team__status")
    if not rows or rows[0]["team__status"] == SUCCEEDED:
        return None
    return "the group-buy team has not succeeded yet (拼团未成功)"
