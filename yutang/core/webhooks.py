"""Webhooks: a tenant's outside systems (ERP, WMS, CRM, BI) receive its events over HTTPS.

A subscription names a URL and the event types it wants (``webhooks_events``). When the
outbox records an event (:func:`enqueue`, called by ``outbox.emit`` in the business
write's transaction), each active subscription wanting its type gets a delivery — the
body fixed once — and a durable job for its first attempt, in that same transaction:
a committed write is never lost to its receivers, a rolled-back one sends nothing.
``webhooks_delivery`` sends, retries and keeps the log.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import clock
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.inputs import bounded
from yutang.core.models import Tenant, WebhookDelivery, WebhookSubscription
from yutang.core.settings import WebhookSettings
from yutang.core.webhooks_events import BY_HOOK, TYPES, data_of
from yutang.core.webhooks_outbound import resolve
from yutang.core.webhooks_signing import new_secret

JOB = "core.webhook_deliver"
MAX_SUBSCRIPTIONS = 20
MAX_PREVIOUS_HOURS = 168
"""The longest a rotated-out secret may keep signing (a week)."""


def attempt_of(delivery_id: int, attempt: int) -> tuple[dict[str, Any], str]:
    """The payload and de-duplication key of a delivery's automatic ``attempt``."""
    payload = {"delivery_id": delivery_id, "attempt": attempt, "manual": False}
    return payload, f"webhook:{delivery_id}:{attempt}"


async def enqueue(tenant: TenantInfo, hook: str, payload: dict[str, Any]) -> list[int]:
    """A delivery for every active subscription to the event ``hook``; must run in the
    transaction that wrote the event, which schedules each one's first attempt
    (``outbox.emit``). The ids of the deliveries."""
    kind = BY_HOOK.get(hook)
    if kind is None or kind.name not in tenant.webhook_events:
        return []
    subs = await WebhookSubscription.filter(tenant_id=tenant.id, active=True).only(
        "id", "event_types"
    )
    wanted = [s for s in subs if kind.name in s.event_types]
    if not wanted:
        return []
    body = msgspec.json.encode(
        {
            "type": kind.name,
            "version": kind.version,
            "timestamp": payload["at"],
            "tenant": tenant.slug,
            "data": await data_of(tenant.id, kind, payload),
        }
    ).decode()
    created = []
    for sub in wanted:
        delivery = await WebhookDelivery.create(
            tenant_id=tenant.id,
            subscription_id=sub.id,
            message_id=f"msg_{secrets.token_urlsafe(18)}",
            event_type=kind.name,
            body=body,
            next_attempt_at=clock.now(),
        )
        created.append(delivery.id)
    return created


async def wanted(tenant_id: int) -> None:
    """Keep the tenant's ``webhook_events`` equal to what its active subscriptions want
    (in the caller's transaction, after it changed them); a change bumps the tenant's
    settings version, so every process sees it on its next request."""
    subs = await WebhookSubscription.filter(tenant_id=tenant_id, active=True).only(
        "id", "event_types"
    )
    types = sorted({t for sub in subs for t in sub.event_types})
    row = await Tenant.get(id=tenant_id).only("id", "webhook_events")
    if (row.webhook_events or []) != types:
        await Tenant.filter(id=tenant_id).update(
            webhook_events=types, settings_version=F("settings_version") + 1
        )


def _event_types(values: list[str]) -> list[str]:
    if not values:
        raise DomainError("REQUIRED", "name at least one event type", "eventTypes")
    for i, value in enumerate(values):
        if value not in TYPES:
            bounded(value, f"eventTypes.{i}", 64)
            raise DomainError("INVALID", f"no event type {value!r}", f"eventTypes.{i}")
    return sorted(set(values))


async def _checked_url(url: str) -> str:
    await resolve(url, WebhookSettings.from_env())
    return url.strip()


async def create(
    tenant: TenantInfo, url: str, event_types: list[str], description: str
) -> tuple[WebhookSubscription, str]:
    """A new active subscription and its secret (shown to the caller this once)."""
    bounded(description, "description", 200)
    kinds = _event_types(event_types)
    checked = await _checked_url(url)
    async with in_transaction():
        count = await WebhookSubscription.filter(tenant_id=tenant.id).count()
        if count >= MAX_SUBSCRIPTIONS:
            raise DomainError(
                "LIMIT_REACHED", f"a shop has at most {MAX_SUBSCRIPTIONS} webhook subscriptions"
            )
        secret = new_secret()
        sub = await WebhookSubscription.create(
            tenant_id=tenant.id,
            url=checked,
            event_types=kinds,
            description=description,
            secret=secret,
        )
        await wanted(tenant.id)
    return sub, secret


async def get(tenant: TenantInfo, sub_id: int, field: str = "id") -> WebhookSubscription:
    """The tenant's subscription, or NOT_FOUND naming ``field``."""
    sub = await WebhookSubscription.get_or_none(tenant_id=tenant.id, id=sub_id)
    if sub is None:
        raise NotFound("webhook subscription", field)
    return sub


async def update(
    tenant: TenantInfo,
    sub_id: int,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    """Change what is given; switching a subscription back on clears its failure count."""
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = bounded(description, "description", 200)
    if event_types is not None:
        changes["event_types"] = _event_types(event_types)
    if url is not None:
        changes["url"] = await _checked_url(url)
    if active is not None:
        changes["active"] = active
        changes["disabled_at"] = None if active else clock.now()
        changes["disabled_reason"] = None if active else "switched off by staff"
        if active:
            changes["failures"], changes["failing_since"] = 0, None
    async with in_transaction():
        await get(tenant, sub_id)
        if changes:
            await WebhookSubscription.filter(tenant_id=tenant.id, id=sub_id).update(**changes)
            await wanted(tenant.id)
    return await get(tenant, sub_id)


async def rotate(
    tenant: TenantInfo, sub_id: int, keep_previous_hours: int
) -> tuple[WebhookSubscription, str]:
    """A new secret; the old one still signs beside it for ``keep_previous_hours``."""
    if not 0 <= keep_previous_hours <= MAX_PREVIOUS_HOURS:
        raise DomainError(
            "INVALID", f"between 0 and {MAX_PREVIOUS_HOURS} hours", "keepPreviousHours"
        )
    secret = new_secret()
    async with in_transaction():
        sub = await get(tenant, sub_id)
        keep = keep_previous_hours > 0
        await WebhookSubscription.filter(tenant_id=tenant.id, id=sub_id).update(
            secret=secret,
            previous_secret=sub.secret if keep else None,
            previous_until=clock.now() + timedelta(hours=keep_previous_hours) if keep else None,
        )
    return await get(tenant, sub_id), secret


async def delete(tenant: TenantInfo, sub_id: int) -> None:
    """Delete a subscription with its deliveries and their log."""
    async with in_transaction():
        sub = await get(tenant, sub_id)
        await sub.delete()
        await wanted(tenant.id)
