"""Creating and stopping activities, and who may draw in one.

A coupon prize is granted through ``api.grant_reward`` by whichever enabled plugin provides
coupons. The core offers no way to ask whether one does, so creating the activity cannot
check it: a draw whose coupon nobody grants (no coupon plugin, or the provider refuses)
falls through to "no prize", gives the unit back, and records the provider's error code
(``NO_REWARD_PROVIDER``) on the draw for the merchant to see.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.lottery.models import LotteryActivity, LotteryPrize
from yutang.plugins.lottery.settings import settings_of

MAX_WINDOW = timedelta(days=366)
Aware = Annotated[datetime, msgspec.Meta(tz=True)]
Count = Annotated[int, msgspec.Meta(ge=1, le=10**6)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Kind = Literal["points", "coupon", "goods", "none"]


class PrizeInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A prize: ``amount`` is the points of a points prize (passed on to the provider of a
    coupon prize), ``item`` the coupon template; ``stock`` None is unlimited."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: Kind
    weight: Annotated[int, msgspec.Meta(ge=0, le=10**6)]
    amount: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 0
    item: Annotated[str, msgspec.Meta(max_length=128)] = ""
    stock: Annotated[int, msgspec.Meta(ge=0, le=10**7)] | None = None
    win_cap: Count | None = None
    claim_days: Annotated[int, msgspec.Meta(ge=1, le=365)] | None = None


class ActivityInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A new activity. Caps and ``new_member_days`` None mean no limit."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    starts_at: Aware
    ends_at: Aware
    prizes: Annotated[list[PrizeInput], msgspec.Meta(min_length=1, max_length=20)]
    rules: Annotated[str, msgspec.Meta(max_length=5000)] = ""
    points_per_draw: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 0
    free_draws_per_day: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    draws_per_order: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    min_order_amount: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 0
    member_tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    member_levels: Annotated[list[Tag], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    new_member_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    daily_cap: Count | None = None
    total_cap: Count | None = None


def _check_prize(i: int, p: PrizeInput) -> None:
    """Fields a prize of its kind needs or must not have; errors name the field."""
    at = f"input.prizes[{i}]"
    if p.kind == "points" and p.amount < 1:
        raise api.DomainError("INVALID", "a points prize needs the points to give", f"{at}.amount")
    if p.kind == "coupon" and not p.item:
        raise api.DomainError("INVALID", "a coupon prize needs its coupon template", f"{at}.item")
    if p.kind == "goods" and p.stock is None:
        raise api.DomainError("INVALID", "a goods prize needs its stock", f"{at}.stock")
    if p.kind == "none" and (p.stock is not None or p.win_cap is not None):
        field = "stock" if p.stock is not None else "winCap"
        raise api.DomainError("INVALID", "a no-prize entry has no stock or cap", f"{at}.{field}")
    if p.kind != "goods" and p.claim_days is not None:
        raise api.DomainError("INVALID", "only goods prizes are claimed", f"{at}.claimDays")


def _check(data: ActivityInput) -> None:
    if data.ends_at <= data.starts_at:
        raise api.DomainError("INVALID", "must be after startsAt", "input.endsAt")
    if data.ends_at <= api.now():
        raise api.DomainError("INVALID", "must be in the future", "input.endsAt")
    if data.ends_at - data.starts_at > MAX_WINDOW:
        raise api.DomainError("INVALID", "an activity lasts at most 366 days", "input.endsAt")
    if not (data.points_per_draw or data.free_draws_per_day or data.draws_per_order):
        raise api.DomainError(
            "INVALID",
            "a draw needs a cost: pointsPerDraw, freeDrawsPerDay or drawsPerOrder",
            "input.pointsPerDraw",
        )
    if not sum(p.weight for p in data.prizes):
        raise api.DomainError("INVALID", "the prizes' weights must not all be 0", "input.prizes")
    for i, prize in enumerate(data.prizes):
        _check_prize(i, prize)


async def create_activity(tenant: api.TenantInfo, data: ActivityInput) -> LotteryActivity:
    """Create an activity with its prizes in one transaction (times stored in UTC:
    SQLite compares them as text)."""
    _check(data)
    claim_days = settings_of(tenant).claim_days
    async with in_transaction():
        activity = await LotteryActivity.create(
            tenant_id=tenant.id,
            name=data.name,
            rules=data.rules,
            starts_at=data.starts_at.astimezone(UTC),
            ends_at=data.ends_at.astimezone(UTC),
            points_per_draw=data.points_per_draw,
            free_draws_per_day=data.free_draws_per_day,
            draws_per_order=data.draws_per_order,
            min_order_amount=data.min_order_amount,
            member_tags=data.member_tags,
            member_levels=data.member_levels,
            new_member_days=data.new_member_days,
            daily_cap=data.daily_cap,
            total_cap=data.total_cap,
        )
        await LotteryPrize.bulk_create(
            [
                LotteryPrize(
                    tenant_id=tenant.id,
                    activity_id=activity.id,
                    position=i,
                    name=p.name,
                    kind=p.kind,
                    amount=p.amount,
                    item=p.item,
                    weight=p.weight,
                    stock=p.stock,
                    remaining=p.stock,
                    win_cap=p.win_cap,
                    claim_days=(p.claim_days or claim_days) if p.kind == "goods" else None,
                )
                for i, p in enumerate(data.prizes)
            ]
        )
    return activity


async def stop_activity(tenant: api.TenantInfo, activity_id: int) -> LotteryActivity:
    """Stop an activity for good: no more draws; won prizes can still be claimed. Stopping
    a stopped activity writes nothing and returns it as it is (stopped the first time)."""
    async with in_transaction():
        await LotteryActivity.filter(
            tenant_id=tenant.id, id=activity_id, stopped_at__isnull=True
        ).update(stopped_at=api.now())
        activity = await LotteryActivity.get_or_none(tenant_id=tenant.id, id=activity_id)
        if activity is None:
            raise api.NotFound("lottery activity", "id")
    return activity


def status_of(activity: LotteryActivity, now: datetime) -> str:
    """scheduled, running, ended or stopped."""
    if activity.stopped_at is not None:
        return "stopped"
    if now < activity.starts_at:
        return "scheduled"
    return "running" if now < activity.ends_at else "ended"


def restricted(activity: LotteryActivity) -> bool:
    """Whether only some members may draw."""
    return bool(activity.member_tags or activity.member_levels or activity.new_member_days)


async def member_facts(
    tenant: api.TenantInfo, member_id: int
) -> tuple[api.MemberInfo, datetime | None]:
    """What eligibility reads of a member: tags, level and points, and when they joined."""
    return await api.member_info(tenant, member_id), await api.member_joined_at(tenant, member_id)


def ineligible(
    activity: LotteryActivity, member: api.MemberInfo, joined_at: datetime | None, at: datetime
) -> str | None:
    """Why the member may not draw in this activity at ``at``, or None if they may.

    A member must carry one of the tags (if any are set), be at one of the levels (if
    any), and have registered within ``new_member_days`` (if set).
    """
    if activity.member_tags and not set(member.tags) & set(activity.member_tags):
        return "only members tagged " + ", ".join(activity.member_tags) + " may draw"
    if activity.member_levels and member.level_name not in activity.member_levels:
        return "only members at level " + ", ".join(activity.member_levels) + " may draw"
    days = activity.new_member_days
    if days is not None and (joined_at is None or joined_at < at - timedelta(days=days)):
        return f"only members who joined in the last {days} days may draw"
    return None
