"""Fair claiming: tenants take turns within a queue, whatever one tenant's backlog.

A claim ranks a queue's due jobs by (turn, lane, run_at): a job's *turn* is its place
among its own tenant's due jobs (1 for the oldest), and the *lane* (``job_lane``) says
when the tenant was last served in that queue, the longest waiting first. A claim of
``n`` jobs therefore takes the oldest job of up to ``n`` tenants before any tenant's
second, and a tenant it served goes behind every tenant waiting since.

**The bound.** With ``T`` tenants (the platform counting as one) having due jobs in a
queue, a tenant's oldest due job is claimed before at most ``T - 1`` jobs of other
tenants in that queue, whatever the size of their backlogs: one tenant with 2,000 jobs
and another with one, the second's job is among the first two claimed.

In an ordered queue (``events``) a tenant's jobs run one at a time, oldest first: a
claim takes a tenant's oldest due job only while none of its jobs runs. Tenants still
take turns, and the bound holds.

On PostgreSQL the ranked candidates are locked ``FOR UPDATE SKIP LOCKED`` (a few more
than asked for, so workers claiming at once do not all want the same rows); SQLite has
one writer, which is the lock.
"""

from __future__ import annotations

import time
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from yutang.core.models import Job

# Candidates ranked per job asked for: the slack that keeps concurrent claimers busy.
OVERSAMPLE = 2

_RANKED = """
SELECT d.id, d.tenant_id FROM (
  SELECT j.id, j.tenant_id, j.run_at,
         ROW_NUMBER() OVER (PARTITION BY j.tenant_id ORDER BY j.run_at, j.id) AS turn
  FROM job j
  WHERE j.queue = {q}
    AND ((j.status = 'pending' AND j.run_at <= {now})
         OR (j.status = 'running' AND j.locked_until < {now}))
) d
LEFT JOIN job_lane l ON l.queue = {q} AND l.tenant_key = COALESCE(d.tenant_id, 0)
WHERE d.turn <= {turns}{idle}
ORDER BY d.turn, COALESCE(l.served, 0), d.run_at, d.id
LIMIT {n}
"""

# In an ordered queue a tenant's next job waits while one of its jobs runs.
_IDLE = """
  AND NOT EXISTS (SELECT 1 FROM job r WHERE r.queue = {q} AND r.status = 'running'
                  AND r.locked_until >= {now}
                  AND COALESCE(r.tenant_id, 0) = COALESCE(d.tenant_id, 0))"""

ORDERED = frozenset({"events"})
"""Queues whose jobs run one at a time per tenant, in order: a plugin hears an order's
``placed`` before its ``paid``, as it did when one worker ran every job in turn."""

# Locks at most the claim's own rows, in rank order: a candidate locked and not taken
# would be skipped by every other claimer until this one commits.
_LOCK = """
SELECT id FROM job WHERE id = ANY($1)
  AND ((status = 'pending' AND run_at <= $2) OR (status = 'running' AND locked_until < $2))
ORDER BY array_position($1, id)
LIMIT $3
FOR UPDATE SKIP LOCKED
"""

_SERVED = """
INSERT INTO job_lane (queue, tenant_key, served) VALUES {rows}
ON CONFLICT (queue, tenant_key) DO UPDATE SET served = excluded.served
"""


def _due(now: datetime) -> Q:
    return Q(status="pending", run_at__lte=now) | Q(status="running", locked_until__lt=now)


async def claim(
    queue: str, limit: int, worker_id: str, now: datetime, locked_until: datetime
) -> list[int]:
    """Take up to ``limit`` due jobs of ``queue`` in fair order for ``worker_id``."""
    if limit <= 0:
        return []
    async with in_transaction() as conn:
        postgres = conn.capabilities.dialect == "postgres"
        wanted = limit * OVERSAMPLE
        ordered = queue in ORDERED
        if postgres:
            q, at, n = "$1", "$2", "$3"
            params: list[object] = [queue, now, wanted]
        else:  # qmark parameters are positional: each occurrence has its own
            q = at = n = "?"
            params = [queue, now, now, queue]
        idle = _IDLE.format(q=q, now=at) if ordered else ""
        sql = _RANKED.format(q=q, now=at, turns="1" if ordered else n, idle=idle, n=n)
        if not postgres:
            params += ([] if ordered else [wanted]) + ([queue, now] if ordered else []) + [wanted]
        rows = await conn.execute_query_dict(sql, params)
        if not rows:
            return []
        order = {row["id"]: row["tenant_id"] for row in rows}
        if postgres:  # values_list() would drop FOR UPDATE: the lock is the point
            held = await conn.execute_query_dict(_LOCK, [list(order), now, limit])
            locked = {row["id"] for row in held}
        else:
            locked = set(
                await Job.filter(_due(now), id__in=list(order)).values_list("id", flat=True)
            )
        taken = [job_id for job_id in order if job_id in locked][:limit]
        if not taken:
            return []
        await Job.filter(id__in=taken).update(
            status="running",
            locked_by=worker_id,
            locked_until=locked_until,
            attempts=F("attempts") + 1,
        )
        await _serve(conn, queue, sorted({order[job_id] or 0 for job_id in taken}), postgres)
    return taken


async def _serve(conn: BaseDBAsyncClient, queue: str, tenants: list[int], postgres: bool) -> None:
    """Put the served tenants behind every tenant waiting since (sorted: two claims
    upserting the same lanes lock them in one order and cannot deadlock)."""
    served = time.time_ns()
    if postgres:
        marks = [f"(${3 * i + 1}, ${3 * i + 2}, ${3 * i + 3})" for i in range(len(tenants))]
    else:
        marks = ["(?, ?, ?)"] * len(tenants)
    params: list[object] = []
    for tenant in tenants:
        params += [queue, tenant, served]
    await conn.execute_query(_SERVED.format(rows=", ".join(marks)), params)
