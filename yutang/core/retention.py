"""Retention: what the job system and the webhook log keep, for periods that are the
same for every tenant.

Done jobs go after ``job_retention_days``, and those an operator discarded (``failed``
ones wait for one). De-duplication does not depend on them: a dedupe key lives on in
``job_key`` (``yutang.core.outbox.schedule``), so ``payment_timeout:{order}`` cannot be
scheduled, let alone run, a second time after its row was deleted. A key is forgotten
only when its scheduler said when it could no longer recur (``forget_after``: a
recurring occurrence's time, a webhook attempt's) and that moment, like its job's
deletion, is a retention period past. Keys of business objects (an order's timeout)
carry no such moment and are kept: one small row per object.

Webhook deliveries that were delivered or failed for good go, with their attempts,
after ``webhook_retention_days``. Deletes go in batches, each its own short transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from yutang.core import clock
from yutang.core.models import Job, JobKey, WebhookAttempt, WebhookDelivery

BATCH = 1000
FINISHED = ("done", "discarded")
SETTLED = ("delivered", "failed")

Progress = Callable[[str, int], None]
"""Hears what is being pruned (``jobs``, ``keys``, ``deliveries``) and its running total."""


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows of each kind one pass deleted."""

    jobs: int
    keys: int
    deliveries: int


async def apply(
    jobs_for: timedelta, webhooks_for: timedelta, progress: Progress | None = None
) -> Pruned:
    """One retention pass: done jobs, then the keys they no longer need, then the log."""
    jobs = await prune(jobs_for, progress)
    keys = await forget_keys(jobs_for, progress)
    deliveries = await prune_deliveries(webhooks_for, progress)
    return Pruned(jobs, keys, deliveries)


async def prune(keep: timedelta, progress: Progress | None = None) -> int:
    """Delete done (and discarded) jobs finished more than ``keep`` ago; the number deleted."""
    cutoff = clock.now() - keep
    total = 0
    while True:
        finished = Job.filter(status__in=FINISHED, done_at__lt=cutoff)
        ids = await finished.limit(BATCH).values_list("id", flat=True)
        if not ids:
            return total
        total += await Job.filter(id__in=list(ids), status__in=FINISHED).delete()
        if progress is not None:
            progress("jobs", total)


async def forget_keys(keep: timedelta, progress: Progress | None = None) -> int:
    """Delete dedupe keys that cannot recur, ``keep`` past that moment, whose job is gone."""
    cutoff = clock.now() - keep
    total, after = 0, ""
    while True:
        keys = await (
            JobKey.filter(forget_after__lt=cutoff, key__gt=after)
            .order_by("key")
            .limit(BATCH)
            .values_list("key", flat=True)
        )
        if not keys:
            return total
        after = str(keys[-1])
        alive = set(
            await Job.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True)
        )
        gone = [k for k in keys if k not in alive]
        if gone:
            total += await JobKey.filter(key__in=gone).delete()
            if progress is not None:
                progress("keys", total)


async def prune_deliveries(keep: timedelta, progress: Progress | None = None) -> int:
    """Delete settled webhook deliveries made more than ``keep`` ago, with their attempts."""
    cutoff = clock.now() - keep
    total = 0
    while True:
        old = WebhookDelivery.filter(created_at__lt=cutoff, status__in=SETTLED)
        ids = list(await old.limit(BATCH).values_list("id", flat=True))
        if not ids:
            return total
        async with in_transaction():
            await WebhookAttempt.filter(delivery_id__in=ids).delete()
            total += await WebhookDelivery.filter(id__in=ids, status__in=SETTLED).delete()
        if progress is not None:
            progress("deliveries", total)
