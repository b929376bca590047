"""Retention: done jobs are deleted after a period that is the same for every tenant.

Only ``done`` rows go, and those an operator discarded (``failed`` ones wait for one).
De-duplication does not depend on them: a dedupe key lives on in ``job_key``
(``yutang.core.outbox.schedule``), so ``payment_timeout:{order}`` cannot be scheduled,
let alone run, a second time after its row was deleted. Deletes go in batches, each
its own short transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from yutang.core import clock
from yutang.core.models import Job

BATCH = 1000
FINISHED = ("done", "discarded")


async def prune(keep: timedelta, progress: Callable[[int], None] | None = None) -> int:
    """Delete done (and discarded) jobs finished more than ``keep`` ago; the number deleted.
    ``progress`` hears the running total after each batch."""
    cutoff = clock.now() - keep
    total = 0
    while True:
        finished = Job.filter(status__in=FINISHED, done_at__lt=cutoff)
        ids = await finished.limit(BATCH).values_list("id", flat=True)
        if not ids:
            return total
        total += await Job.filter(id__in=list(ids), status__in=FINISHED).delete()
        if progress is not None:
            progress(total)
