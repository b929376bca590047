"""Saving and stopping templates, and what a template takes off an amount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.coupons.models import CouponsTemplate
from yutang.plugins.coupons.settings import settings_of

Aware = Annotated[datetime, msgspec.Meta(tz=True)]
Amount = Annotated[int, msgspec.Meta(ge=1, le=10**12)]


class TemplateInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A new template: ``value`` is minor units (fixed) or the percentage off (percent)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    kind: Literal["fixed", "percent"]
    value: Amount
    max_discount: Amount | None = None
    min_spend: Annotated[int, msgspec.Meta(ge=0, le=10**12)] = 0
    scope: Literal["all", "products", "categories", "tags"] = "all"
    scope_ids: list[int] = msgspec.field(default_factory=list)
    scope_tags: list[Annotated[str, msgspec.Meta(min_length=1, max_length=30)]] = msgspec.field(
        default_factory=list
    )
    valid_from: Aware | None = None
    valid_until: Aware | None = None
    valid_days: Annotated[int, msgspec.Meta(ge=1)] | None = None
    total: Annotated[int, msgspec.Meta(ge=1)] | None = None
    per_member: Annotated[int, msgspec.Meta(ge=1)] = 1
    claimable: bool = True
    stacks: bool = True
    return_on_refund: bool = False


def _invalid(message: str, field: str) -> api.DomainError:
    return api.DomainError("INVALID", message, field)


def check(tenant: api.TenantInfo, data: TemplateInput) -> None:
    """Refuse an inconsistent template, naming the field."""
    settings = settings_of(tenant)
    if data.kind == "percent" and data.value > 99:
        raise _invalid("a percentage off is 1–99", "input.value")
    if data.kind == "fixed" and data.max_discount is not None:
        raise _invalid("only percentage coupons have a maximum", "input.maxDiscount")
    if data.kind == "fixed" and data.min_spend and data.value > data.min_spend:
        raise _invalid("a coupon cannot take off more than its minimum spend", "input.value")
    if (data.scope in ("products", "categories")) != bool(data.scope_ids):
        raise _invalid("ids are given exactly for products or categories", "input.scopeIds")
    if (data.scope == "tags") != bool(data.scope_tags):
        raise _invalid("tags are given exactly when the scope is tags", "input.scopeTags")
    if len(data.scope_ids) + len(data.scope_tags) > settings.max_scope_ids:
        raise _invalid(f"at most {settings.max_scope_ids} ids or tags", "input.scopeIds")
    if data.per_member > settings.max_per_member:
        raise _invalid(f"at most {settings.max_per_member}", "input.perMember")
    if (data.valid_until is None) == (data.valid_days is None):
        raise _invalid("give validUntil (fixed dates) or validDays (from claim)", "input.validDays")
    if data.valid_days is not None and data.valid_days > settings.max_valid_days:
        raise _invalid(f"at most {settings.max_valid_days} days", "input.validDays")
    if data.valid_days is not None and data.valid_from is not None:
        raise _invalid("validFrom goes with validUntil", "input.validFrom")
    if data.valid_until is not None:
        if data.valid_until <= api.now():
            raise _invalid("must be in the future", "input.validUntil")
        if data.valid_from is not None and data.valid_from >= data.valid_until:
            raise _invalid("must be before validUntil", "input.validFrom")


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


async def create_template(tenant: api.TenantInfo, data: TemplateInput) -> CouponsTemplate:
    """Save a template (times in UTC: SQLite compares them as text)."""
    check(tenant, data)
    return await CouponsTemplate.create(
        tenant_id=tenant.id,
        name=data.name,
        kind=data.kind,
        value=data.value,
        max_discount=data.max_discount,
        min_spend=data.min_spend,
        scope=data.scope,
        scope_ids=sorted(set(data.scope_ids)),
        scope_tags=sorted(set(data.scope_tags)),
        valid_from=_utc(data.valid_from),
        valid_until=_utc(data.valid_until),
        valid_days=data.valid_days,
        total=data.total,
        per_member=data.per_member,
        claimable=data.claimable,
        stacks=data.stacks,
        return_on_refund=data.return_on_refund,
    )


async def stop_template(tenant: api.TenantInfo, template_id: int) -> CouponsTemplate:
    """Stop claims and grants of a template for good; coupons already issued stay valid."""
    async with in_transaction():
        row = (
            await CouponsTemplate.filter(tenant_id=tenant.id, id=template_id)
            .select_for_update()
            .first()
        )
        if row is None:
            raise api.NotFound("coupon template", "id")
        if row.stopped_at is None:
            row.stopped_at = api.now()
            await CouponsTemplate.filter(id=row.id).update(stopped_at=row.stopped_at)
    return row


def validity(template: CouponsTemplate, now: datetime) -> tuple[datetime, datetime]:
    """When a coupon of ``template`` issued at ``now`` may be used: [start, end)."""
    if template.valid_days is not None:
        return now, now + timedelta(days=template.valid_days)
    assert template.valid_until is not None
    return template.valid_from or now, template.valid_until


def in_scope(template: CouponsTemplate, line: api.CheckoutLine) -> bool:
    """Whether a line is one the template covers (a category covers its subcategories, as
    the catalogue lists them)."""
    if template.scope == "products":
        return line.product_id in template.scope_ids
    if template.scope == "categories":
        return not set(template.scope_ids).isdisjoint((line.category_id, line.category_parent_id))
    if template.scope == "tags":
        return not set(template.scope_tags).isdisjoint(line.tags)
    return True


def saving(template: CouponsTemplate, spend: int) -> int:
    """What a coupon takes off ``spend`` (its in-scope lines), rounded down, at most ``spend``."""
    cap: int = template.value if template.kind == "fixed" else spend
    if template.kind == "percent":
        cap = api.percent_of(spend, template.value)
        if template.max_discount is not None:
            cap = min(cap, template.max_discount)
    return min(cap, spend)


def summary(template: CouponsTemplate, currency: str) -> str:
    """满¥100.00减¥10.00, 无门槛减¥5.00, 满¥100.00享9折 最多减¥20.00 …"""
    money = api.format_money
    head = f"满{money(template.min_spend, currency)}" if template.min_spend else "无门槛"
    if template.kind == "fixed":
        return f"{head}减{money(template.value, currency)}"
    text = f"{head}享{(100 - template.value) / 10:g}折"
    if template.max_discount is not None:
        text += f" 最多减{money(template.max_discount, currency)}"
    return text
