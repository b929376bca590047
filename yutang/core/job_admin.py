"""What platform operators see of the job system and do about it (admin API and CLI).

Counts are of the rows there are: done jobs past retention are gone (their dedupe keys
stay). A failed job waits for an operator: *retry* puts it back as due with a fresh set
of attempts, *discard* sets it aside for good (its dedupe key still holds, so it is not
scheduled again) and retention deletes it like a done one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from yutang.core import clock
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import Job, Tenant
from yutang.core.outbox import notify

RETRYABLE = ("failed", "discarded")


@dataclass(frozen=True, slots=True)
class JobCount:
    """How many jobs of one queue, tenant, name and status there are."""

    queue: str
    tenant_id: int | None
    tenant_slug: str | None
    name: str
    status: str
    count: int


async def counts(status: str | None = None, tenant_id: int | None = None) -> list[JobCount]:
    """Job counts grouped by queue, tenant, name and status, largest first."""
    query = Job.all()
    if status is not None:
        query = query.filter(status=status)
    if tenant_id is not None:
        query = query.filter(tenant_id=tenant_id)
    rows = (
        await query.annotate(n=Count("id"))
        .group_by("queue", "tenant_id", "name", "status")
        .values("queue", "tenant_id", "name", "status", "n")
    )
    ids = {row["tenant_id"] for row in rows if row["tenant_id"] is not None}
    slugs = dict(await Tenant.filter(id__in=list(ids)).values_list("id", "slug")) if ids else {}
    found = [
        JobCount(
            queue=row["queue"],
            tenant_id=row["tenant_id"],
            tenant_slug=slugs.get(row["tenant_id"]),
            name=row["name"],
            status=row["status"],
            count=row["n"],
        )
        for row in rows
    ]
    return sorted(found, key=lambda c: (-c.count, c.queue, c.name, c.tenant_id or 0, c.status))


def failed(queue: str | None = None, name: str | None = None) -> QuerySet[Job]:
    """Failed jobs, for a page of them (newest first)."""
    query = Job.filter(status="failed")
    if queue is not None:
        query = query.filter(queue=queue)
    if name is not None:
        query = query.filter(name=name)
    return query


async def retry(job_id: int) -> Job:
    """Make a failed (or discarded) job due now with a fresh set of attempts."""
    updated = await Job.filter(id=job_id, status__in=RETRYABLE).update(
        status="pending", run_at=clock.now(), attempts=0, locked_by=None, locked_until=None
    )
    if not updated:
        raise await _refused(job_id)
    job = await Job.get(id=job_id)
    await notify(job.queue)
    return job


async def discard(job_id: int) -> Job:
    """Set a failed or pending job aside for good (a running one is its worker's)."""
    updated = await Job.filter(id=job_id, status__in=("failed", "pending")).update(
        status="discarded", done_at=clock.now(), locked_by=None, locked_until=None
    )
    if not updated:
        raise await _refused(job_id)
    return await Job.get(id=job_id)


async def _refused(job_id: int) -> DomainError:
    if not await Job.filter(id=job_id).exists():
        return NotFound("job", "jobId")
    return DomainError("INVALID", "the job is not in a state that allows this", "jobId")
