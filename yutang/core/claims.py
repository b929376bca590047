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

On PostgreSQL a claim is one statement: the ranked candidates (a few more than asked
for, so workers claiming at once do not all want the same rows) are locked ``FOR UPDATE
SKIP LOCKED``, leased and their tenants marked served together. SQLite has one writer,
which is the lock.
"""

from __future__ import annotations

import time
from datetime import datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from yutang.core.models import Job

# Candidates ranked per job asked for: the slack that keeps concurrent claimers busy.
OVERSAMPLE = 2

_RANKED = """
SELECT d.id, d.tenant_id, d.turn, COALESCE(l.served, 0) AS served, d.run_at FROM (
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

# PostgreSQL claims in one statement: rank, lock at most the claim's own rows in rank
# order (a candidate locked and not taken would be skipped by every other claimer until
# this one commits), lease them, and mark their tenants served (in tenant order: two
# claims upserting the same lanes lock them in one order and cannot deadlock).
_CLAIM = """
WITH ranked AS ({ranked}),
picked AS (
  SELECT j.id FROM job j JOIN ranked r ON r.id = j.id
  WHERE (j.status = 'pending' AND j.run_at <= $2) OR (j.status = 'running' AND j.locked_until < $2)
  ORDER BY r.turn, r.served, r.run_at, r.id
  LIMIT $4
  FOR UPDATE OF j SKIP LOCKED
),
claimed AS (
  UPDATE job SET status = 'running', locked_by = $5, locked_until = $6,
                 attempts = job.attempts + 1
  FROM picked WHERE job.id = picked.id
  RETURNING job.id, job.tenant_id
),
served AS (
  INSERT INTO job_lane (queue, tenant_key, served)
  SELECT $1, k.tenant_key, $7::bigint FROM
    (SELECT DISTINCT COALESCE(tenant_id, 0) AS tenant_key FROM claimed) k
  ORDER BY k.tenant_key
  ON CONFLICT (queue, tenant_key) DO UPDATE SET served = excluded.served
)
SELECT c.id FROM claimed c JOIN ranked r ON r.id = c.id
ORDER BY r.turn, r.served, r.run_at, r.id
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
    ordered = queue in ORDERED
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        idle = _IDLE.format(q="$1", now="$2") if ordered else ""
        turns = "1" if ordered else "$3"
        ranked = _RANKED.format(q="$1", now="$2", turns=turns, idle=idle, n="$3")
        params = [queue, now, limit * OVERSAMPLE, limit, worker_id, locked_until, time.time_ns()]
        rows = await conn.execute_query_dict(_CLAIM.format(ranked=ranked), params)
        return [row["id"] for row in rows]
    return await _claim_sqlite(queue, limit, worker_id, now, locked_until, ordered)


async def _claim_sqlite(
    queue: str, limit: int, worker_id: str, now: datetime, locked_until: datetime, ordered: bool
) -> list[int]:
    """SQLite has one writer, which is the lock: rank, lease, mark the tenants served."""
    async with in_transaction() as conn:
        wanted = limit * OVERSAMPLE
        idle = _IDLE.format(q="?", now="?") if ordered else ""
        sql = _RANKED.format(q="?", now="?", turns="1" if ordered else "?", idle=idle, n="?")
        # qmark parameters are positional: each occurrence has its own
        params: list[object] = [queue, now, now, queue]
        params += ([] if ordered else [wanted]) + ([queue, now] if ordered else []) + [wanted]
        rows = await conn.execute_query_dict(sql, params)
        if not rows:
            return []
        order = {row["id"]: row["tenant_id"] for row in rows}
        due = await Job.filter(_due(now), id__in=list(order)).values_list("id", flat=True)
        locked = set(due)
        taken = [job_id for job_id in order if job_id in locked][:limit]
        if not taken:
            return []
        await Job.filter(id__in=taken).update(
            status="running",
            locked_by=worker_id,
            locked_until=locked_until,
            attempts=F("attempts") + 1,
        )
        await _serve(conn, queue, sorted({order[job_id] or 0 for job_id in taken}))
    return taken


async def _serve(conn: BaseDBAsyncClient, queue: str, tenants: list[int]) -> None:
    """Put the served tenants behind every tenant waiting since."""
    params: list[object] = []
    for tenant in tenants:
        params += [queue, tenant, time.time_ns()]
    rows = ", ".join(["(?, ?, ?)"] * len(tenants))
    await conn.execute_query(_SERVED.format(rows=rows), params)
