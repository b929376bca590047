"""The operators' view of the job system through the real admin API: counts by queue,
tenant, name and status; failed jobs with their last error; retry and discard; and the
``yutang jobs`` command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx

from yutang.core import clock
from yutang.core.auth import hash_password, issue_token
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Job, Operator
from yutang.core.runtime import Runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, create_staff

COUNTS = """
query($status: JobStatus, $first: Int = 50) {
  jobCounts(status: $status, first: $first) { queue tenant name status count }
}"""
FAILED = """
query($after: String, $first: Int = 1) {
  failedJobs(first: $first, after: $after) {
    edges { cursor node { id name queue tenant attempts lastError } }
    pageInfo { hasNextPage }
  }
}"""
RETRY = """
mutation($id: ID!) { retryJob(jobId: $id) { job { status attempts } errors { code field } } }"""
CLI = (sys.executable, "-c", "from yutang.cli import main; main()")
DISCARD = """
mutation($id: ID!) { discardJob(jobId: $id) { job { status } errors { code field } } }"""


async def operator_client(http: httpx.AsyncClient, slug: str) -> GraphQLClient:
    op = await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    return GraphQLClient(http, "/admin/graphql", slug, await issue_token("operator", op.id, None))


async def failing_jobs(tenant: TenantInfo, runtime: Runtime) -> None:
    """Two jobs without a handler that fail for good, one that is still due."""
    now = clock.now()
    for queue in ("timeouts", "bulk"):
        await Job.create(
            tenant_id=tenant.id, name="nobody.here", run_at=now, max_attempts=1, queue=queue
        )
    await Job.create(tenant_id=None, name="core.expire_guest_cart", run_at=now + timedelta(days=1))
    await Worker(runtime).run_until_idle()


async def test_operators_see_counts_and_failed_jobs_and_retry_or_discard_them(
    yutang_db: Runtime, http: httpx.AsyncClient, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    await failing_jobs(tenant, yutang_db)
    operator = await operator_client(http, tenant.slug)

    counts = (await operator(COUNTS))["jobCounts"]
    assert [c for c in counts if c["name"] != "core.purge_expired"] == [
        {"queue": "bulk", "tenant": "shop", "name": "nobody.here", "status": "FAILED", "count": 1},
        {
            "queue": "timeouts",
            "tenant": None,
            "name": "core.expire_guest_cart",
            "status": "PENDING",
            "count": 1,
        },
        {
            "queue": "timeouts",
            "tenant": "shop",
            "name": "nobody.here",
            "status": "FAILED",
            "count": 1,
        },
    ]
    assert len((await operator(COUNTS, {"status": "FAILED"}))["jobCounts"]) == 2
    assert (await operator(COUNTS, {"first": 0}))["jobCounts"] == []
    none = (await operator(FAILED, {"first": 0}))["failedJobs"]
    assert none == {"edges": [], "pageInfo": {"hasNextPage": True}}

    first = (await operator(FAILED))["failedJobs"]
    node = first["edges"][0]["node"]
    assert (node["queue"], node["tenant"], node["attempts"]) == ("bulk", "shop", 1)
    assert "no handler for job 'nobody.here'" in node["lastError"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await operator(FAILED, {"after": first["edges"][0]["cursor"]}))["failedJobs"]
    other = second["edges"][0]["node"]
    assert (other["queue"], second["pageInfo"]["hasNextPage"]) == ("timeouts", False)

    retried = (await operator(RETRY, {"id": node["id"]}))["retryJob"]
    assert retried == {"job": {"status": "PENDING", "attempts": 0}, "errors": []}
    again = (await operator(RETRY, {"id": node["id"]}))["retryJob"]  # pending: nothing to retry
    assert again == {"job": None, "errors": [{"code": "INVALID", "field": "jobId"}]}
    discarded = (await operator(DISCARD, {"id": other["id"]}))["discardJob"]
    assert discarded == {"job": {"status": "DISCARDED"}, "errors": []}
    assert (await operator(FAILED))["failedJobs"]["edges"] == []

    # The discarded job never runs; the retried one runs (and fails again, for good).
    frozen_clock.advance(timedelta(seconds=1))
    assert await Worker(yutang_db).run_until_idle() == 1
    statuses = sorted(j.status for j in await Job.filter(name="nobody.here"))
    assert statuses == ["discarded", "failed"]


async def test_staff_may_not_see_or_touch_the_job_system(
    yutang_db: Runtime, http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    await failing_jobs(tenant, yutang_db)
    _, token = await create_staff(tenant, "owner", "owner")
    owner = GraphQLClient(http, "/admin/graphql", tenant.slug, token)
    job = await Job.filter(status="failed").first()
    assert job is not None
    for query, variables in ((COUNTS, None), (FAILED, None)):
        body = await owner.raw(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    answer = await owner(RETRY, {"id": to_global("Job", job.id)})
    assert answer["retryJob"] == {"job": None, "errors": [{"code": "FORBIDDEN", "field": None}]}
    assert (await Job.get(id=job.id)).status == "failed"


async def test_the_jobs_command_prints_counts_and_prunes_with_progress(
    yutang_db: Runtime, tenant: TenantInfo, tmp_path: Path
) -> None:
    await failing_jobs(tenant, yutang_db)
    long_ago = clock.now() - timedelta(days=30)
    await Job.bulk_create(
        [
            Job(tenant_id=tenant.id, name="x.y", run_at=long_ago, status="done", done_at=long_ago)
            for _ in range(1500)
        ]
    )
    settings = yutang_db.settings
    env = {
        **os.environ,
        "YUTANG_DATABASE_URL": settings.database_url,
        "YUTANG_PLUGINS_FILE": str(settings.plugins_file),
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True)

    shown = await asyncio.to_thread(run, "jobs")
    assert shown.returncode == 0, shown.stderr
    assert "nobody.here" in shown.stdout and "shop" in shown.stdout
    assert "1500" in shown.stdout
    pruned = await asyncio.to_thread(run, "jobs", "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "1000" in pruned.stdout and "deleted 1500" in pruned.stdout
    assert await Job.filter(name="x.y").count() == 0
