"""Creating and stopping group-buy activities, with every rule checked against the SKUs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.groupbuy.models import GroupbuyActivity, GroupbuyItem
from yutang.plugins.groupbuy.settings import settings_of

Aware = Annotated[datetime, msgspec.Meta(tz=True)]
Amount = Annotated[int, msgspec.Meta(ge=0, le=10**12)]


class ItemInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A SKU at the group price; ``leader_price`` (团长价), if set, is for whoever opens a team."""

    sku_id: int
    price: Amount
    leader_price: Amount | None = None


class ActivityInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A new activity; ``payment_minutes`` (the unpaid seat hold) defaults to the setting."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    starts_at: Aware
    ends_at: Aware
    team_size: Annotated[int, msgspec.Meta(ge=2)]
    validity_minutes: Annotated[int, msgspec.Meta(ge=1)]
    items: Annotated[list[ItemInput], msgspec.Meta(min_length=1, max_length=50)]
    member_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    payment_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] | None = None
    virtual_completion: bool = False


def _check_rules(tenant: api.TenantInfo, data: ActivityInput) -> int:
    """The payment minutes to use; INVALID naming the field of a rule broken."""
    settings = settings_of(tenant)
    if data.ends_at <= data.starts_at:
        raise api.DomainError("INVALID", "must be after startsAt", "input.endsAt")
    if data.team_size > settings.max_team_size:
        raise api.DomainError(
            "INVALID", f"at most {settings.max_team_size} members a team", "input.teamSize"
        )
    if data.validity_minutes > settings.max_validity_hours * 60:
        raise api.DomainError(
            "INVALID",
            f"a team may stay open at most {settings.max_validity_hours} hours",
            "input.validityMinutes",
        )
    minutes = data.payment_minutes or settings.payment_minutes
    if minutes > data.validity_minutes:
        raise api.DomainError(
            "INVALID",
            "an unpaid seat cannot be held longer than a team lives",
            "input.paymentMinutes",
        )
    return minutes


async def create_activity(tenant: api.TenantInfo, data: ActivityInput) -> GroupbuyActivity:
    """Create an activity; prices must lie within each SKU's list price, leader ≤ group."""
    minutes = _check_rules(tenant, data)
    skus = await api.sku_summaries(tenant, {it.sku_id for it in data.items})
    seen: set[int] = set()
    for i, it in enumerate(data.items):
        sku = skus.get(it.sku_id)
        if sku is None:
            raise api.NotFound("SKU", f"input.items[{i}].skuId")
        if it.sku_id in seen:
            raise api.DomainError("DUPLICATE", "each SKU at most once", f"input.items[{i}].skuId")
        seen.add(it.sku_id)
        if it.price > sku.price:
            raise api.DomainError(
                "INVALID", "the group price cannot exceed the list price", f"input.items[{i}].price"
            )
        if it.leader_price is not None and it.leader_price > it.price:
            raise api.DomainError(
                "INVALID",
                "the leader price cannot exceed the group price",
                f"input.items[{i}].leaderPrice",
            )
    async with in_transaction():
        activity = await GroupbuyActivity.create(
            tenant_id=tenant.id,
            name=data.name,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            team_size=data.team_size,
            validity_minutes=data.validity_minutes,
            member_limit=data.member_limit,
            payment_minutes=minutes,
            virtual_completion=data.virtual_completion,
        )
        await GroupbuyItem.bulk_create(
            [
                GroupbuyItem(
                    tenant_id=tenant.id,
                    activity_id=activity.id,
                    position=i,
                    sku_id=it.sku_id,
                    product_id=skus[it.sku_id].product_id,
                    price=it.price,
                    leader_price=it.leader_price,
                )
                for i, it in enumerate(data.items)
            ]
        )
    return activity


async def stop_activity(tenant: api.TenantInfo, activity_id: int) -> GroupbuyActivity:
    """Stop an activity for good: no new teams; open teams run to success or expiry."""
    async with in_transaction():
        await GroupbuyActivity.filter(
            tenant_id=tenant.id, id=activity_id, stopped_at__isnull=True
        ).update(stopped_at=api.now())
        activity = await GroupbuyActivity.get_or_none(tenant_id=tenant.id, id=activity_id)
    if activity is None:
        raise api.NotFound("group-buy activity", "id")
    return activity


def running(activity: GroupbuyActivity, now: datetime) -> bool:
    """Whether new teams may open now."""
    return activity.stopped_at is None and activity.starts_at <= now < activity.ends_at


def status_of(activity: GroupbuyActivity, now: datetime) -> str:
    """scheduled, running, ended or stopped."""
    if activity.stopped_at is not None:
        return "stopped"
    if now < activity.starts_at:
        return "scheduled"
    return "running" if now < activity.ends_at else "ended"
