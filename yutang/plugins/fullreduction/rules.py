"""Saving and stopping rules; refusing two live rules whose times and goods overlap (judged
from the catalogue, see ``scopes``), so at most one rule applies to a line and a quote
stays linear in rules and lines."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Literal

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.fullreduction.models import FullreductionGuard, FullreductionRule
from yutang.plugins.fullreduction.scopes import CATEGORIES, PRODUCTS, TAGS, Scope, goods, overlap
from yutang.plugins.fullreduction.settings import settings_of
from yutang.plugins.fullreduction.tiers import LADDER, PER, Tier

Aware = Annotated[datetime, msgspec.Meta(tz=True)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
SCOPE_FIELD = MappingProxyType(
    {PRODUCTS: "input.scopeIds", CATEGORIES: "input.scopeIds", TAGS: "input.scopeTags"}
)


class RuleInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A new rule; ``scope_ids`` are product or category ids, ``scope_tags`` product tags."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    starts_at: Aware
    ends_at: Aware
    tiers: Annotated[list[Tier], msgspec.Meta(min_length=1)]
    scope: Literal["all", "products", "categories", "tags"] = "all"
    scope_ids: list[int] = msgspec.field(default_factory=list)
    scope_tags: list[Tag] = msgspec.field(default_factory=list)
    mode: Literal["ladder", "per"] = "ladder"
    cap: Annotated[int, msgspec.Meta(ge=1, le=10**12)] | None = None


def _invalid(message: str, field: str) -> api.DomainError:
    return api.DomainError("INVALID", message, field)


def _check_tier(i: int, tier: Tier, mode: str) -> None:
    at = f"input.tiers[{i}]"
    if tier.off and tier.percent_off:
        raise _invalid("an amount off or a percentage off, not both", f"{at}.percentOff")
    if tier.off > tier.threshold:
        raise _invalid("cannot take off more than the threshold", f"{at}.off")
    gives = (tier.off, tier.percent_off, tier.free_shipping, tier.gift_sku_id, tier.points)
    if not any(gives) and not tier.coupon:
        raise _invalid("a tier must give something", at)
    if mode == PER and (not tier.off or any(gives[1:]) or tier.coupon):
        raise _invalid("a per-threshold tier gives an amount off and nothing else", f"{at}.off")


def check(tenant: api.TenantInfo, data: RuleInput) -> None:
    """Refuse an inconsistent rule, naming the field."""
    settings = settings_of(tenant)
    if data.ends_at <= data.starts_at:
        raise _invalid("must be after startsAt", "input.endsAt")
    if data.ends_at <= api.now():
        raise _invalid("must be in the future", "input.endsAt")
    if (data.scope in (PRODUCTS, CATEGORIES)) != bool(data.scope_ids):
        raise _invalid("ids are given exactly for products or categories", "input.scopeIds")
    if (data.scope == TAGS) != bool(data.scope_tags):
        raise _invalid("tags are given exactly when the scope is tags", "input.scopeTags")
    if len(data.scope_ids) + len(data.scope_tags) > settings.max_scope_ids:
        raise _invalid(f"at most {settings.max_scope_ids} ids or tags", "input.scopeIds")
    if len(data.tiers) > settings.max_tiers:
        raise _invalid(f"at most {settings.max_tiers} tiers", "input.tiers")
    if data.mode == PER and len(data.tiers) != 1:
        raise _invalid("a per-threshold rule has exactly one tier", "input.tiers")
    if data.mode == LADDER and data.cap is not None:
        raise _invalid("only per-threshold rules have a cap", "input.cap")
    if data.cap is not None and data.cap < data.tiers[0].off:
        raise _invalid("the cap is below one tier's amount", "input.cap")
    for i, tier in enumerate(data.tiers):
        _check_tier(i, tier, data.mode)
        if i and tier.threshold <= data.tiers[i - 1].threshold:
            raise _invalid("thresholds must rise tier by tier", f"input.tiers[{i}].threshold")


async def _check_gifts(tenant: api.TenantInfo, data: RuleInput) -> None:
    wanted = {t.gift_sku_id for t in data.tiers if t.gift_sku_id is not None}
    found = await api.sku_summaries(tenant, wanted)
    for i, tier in enumerate(data.tiers):
        if tier.gift_sku_id is not None and tier.gift_sku_id not in found:
            raise api.NotFound("SKU", f"input.tiers[{i}].giftSkuId")


async def create_rule(tenant: api.TenantInfo, data: RuleInput) -> FullreductionRule:
    """Save a rule unless a live rule overlaps it in time and goods (OVERLAP, naming both).

    Times are stored in UTC: SQLite compares them as text.
    """
    check(tenant, data)
    await _check_gifts(tenant, data)
    starts_at, ends_at = data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
    async with in_transaction():
        await FullreductionGuard.bulk_create(
            [FullreductionGuard(tenant_id=tenant.id)], ignore_conflicts=True
        )
        await FullreductionGuard.filter(tenant_id=tenant.id).select_for_update().first()
        live = await FullreductionRule.filter(
            tenant_id=tenant.id,
            stopped_at__isnull=True,
            starts_at__lt=ends_at,
            ends_at__gt=max(starts_at, api.now().astimezone(UTC)),
        ).order_by("id")
        mine = Scope.of(data.scope, data.scope_ids, data.scope_tags)
        my_goods = await goods(tenant, mine) if live else []
        for rule in live:
            shared = overlap(mine, Scope.of_rule(rule), my_goods)
            if shared is not None:
                raise api.DomainError(
                    "OVERLAP",
                    f"rule {data.name!r} overlaps rule {rule.name!r} at the same time and "
                    f"for {shared}",
                    SCOPE_FIELD.get(data.scope, "input.scope"),
                )
        return await FullreductionRule.create(
            tenant_id=tenant.id,
            name=data.name,
            starts_at=starts_at,
            ends_at=ends_at,
            scope=data.scope,
            scope_ids=sorted(set(data.scope_ids)),
            scope_tags=sorted(set(data.scope_tags)),
            mode=data.mode,
            tiers=msgspec.to_builtins(data.tiers),
            cap=data.cap,
        )


async def stop_rule(tenant: api.TenantInfo, rule_id: int) -> FullreductionRule:
    """Stop a rule for good; it no longer prices quotes."""
    async with in_transaction():
        rule = (
            await FullreductionRule.filter(tenant_id=tenant.id, id=rule_id)
            .select_for_update()
            .first()
        )
        if rule is None:
            raise api.NotFound("full-reduction rule", "id")
        if rule.stopped_at is None:
            rule.stopped_at = api.now()
            await FullreductionRule.filter(id=rule.id).update(stopped_at=rule.stopped_at)
    return rule


def tiers_of(rule: FullreductionRule) -> list[Tier]:
    """A saved rule's tiers."""
    return msgspec.convert(rule.tiers, list[Tier])


async def live_rules(tenant: api.TenantInfo, now: datetime) -> list[FullreductionRule]:
    """Rules pricing quotes at ``now``, oldest first."""
    now = now.astimezone(UTC)
    return await FullreductionRule.filter(
        tenant_id=tenant.id, stopped_at__isnull=True, starts_at__lte=now, ends_at__gt=now
    ).order_by("id")


async def next_window_edge(tenant: api.TenantInfo, now: datetime) -> datetime | None:
    """The next start or end of a rule that is not stopped (a response cache's expiry)."""
    now = now.astimezone(UTC)
    rules = await FullreductionRule.filter(
        tenant_id=tenant.id, stopped_at__isnull=True, ends_at__gt=now
    ).values_list("starts_at", "ends_at")
    return min((t for pair in rules for t in pair if t > now), default=None)
