"""A job worker in a process of its own, for ``tests/test_jobs.py`` (not a test module).

It registers the plugin ``jobtest``, whose job ``jobtest.grant`` grants points with a fresh
ledger reference each time it runs (so only the job's transaction can keep it to once).
With a barrier directory the job then creates ``arrived`` there and waits, still inside
its transaction, for a ``release`` file the test never creates: the test kills it there.

    python tests/job_worker_child.py DATABASE_URL PLUGINS_FILE BARRIER_DIR LEASE_SECONDS

The test process imports this module too (without a barrier) to run the retry itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from yutang import api

BARRIER: Path | None = None
GIVE_UP_AFTER = 120.0  # seconds: an orphan of a crashed test run does not linger


async def grant(tenant: Any, payload: dict[str, Any]) -> None:
    """Job ``jobtest.grant``: ``payload["points"]`` to ``payload["member_id"]``."""
    from yutang.core.members import change_points

    await change_points(
        tenant, payload["member_id"], payload["points"], "jobtest", uuid.uuid4().hex
    )
    if BARRIER is None:
        return
    (BARRIER / "arrived").write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + GIVE_UP_AFTER
    while not (BARRIER / "release").exists():
        if time.monotonic() > deadline:
            os._exit(3)
        await asyncio.sleep(0.02)


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    """The test job."""
    return {"jobtest.grant": grant}


async def main(database_url: str, plugins_file: str, barrier: str, lease: str) -> None:
    """Run due jobs once with ``lease``, then exit (unless killed at the barrier)."""
    from yutang.core.db import close_db, init_db
    from yutang.core.runtime import build_runtime
    from yutang.core.settings import AppSettings
    from yutang.core.worker import Worker

    global BARRIER
    BARRIER = Path(barrier)
    settings = AppSettings(database_url=database_url, plugins_file=plugins_file, db_pool_size=2)
    runtime = build_runtime(settings, extra_plugins=[("jobtest", sys.modules[__name__])])
    await init_db(settings, runtime.registry)
    try:
        await Worker(runtime, lease=timedelta(seconds=float(lease))).run_until_idle()
    finally:
        await close_db()


if __name__ == "__main__":
    # The same installed plugins as the test session (tests/conftest.py adds this too).
    sys.path.insert(0, str(Path(__file__).parent / "plugin_dist"))
    asyncio.run(main(*sys.argv[1:]))
