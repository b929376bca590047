"""Sending a webhook delivery: one attempt per durable job, retried with backoff.

The job runs outside any transaction (it waits on someone else's server): it checks the
URL again, posts the signed body to the checked address, then records the attempt and
what follows from it in one transaction — the delivery's status, the next attempt's job
(de-duplicated by its key, so a job run twice after a crash schedules one), and the
subscription's failure count. A receiver gets every delivery at least once and always
under the same ``webhook-id``; it answers 2xx to accept it.

After a failed attempt the next waits :data:`BACKOFF` (about 28 hours in all, then the
delivery has failed for good). A subscription whose last :data:`DISABLE_AFTER_FAILURES`
attempts or more all failed, the first of them :data:`DISABLE_AFTER` or longer ago, is
disabled, and its owner is told by an audit log entry (actor ``system:webhooks``,
action ``webhookSubscriptionDisabled``) beside the reason on the subscription itself.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import clock, outbox, webhooks
from yutang.core.contract import TenantInfo, outside_transaction
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import AuditEntry, WebhookAttempt, WebhookDelivery, WebhookSubscription
from yutang.core.schedules import Queue
from yutang.core.settings import WebhookSettings
from yutang.core.webhooks import JOB
from yutang.core.webhooks_events import gid
from yutang.core.webhooks_outbound import Outcome, post, resolve
from yutang.core.webhooks_signing import headers

BACKOFF = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""The wait after each failed automatic attempt; one attempt more than waits in all."""
MAX_ATTEMPTS = len(BACKOFF) + 1
DISABLE_AFTER_FAILURES = MAX_ATTEMPTS
"""Failed attempts in a row that disable a subscription (with :data:`DISABLE_AFTER`): a
single delivery failing for good is enough."""
DISABLE_AFTER = timedelta(hours=24)


def live_secrets(sub: WebhookSubscription) -> list[str]:
    """The secrets that sign now: the current one, and a rotated-out one until it expires."""
    found = [sub.secret]
    if sub.previous_secret and sub.previous_until and sub.previous_until > clock.now():
        found.append(sub.previous_secret)
    return found


async def _attempt(sub: WebhookSubscription, delivery: WebhookDelivery) -> Outcome:
    settings = WebhookSettings.from_env()
    try:
        target = await resolve(sub.url, settings)
    except DomainError as err:
        return Outcome(False, None, 0, f"refused: {err.message}"[:500], "")
    signed = headers(delivery.message_id, int(time.time()), delivery.body, live_secrets(sub))
    return await post(target, signed, delivery.body.encode(), settings)


@outside_transaction
async def deliver(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: one attempt of a delivery (``attempt`` in the automatic schedule, or a
    ``manual`` redelivery); an automatic one already made, or made moot, does nothing."""
    delivery = await WebhookDelivery.get_or_none(tenant_id=tenant.id, id=payload["delivery_id"])
    if delivery is None:
        return
    manual, number = bool(payload.get("manual")), int(payload["attempt"])
    if not manual and (delivery.status != "pending" or delivery.attempts >= number):
        return
    sub = await WebhookSubscription.get(tenant_id=tenant.id, id=delivery.subscription_id)
    if not sub.active and not manual:
        await WebhookDelivery.filter(id=delivery.id, status="pending").update(
            status="failed", next_attempt_at=None, last_error="the subscription is disabled"
        )
        return
    outcome = await _attempt(sub, delivery)
    await _record(tenant, delivery.id, number if not manual else None, outcome)


async def _record(
    tenant: TenantInfo, delivery_id: int, automatic: int | None, outcome: Outcome
) -> None:
    """The attempt, the delivery's next step and the subscription's health, together."""
    now = clock.now()
    async with in_transaction():
        query = WebhookDelivery.filter(tenant_id=tenant.id, id=delivery_id)
        delivery = await query.select_for_update().get()
        logged = await WebhookAttempt.filter(tenant_id=tenant.id, delivery_id=delivery_id).count()
        await WebhookAttempt.create(
            tenant_id=tenant.id,
            delivery_id=delivery_id,
            number=logged + 1,
            manual=automatic is None,
            succeeded=outcome.ok,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        )
        changes: dict[str, Any] = {"last_status_code": outcome.status_code}
        changes["last_error"] = outcome.error
        if automatic is not None:
            changes["attempts"] = max(delivery.attempts, automatic)
        if outcome.ok:
            changes.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif automatic is not None and delivery.status == "pending":
            if automatic < MAX_ATTEMPTS:
                due = now + BACKOFF[automatic - 1]
                changes["next_attempt_at"] = due
                payload, key = webhooks.attempt_of(delivery_id, automatic + 1)
                await outbox.schedule(
                    tenant.id,
                    JOB,
                    payload,
                    due,
                    dedupe_key=key,
                    queue=Queue.WEBHOOKS,
                    forget_key_after=due,
                )
            else:
                changes.update(status="failed", next_attempt_at=None)
        await query.update(**changes)
        await _health(tenant, delivery.subscription_id, outcome.ok)


async def _health(tenant: TenantInfo, sub_id: int, ok: bool) -> None:
    """Count the subscription's consecutive failures; disable it when they persist."""
    query = WebhookSubscription.filter(tenant_id=tenant.id, id=sub_id)
    if ok:
        await query.update(failures=0, failing_since=None)
        return
    sub = await query.select_for_update().get()
    now = clock.now()
    since = sub.failing_since or now
    await query.update(failures=F("failures") + 1, failing_since=since)
    if sub.active and sub.failures + 1 >= DISABLE_AFTER_FAILURES and now - since >= DISABLE_AFTER:
        reason = (
            f"disabled after {sub.failures + 1} failed attempts in a row since {since.isoformat()}"
        )
        await query.update(active=False, disabled_at=now, disabled_reason=reason)
        await webhooks.wanted(tenant.id)
        await AuditEntry.create(
            tenant_id=tenant.id,
            actor="system:webhooks",
            action="webhookSubscriptionDisabled",
            plugin="core",
            target=gid("WebhookSubscription", sub_id),
        )


async def redeliver(tenant: TenantInfo, delivery_id: int) -> WebhookDelivery:
    """Send a delivery once more, now, with its id and body unchanged (a receiver that
    lost it, or one fixed after the retries gave up); its subscription must be on."""
    async with in_transaction():
        delivery = await WebhookDelivery.get_or_none(tenant_id=tenant.id, id=delivery_id)
        if delivery is None:
            raise NotFound("webhook delivery", "deliveryId")
        sub = await webhooks.get(tenant, delivery.subscription_id, "deliveryId")
        if not sub.active:
            raise DomainError(
                "ILLEGAL_TRANSITION",
                "the subscription is disabled: switch it on first",
                "deliveryId",
            )
        payload = {"delivery_id": delivery.id, "attempt": 0, "manual": True}
        await outbox.schedule(tenant.id, JOB, payload, clock.now(), queue=Queue.WEBHOOKS)
    return delivery
