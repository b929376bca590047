"""Admin (platform operators): the job system's counts, its failed jobs, retry, discard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum

import strawberry
from tortoise.transactions import in_transaction

from yutang.core import job_admin
from yutang.core.models import Job, Tenant
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import OPERATORS, admin_field, admin_mutation
from yutang.graphql.types import (
    MAX_PAGE,
    Connection,
    Node,
    UserError,
    gid,
    keyset_page,
)

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Where a durable job stands.")
class JobStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting until it is due.")
    RUNNING = strawberry.enum_value("running", description="Claimed by a worker, leased.")
    DONE = strawberry.enum_value("done", description="Ran; kept until retention deletes it.")
    FAILED = strawberry.enum_value("failed", description="Every attempt failed.")
    DISCARDED = strawberry.enum_value("discarded", description="Given up by an operator.")


@strawberry.type(description="How many jobs of one queue, tenant, name and status there are.")
class JobCount:
    queue: str = strawberry.field(description="events, timeouts, bulk or webhooks.")
    tenant: str | None = strawberry.field(description="The tenant's slug; null: the platform's.")
    name: str = strawberry.field(description="`core.payment_timeout`, `event:<hook>`, ...")
    status: JobStatus
    count: int


@strawberry.type(description="A durable job (what operators see of it).")
class JobNode(Node):
    queue: str
    tenant: str | None = strawberry.field(description="The tenant's slug; null: the platform's.")
    name: str
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime = strawberry.field(description="When it is (or was last) due.")
    last_error: str | None = strawberry.field(description="The last attempt's error.")
    created_at: datetime


@strawberry.type
class JobPayload:
    job: JobNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _nodes(rows: list[Job]) -> list[JobNode]:
    ids = sorted({r.tenant_id for r in rows if r.tenant_id is not None})
    slugs = dict(await Tenant.filter(id__in=ids).values_list("id", "slug")) if ids else {}
    return [
        JobNode(
            id=gid("Job", r.id),
            queue=r.queue,
            tenant=slugs.get(r.tenant_id) if r.tenant_id is not None else None,
            name=r.name,
            status=JobStatus(r.status),
            attempts=r.attempts,
            max_attempts=r.max_attempts,
            run_at=r.run_at,
            last_error=r.last_error,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def _act(change: Callable[[int], Awaitable[Job]], job_id: strawberry.ID) -> JobPayload:
    """``change`` the job in one transaction; the job as it is now, or the refusal."""

    async def run() -> JobNode:
        async with in_transaction():
            job = await change(pk_of(job_id, "Job", "jobId"))
        return (await _nodes([job]))[0]

    found, errors = await attempt(run)
    return JobPayload(job=found, errors=errors)


@strawberry.type
class JobsQuery:
    @admin_field(
        OPERATORS,
        description="Jobs counted by queue, tenant, name and status, the `first` largest "
        "groups (platform operators; done jobs count until retention deletes them).",
    )
    async def job_counts(
        self, info: Info, status: JobStatus | None = None, first: int = 50
    ) -> list[JobCount]:
        counts = await job_admin.counts(None if status is None else str(status.value))
        return [
            JobCount(
                queue=c.queue,
                tenant=c.tenant_slug,
                name=c.name,
                status=JobStatus(c.status),
                count=c.count,
            )
            for c in counts[: max(0, min(first, MAX_PAGE))]
        ]

    @admin_field(
        OPERATORS, description="Failed jobs with their last error, newest first (operators)."
    )
    async def failed_jobs(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        queue: str | None = None,
        name: str | None = None,
    ) -> Connection[JobNode]:
        return await keyset_page(job_admin.failed(queue, name), first, after, _nodes)


@strawberry.type
class JobsMutation:
    @admin_mutation(
        OPERATORS,
        description="Run a failed (or discarded) job again, due now with a fresh set of "
        "attempts (platform operators).",
    )
    async def retry_job(self, info: Info, job_id: strawberry.ID) -> JobPayload:
        return await _act(job_admin.retry, job_id)

    @admin_mutation(
        OPERATORS,
        description="Set a failed or pending job aside for good: it does not run, and its "
        "dedupe key keeps it from being scheduled again (platform operators).",
    )
    async def discard_job(self, info: Info, job_id: strawberry.ID) -> JobPayload:
        return await _act(job_admin.discard, job_id)
