"""Creating and stopping activities; refusing a SKU in two activities at overlapping times."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.seckill.limits import LimitInput, limits_of
from yutang.plugins.seckill.models import (
    SeckillActivity,
    SeckillItem,
    SeckillSession,
    SeckillSkuGuard,
)
from yutang.plugins.seckill.schedule import overlaps, parse_time_of_day, slots
from yutang.plugins.seckill.settings import settings_of

MAX_WINDOW = timedelta(days=366)
Aware = Annotated[datetime, msgspec.Meta(tz=True)]


class ItemInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A SKU in a session: its activity price and the units of each occurrence."""

    sku_id: int
    price: Annotated[int, msgspec.Meta(ge=0, le=10**12)]
    stock: Annotated[int, msgspec.Meta(ge=1, le=10**7)]


class SessionInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Daily times of day (``"10:00"``, in the tenant's zone) or one-off datetimes."""

    items: Annotated[list[ItemInput], msgspec.Meta(min_length=1, max_length=50)]
    daily_start: str | None = None
    daily_end: str | None = None
    starts_at: Aware | None = None
    ends_at: Aware | None = None


class ActivityInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A new activity; ``payment_minutes`` defaults to the tenant's seckill setting.

    ``limits`` per scope, or ``member_limit`` alone (an ACTIVITY limit, as earlier
    clients send it); neither is one unit per member in the activity.
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    starts_at: Aware
    ends_at: Aware
    sessions: Annotated[list[SessionInput], msgspec.Meta(min_length=1, max_length=50)]
    limits: Annotated[list[LimitInput], msgspec.Meta(min_length=1, max_length=3)] | None = None
    member_limit: Annotated[int, msgspec.Meta(ge=1)] | None = None
    payment_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] | None = None


def _time_of_day(text: str | None, field: str) -> int:
    seconds = parse_time_of_day(text) if text is not None else None
    if seconds is None:
        raise api.DomainError("INVALID", "a time of day like 10:00 is required", field)
    return seconds


def _session_row(
    tenant: api.TenantInfo, activity: SeckillActivity, i: int, s: SessionInput
) -> SeckillSession:
    """An unsaved session, its times checked; errors name ``input.sessions[i]``."""
    at = f"input.sessions[{i}]"
    daily = s.daily_start is not None or s.daily_end is not None
    once = s.starts_at is not None or s.ends_at is not None
    if daily == once:
        raise api.DomainError(
            "INVALID", "give either dailyStart and dailyEnd, or startsAt and endsAt", at
        )
    row = SeckillSession(tenant_id=tenant.id, activity_id=activity.id, position=i)
    if daily:
        row.daily_start = _time_of_day(s.daily_start, f"{at}.dailyStart")
        row.daily_end = _time_of_day(s.daily_end, f"{at}.dailyEnd")
        if row.daily_start == row.daily_end:
            raise api.DomainError("INVALID", "a session cannot last a whole day", f"{at}.dailyEnd")
        return row
    if s.starts_at is None or s.ends_at is None:
        field = "startsAt" if s.starts_at is None else "endsAt"
        raise api.DomainError(
            "INVALID", "a one-off session needs startsAt and endsAt", f"{at}.{field}"
        )
    if s.starts_at >= s.ends_at:
        raise api.DomainError("INVALID", "must be after startsAt", f"{at}.endsAt")
    if s.starts_at < activity.starts_at or s.ends_at > activity.ends_at:
        raise api.DomainError("INVALID", "must lie within the activity's window", f"{at}.startsAt")
    row.starts_at, row.ends_at = s.starts_at.astimezone(UTC), s.ends_at.astimezone(UTC)
    return row


def _check_window(data: ActivityInput) -> None:
    if data.ends_at <= data.starts_at:
        raise api.DomainError("INVALID", "must be after startsAt", "input.endsAt")
    if data.ends_at <= api.now():
        raise api.DomainError("INVALID", "must be in the future", "input.endsAt")
    if data.ends_at - data.starts_at > MAX_WINDOW:
        raise api.DomainError("INVALID", "an activity lasts at most 366 days", "input.endsAt")


async def _items(
    tenant: api.TenantInfo, data: ActivityInput, sessions: list[SeckillSession]
) -> list[SeckillItem]:
    """Unsaved items, each checked against its SKU; errors name the item."""
    skus = await api.sku_summaries(tenant, (item.sku_id for s in data.sessions for item in s.items))
    rows: list[SeckillItem] = []
    for i, (s, session) in enumerate(zip(data.sessions, sessions, strict=True)):
        seen: set[int] = set()
        for j, item in enumerate(s.items):
            at = f"input.sessions[{i}].items[{j}]"
            sku = skus.get(item.sku_id)
            if sku is None:
                raise api.NotFound("SKU", f"{at}.skuId")
            if item.sku_id in seen:
                raise api.DomainError(
                    "DUPLICATE", "this SKU is already in the session", f"{at}.skuId"
                )
            if item.price > sku.price:
                raise api.DomainError(
                    "INVALID", "the activity price cannot exceed the SKU's price", f"{at}.price"
                )
            seen.add(item.sku_id)
            rows.append(
                SeckillItem(
                    tenant_id=tenant.id,
                    activity_id=session.activity_id,
                    session_id=session.id,
                    position=j,
                    sku_id=item.sku_id,
                    product_id=sku.product_id,
                    price=item.price,
                    stock=item.stock,
                )
            )
    return rows


async def _refuse_overlaps(tenant: api.TenantInfo, activity: SeckillActivity) -> None:
    """Refuse the new activity if one of its SKUs sells at an overlapping time in another
    live activity or in two of its own sessions."""
    new = await SeckillItem.filter(tenant_id=tenant.id, activity_id=activity.id).select_related(
        "session", "activity"
    )
    live = await SeckillItem.filter(
        tenant_id=tenant.id,
        sku_id__in={i.sku_id for i in new},
        activity__stopped_at__isnull=True,
        activity__ends_at__gt=activity.starts_at,
        activity__starts_at__lt=activity.ends_at,
    ).select_related("session", "activity")
    by_sku: dict[int, list[SeckillItem]] = defaultdict(list)
    for other in live:
        by_sku[other.sku_id].append(other)
    zone = tenant.zone
    for item in sorted(new, key=lambda x: (x.session.position, x.position)):
        for other in by_sku[item.sku_id]:
            if other.session_id == item.session_id:
                continue
            lo = max(item.activity.starts_at, other.activity.starts_at)
            hi = min(item.activity.ends_at, other.activity.ends_at)
            clash = overlaps(
                slots(item.session, item.activity, zone, lo, hi),
                slots(other.session, other.activity, zone, lo, hi),
            )
            if clash is not None:
                when = f"{clash[1].starts_at.astimezone(zone):%Y-%m-%d %H:%M}"
                raise api.DomainError(
                    "OVERLAP",
                    f"this SKU already sells in activity {other.activity.name!r} at {when}",
                    f"input.sessions[{item.session.position}].items[{item.position}].skuId",
                )


async def create_activity(tenant: api.TenantInfo, data: ActivityInput) -> SeckillActivity:
    """Create an activity with its sessions and items in one transaction.

    Times are stored in UTC: SQLite compares them as text.
    """
    _check_window(data)
    settings = settings_of(tenant)
    limits = limits_of(data.limits, data.member_limit, settings.max_member_limit)
    minutes = data.payment_minutes or settings.payment_minutes
    async with in_transaction():
        sku_ids = sorted({item.sku_id for s in data.sessions for item in s.items})
        await SeckillSkuGuard.bulk_create(
            [SeckillSkuGuard(tenant_id=tenant.id, sku_id=sku) for sku in sku_ids],
            ignore_conflicts=True,
        )
        await (
            SeckillSkuGuard.filter(tenant_id=tenant.id, sku_id__in=sku_ids)
            .order_by("sku_id")
            .select_for_update()
            .values("id")
        )
        activity = await SeckillActivity.create(
            tenant_id=tenant.id,
            name=data.name,
            starts_at=data.starts_at.astimezone(UTC),
            ends_at=data.ends_at.astimezone(UTC),
            limits=limits,
            payment_minutes=minutes,
        )
        sessions = [_session_row(tenant, activity, i, s) for i, s in enumerate(data.sessions)]
        for session in sessions:
            await session.save()
        await SeckillItem.bulk_create(await _items(tenant, data, sessions))
        await _refuse_overlaps(tenant, activity)
    return activity


async def stop_activity(tenant: api.TenantInfo, activity_id: int) -> SeckillActivity:
    """Stop an activity for good: its sessions stop selling at once; unpaid orders may
    still be paid until their deadline. Stopping again writes nothing and returns the
    activity as it is (``stopped_at`` keeps the first stop's time)."""
    async with in_transaction():
        await SeckillActivity.filter(
            tenant_id=tenant.id, id=activity_id, stopped_at__isnull=True
        ).update(stopped_at=api.now())
        activity = await SeckillActivity.get_or_none(tenant_id=tenant.id, id=activity_id)
        if activity is None:
            raise api.NotFound("seckill activity", "id")
    return activity
