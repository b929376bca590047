"""The draw: one transaction under the member's counter row for the activity.

Everything a member's draws in one activity share — caps, free and earned draws, the
idempotency key, per-prize win caps — is read and written under that row's lock, so
concurrent draws of one member queue up instead of overrunning a cap. What members share
— prize stock — is only taken by a conditional UPDATE, so a prize is never won more
often than it has units; a draw that chose a prize without units falls through to "no
prize". The points cost goes through the core's ledger, which never goes below zero.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.lottery.activities import ineligible, member_facts, restricted
from yutang.plugins.lottery.codes import CODES
from yutang.plugins.lottery.models import (
    LotteryActivity,
    LotteryClaim,
    LotteryCounter,
    LotteryDraw,
    LotteryPrize,
)
from yutang.plugins.lottery.odds import draw_from, random_value

GRANTED_AT_ONCE = ("points", "coupon")


def today_in(tenant: api.TenantInfo, now: datetime) -> date:
    """The tenant's calendar day at ``now``: daily caps and free draws reset with it."""
    return now.astimezone(tenant.zone).date()


def used_today(counter: LotteryCounter | None, day: date) -> tuple[int, int]:
    """(draws, free draws) the counter holds for ``day``; a counter of an earlier day is 0."""
    if counter is None or counter.day != day:
        return 0, 0
    return counter.today, counter.free_today


async def ensure_counter(tenant: api.TenantInfo, activity_id: int, member_id: int) -> None:
    """Create the member's counter if missing; a concurrent creation is not an error."""
    await LotteryCounter.bulk_create(
        [LotteryCounter(tenant_id=tenant.id, activity_id=activity_id, member_id=member_id)],
        ignore_conflicts=True,
    )


async def _lock_counter(tenant: api.TenantInfo, activity_id: int, member_id: int) -> LotteryCounter:
    await ensure_counter(tenant, activity_id, member_id)
    return (
        await LotteryCounter.filter(
            tenant_id=tenant.id, activity_id=activity_id, member_id=member_id
        )
        .select_for_update()
        .get()
    )


async def _by_key(
    tenant: api.TenantInfo, activity_id: int, member_id: int, key: str
) -> LotteryDraw | None:
    """The member's earlier draw with this key; the key used in another activity is refused."""
    found = await LotteryDraw.get_or_none(
        tenant_id=tenant.id, member_id=member_id, idempotency_key=key
    )
    if found is not None and found.activity_id != activity_id:
        raise api.DomainError(
            "IDEMPOTENCY_KEY_REUSED",
            "this idempotency key was used for a draw in another activity",
            "idempotencyKey",
        )
    return found


def _check_open(activity: LotteryActivity, now: datetime) -> None:
    if activity.stopped_at is not None or now >= activity.ends_at:
        raise api.DomainError("NOT_OPEN", "this lucky draw has ended", "activityId")
    if now < activity.starts_at:
        raise api.DomainError("NOT_OPEN", "this lucky draw has not started yet", "activityId")


def _payment(activity: LotteryActivity, counter: LotteryCounter, free_today: int) -> str:
    """What pays for the draw: a free draw of the day, then an earned draw, then points."""
    if free_today < activity.free_draws_per_day:
        return "free"
    if counter.earned > counter.earned_used:
        return "earned"
    if activity.points_per_draw:
        return "points"
    raise CODES.error("LOTTERY_NO_DRAWS_LEFT", "no free or earned draws left", "activityId")


def _check_caps(activity: LotteryActivity, today: int, total: int) -> None:
    if activity.daily_cap is not None and today >= activity.daily_cap:
        raise api.DomainError(
            "LIMIT_REACHED", f"at most {activity.daily_cap} draws a day", "activityId"
        )
    if activity.total_cap is not None and total >= activity.total_cap:
        raise api.DomainError(
            "LIMIT_REACHED", f"at most {activity.total_cap} draws in all", "activityId"
        )


async def _award(
    tenant: api.TenantInfo,
    activity: LotteryActivity,
    member_id: int,
    prize: LotteryPrize,
    in_stock: bool,
    seq: int,
) -> tuple[LotteryPrize | None, str]:
    """(the prize awarded or None, why it fell through): win cap, stock, then the grant.

    The unit and the grant share a savepoint, so a refused grant gives the unit back.
    """
    if prize.kind == "none":
        return prize, ""
    if not in_stock:
        return None, "OUT_OF_STOCK"
    if prize.win_cap is not None:
        wins = await LotteryDraw.filter(
            tenant_id=tenant.id, activity_id=activity.id, member_id=member_id, prize_id=prize.id
        ).count()
        if wins >= prize.win_cap:
            return None, "WIN_CAP"
    try:
        async with in_transaction():
            if prize.remaining is not None:
                taken = await LotteryPrize.filter(id=prize.id, remaining__gt=0).update(
                    remaining=F("remaining") - 1
                )
                if not taken:
                    return None, "OUT_OF_STOCK"
            if prize.kind in GRANTED_AT_ONCE:
                reward = api.Reward(
                    kind=prize.kind,
                    amount=prize.amount,
                    item=prize.item,
                    reference=f"lottery:{activity.id}:{member_id}:{seq}",
                    source="lottery",
                    label=f"{activity.name}: {prize.name}",
                )
                await api.grant_reward(tenant, member_id, reward)
    except api.DomainError as err:
        return None, err.code
    return prize, ""


async def _claim_goods(
    tenant: api.TenantInfo, draw: LotteryDraw, prize: LotteryPrize, now: datetime
) -> None:
    """Open the claim of a goods prize and schedule its expiry at the deadline."""
    deadline = now + timedelta(days=prize.claim_days or 0)  # set on every goods prize
    claim = await LotteryClaim.create(
        tenant_id=tenant.id,
        draw_id=draw.id,
        activity_id=draw.activity_id,
        member_id=draw.member_id,
        deadline=deadline,
    )
    await api.schedule_job(
        tenant.id,
        "lottery.expire_claim",
        {"claim_id": claim.id},
        deadline,
        dedupe_key=f"lottery.expire_claim:{claim.id}",
    )


async def _draw_locked(
    tenant: api.TenantInfo,
    activity: LotteryActivity,
    counter: LotteryCounter,
    key: str,
) -> LotteryDraw:
    now = api.now()
    _check_open(activity, now)
    if restricted(activity):
        facts = await member_facts(tenant, counter.member_id)
        reason = ineligible(activity, *facts, now)
        if reason is not None:
            raise api.DomainError("NOT_ELIGIBLE", reason, "activityId")
    day = today_in(tenant, now)
    today, free_today = used_today(counter, day)
    _check_caps(activity, today, counter.total)
    paid_with = _payment(activity, counter, free_today)
    seq = counter.total + 1
    cost = activity.points_per_draw if paid_with == "points" else 0
    if cost:
        await api.change_points(tenant, counter.member_id, -cost, "lottery", f"{activity.id}:{seq}")
    prizes = await LotteryPrize.filter(tenant_id=tenant.id, activity_id=activity.id).order_by(
        "position"
    )
    weights = [p.weight for p in prizes]
    value = random_value(sum(weights))
    choice = draw_from(weights, [p.remaining for p in prizes], value)
    chosen = prizes[choice.prize]
    awarded, fallthrough = await _award(
        tenant, activity, counter.member_id, chosen, choice.in_stock, seq
    )
    row = await LotteryDraw.create(
        tenant_id=tenant.id,
        activity_id=activity.id,
        member_id=counter.member_id,
        seq=seq,
        idempotency_key=key,
        paid_with=paid_with,
        points_charged=cost,
        weights=[[p.id, p.weight] for p in prizes],
        total_weight=sum(weights),
        random_value=value,
        chosen_prize_id=chosen.id,
        prize_id=awarded.id if awarded else None,
        fallthrough=fallthrough,
    )
    await LotteryCounter.filter(id=counter.id).update(
        day=day,
        today=today + 1,
        free_today=free_today + (paid_with == "free"),
        total=seq,
        earned_used=counter.earned_used + (paid_with == "earned"),
    )
    if awarded is not None and awarded.kind == "goods":
        await _claim_goods(tenant, row, awarded, now)
    return row


async def draw(tenant: api.TenantInfo, member_id: int, activity_id: int, key: str) -> LotteryDraw:
    """Draw once, or return the member's earlier draw with the same idempotency key.

    Refusals (caps, eligibility, INSUFFICIENT_POINTS) roll everything back: no points
    charged, no counter moved, the key left free.
    """
    if not 1 <= len(key) <= 128:
        raise api.DomainError(
            "INVALID", "an idempotency key of 1–128 characters is required", "idempotencyKey"
        )
    activity = await LotteryActivity.get_or_none(tenant_id=tenant.id, id=activity_id)
    if activity is None:
        raise api.NotFound("lottery activity", "activityId")
    try:
        async with in_transaction():
            counter = await _lock_counter(tenant, activity.id, member_id)
            done = await _by_key(tenant, activity.id, member_id, key)
            return done or await _draw_locked(tenant, activity, counter, key)
    except IntegrityError:
        # The same key raced a draw of this member in another activity.
        done = await _by_key(tenant, activity.id, member_id, key)
        if done is None:
            raise
        return done
