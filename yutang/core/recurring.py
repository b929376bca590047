"""Recurring jobs: one durable job per occurrence, deduplicated by the occurrence's key.

Each occurrence is an ordinary job whose dedupe key names the job, the tenant and the
occurrence (``recurring:segments.refresh:42:20260601T0300``). However many workers seed
or chain it, ``job_key`` lets the key be scheduled once, so the occurrence runs once;
retries, leases and retention are those of any job. A run schedules the next occurrence
in the transaction that marks it done; the worker's periodic seeding adds the first one
for tenants that have none pending (new tenants, a plugin just enabled, a run that
failed for good). Occurrences missed while no worker ran are not caught up: the next
one after now is scheduled. Since only occurrences after now are ever scheduled,
retention may forget a key once its occurrence has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from yutang.core import clock, outbox
from yutang.core.models import Job, Tenant
from yutang.core.plugins import CORE_PLUGIN
from yutang.core.schedules import Recurring
from yutang.core.tenancy import TenantResolver

PERIOD = "period"


@dataclass(frozen=True, slots=True)
class Declared:
    """A recurring job as one plugin declared it."""

    name: str
    plugin: str
    spec: Recurring


def key(name: str, tenant_id: int | None, occurrence: datetime) -> str:
    """The dedupe key of one occurrence."""
    return f"recurring:{name}:{tenant_id or 0}:{occurrence.astimezone(UTC):%Y%m%dT%H%M}"


async def schedule_next(
    declared: Declared, tenant_id: int | None, zone: ZoneInfo, after: datetime
) -> None:
    """Schedule the first occurrence after ``after`` (inside the caller's transaction)."""
    spec = declared.spec
    occurrence = spec.schedule.next_after(after, ZoneInfo("UTC") if spec.utc else zone)
    await outbox.schedule(
        tenant_id,
        declared.name,
        {PERIOD: occurrence.isoformat()},
        occurrence,
        dedupe_key=key(declared.name, tenant_id, occurrence),
        queue=spec.queue,
        forget_key_after=occurrence,
    )


async def seed(declared: list[Declared], tenants: TenantResolver) -> int:
    """Schedule the next occurrence of every recurring job for each tenant that has none
    pending or running; the number scheduled (or found scheduled by another worker)."""
    if not declared:
        return 0
    rows = await Tenant.filter(status="active").order_by("id")
    infos = [tenants.from_row(row) for row in rows]
    now = clock.now()
    seeded = 0
    for item in declared:
        found = (
            await Job.filter(name=item.name, status__in=("pending", "running"))
            .distinct()
            .values_list("tenant_id", flat=True)
        )
        waiting = set(cast(list[int | None], found))
        if not item.spec.per_tenant:
            targets: list[tuple[int | None, ZoneInfo]] = [(None, ZoneInfo("UTC"))]
        else:
            targets = [
                (info.id, info.zone)
                for info in infos
                if item.plugin == CORE_PLUGIN or item.plugin in info.plugins
            ]
        for tenant_id, zone in targets:
            if tenant_id in waiting:
                continue
            async with in_transaction():
                await schedule_next(item, tenant_id, zone, now)
            seeded += 1
    return seeded
