"""Expired bearer tokens and verification codes leave the database by a durable job.

Whatever creates one schedules the purge of its tenant (None: the platform operators')
for the end of the UTC day it expires on; the job's dedupe key is that tenant and day, so
a day of logins schedules one job, and a purge deletes every row expired by then.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from yutang.core import clock, outbox
from yutang.core.models import AuthToken, VerificationCode

if TYPE_CHECKING:
    from yutang.core.contract import TenantInfo

PURGE_JOB = "core.purge_expired"


async def schedule_purge(tenant_id: int | None, expires_at: datetime) -> None:
    """Make sure a purge runs once ``expires_at`` has passed (in the caller's transaction)."""
    day = expires_at.astimezone(UTC).date()
    run_at = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    owner = "platform" if tenant_id is None else str(tenant_id)
    await outbox.schedule(
        tenant_id, PURGE_JOB, {}, run_at, dedupe_key=f"{PURGE_JOB}:{owner}:{day.isoformat()}"
    )


async def purge_expired(tenant: TenantInfo | None, payload: dict[str, Any]) -> None:
    """Job: delete the tenant's (or the operators') tokens and codes expired by now."""
    now = clock.now()
    if tenant is None:
        await AuthToken.filter(tenant_id__isnull=True, expires_at__lte=now).delete()
        return
    await AuthToken.filter(tenant_id=tenant.id, expires_at__lte=now).delete()
    await VerificationCode.filter(tenant_id=tenant.id, expires_at__lte=now).delete()
