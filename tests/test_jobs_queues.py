"""Queues, fair claims, concurrency, retention and recurring jobs of the durable worker.

Jobs come from a real plugin registered through pluggy in a runtime of its own (the
session's database and installed plugins, plus it); on PostgreSQL several workers run
at once on the pool's connections."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from yutang import api
from yutang.core import clock, outbox, retention
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.members import RegisterInput, register
from yutang.core.models import Job, JobKey, Tenant
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.worker import Worker, parse_concurrency
from yutang.testing import MakeTenant


class QueuePlugin:
    """The plugin ``qtest``: a job that records its runs, a slow one outside any
    transaction that counts how many run (and are claimed) at once, and two recurring
    jobs."""

    def __init__(self) -> None:
        self.runs: list[tuple[int | None, dict[str, Any]]] = []
        self.in_flight = 0
        self.most_at_once = 0
        self.most_claimed = 0
        self.periods: list[tuple[int | None, str]] = []

    @api.hookimpl
    def yutang_jobs(self) -> dict[str, api.JobHandler | api.Recurring]:
        async def slow(tenant: TenantInfo | None, payload: dict[str, Any]) -> None:
            await self.slow(tenant, payload)

        return {
            "qtest.record": self.record,
            "qtest.slow": api.outside_transaction(slow),
            "qtest.hourly": api.Recurring(self.period, api.Cron(minute=0)),
            "qtest.nightly": api.Recurring(
                self.period, api.Cron(hour=3), queue=api.Queue.TIMEOUTS, per_tenant=False
            ),
        }

    def record(self, tenant: TenantInfo | None, payload: dict[str, Any]) -> None:
        self.runs.append((tenant.id if tenant else None, payload))

    async def slow(self, tenant: TenantInfo | None, payload: dict[str, Any]) -> None:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        claimed = await Job.filter(name="qtest.slow", status="running").count()
        self.most_claimed = max(self.most_claimed, claimed)
        await asyncio.sleep(0.05)
        self.in_flight -= 1

    def period(self, tenant: TenantInfo | None, payload: dict[str, Any]) -> None:
        self.periods.append((tenant.id if tenant else None, payload["period"]))


@pytest.fixture
def plugin() -> QueuePlugin:
    return QueuePlugin()


@pytest.fixture
def runtime(yutang_db: Runtime, plugin: QueuePlugin) -> Runtime:
    return build_runtime(yutang_db.settings, extra_plugins=[("qtest", plugin)])


async def backlog(tenant_id: int | None, n: int, queue: str, at: datetime) -> None:
    """``n`` due jobs of one tenant, written at once (as a broadcast would queue them)."""
    await Job.bulk_create(
        [
            Job(tenant_id=tenant_id, name="qtest.record", payload={"n": i}, run_at=at, queue=queue)
            for i in range(n)
        ],
        batch_size=500,
    )


async def shop(runtime: Runtime, slug: str, plugins: list[str] | None = None) -> TenantInfo:
    """A tenant enabling ``plugins`` (default: the test plugin)."""
    names = ["qtest"] if plugins is None else plugins
    await Tenant.create(slug=slug, name=slug, plugins=names, settings={})
    return await runtime.tenants.by_slug(slug)


async def schedule(tenant_id: int | None, payload: dict[str, Any], at: datetime, **kw: Any) -> Job:
    async with in_transaction():
        await outbox.schedule(tenant_id, "qtest.record", payload, at, **kw)
    job = await Job.filter(name="qtest.record").order_by("-id").first()
    assert job is not None
    return job


# --- fair claims ------------------------------------------------------------------


async def test_a_small_tenants_job_is_claimed_within_the_bound_whatever_a_big_backlog(
    runtime: Runtime, make_tenant: MakeTenant, frozen_clock: FrozenClock
) -> None:
    """Bound: before a tenant's oldest due job, at most T - 1 jobs of other tenants are
    claimed from its queue (T tenants with due jobs there; here 2)."""
    big, small = await make_tenant("big"), await make_tenant("small")
    now = frozen_clock.current
    await backlog(big.id, 2000, "bulk", now - timedelta(minutes=5))
    lone = await schedule(small.id, {"small": True}, now, queue=api.Queue.BULK)
    worker = Worker(runtime)

    claimed: list[int] = []
    for _ in range(2):  # one job per claim: the worst case for the bound
        claimed += await worker.claim(limit=1, queue="bulk")
    assert lone.id in claimed
    # and with larger claims it comes in the first one
    await Job.filter(id__in=claimed).update(status="done", locked_by=None)
    later = await schedule(small.id, {"small": 2}, now, queue=api.Queue.BULK)
    first = await Worker(runtime).claim(limit=20, queue="bulk")
    assert later.id in first[:2]


async def test_tenants_take_turns_and_a_served_tenant_goes_behind_those_waiting(
    runtime: Runtime, make_tenant: MakeTenant, frozen_clock: FrozenClock
) -> None:
    shops = [await make_tenant(f"t{i}") for i in range(3)]
    now = frozen_clock.current
    for i, shop in enumerate(shops):
        await backlog(shop.id, 5, "bulk", now - timedelta(minutes=10 - i))
    worker = Worker(runtime)
    order: list[int | None] = []
    for _ in range(6):
        ids = await worker.claim(limit=1, queue="bulk")
        order.append((await Job.get(id=ids[0])).tenant_id)
    ids_by_slug = [shop.id for shop in shops]
    assert order == ids_by_slug * 2


async def test_a_bulk_backlog_does_not_hold_up_a_timeout(
    runtime: Runtime, tenant: TenantInfo, frozen_clock: FrozenClock, plugin: QueuePlugin
) -> None:
    now = frozen_clock.current
    await backlog(tenant.id, 300, "bulk", now - timedelta(minutes=1))
    deadline = await schedule(tenant.id, {"deadline": True}, now)
    assert deadline.queue == "timeouts"
    assert await Worker(runtime).claim(limit=5, queue="timeouts") == [deadline.id]


async def test_events_go_to_the_events_queue(yutang_db: Runtime) -> None:
    runtime = build_runtime(yutang_db.settings, extra_plugins=[("qtest", EventHearer())])
    info = await shop(runtime, "ev")
    await register(info, RegisterInput(phone="13711113333", password="secret-1"), token_days=1)
    assert {j.queue for j in await Job.filter(name__startswith="event:")} == {"events"}


class EventHearer:
    @api.hookimpl
    async def yutang_member_registered(self, event: api.Event) -> None:
        pass


# --- concurrency --------------------------------------------------------------------


async def test_claimed_jobs_run_concurrently_up_to_their_queues_limit(
    runtime: Runtime, tenant: TenantInfo, plugin: QueuePlugin, frozen_clock: FrozenClock
) -> None:
    async with in_transaction():
        for i in range(9):
            await outbox.schedule(
                tenant.id, "qtest.slow", {"i": i}, frozen_clock.current, queue=api.Queue.BULK
            )
    worker = Worker(runtime, concurrency=parse_concurrency("bulk=3"))
    assert await worker.run_until_idle() == 9
    assert plugin.most_at_once == 3
    assert plugin.most_claimed == 3  # none claimed to wait its turn while its lease runs
    assert await Job.filter(status="done").count() == 9


async def test_a_job_outside_a_transaction_whose_lease_ran_out_is_left_to_the_next_worker(
    runtime: Runtime, tenant: TenantInfo, plugin: QueuePlugin, frozen_clock: FrozenClock
) -> None:
    async with in_transaction():
        await outbox.schedule(tenant.id, "qtest.slow", {}, frozen_clock.current)
    late = Worker(runtime, lease=timedelta(seconds=30))
    [job_id] = await late.claim(queue="timeouts")
    frozen_clock.advance(timedelta(seconds=31))
    await late.run_job(job_id)  # too late: another worker may hold it by now
    assert plugin.most_at_once == 0
    assert (await Job.get(id=job_id)).status == "running"
    assert await Worker(runtime).run_until_idle() == 1
    assert plugin.most_at_once == 1 and (await Job.get(id=job_id)).status == "done"


async def test_run_forever_runs_each_queue_in_its_own_lane(
    runtime: Runtime, tenant: TenantInfo, plugin: QueuePlugin
) -> None:
    now = clock.now()
    async with in_transaction():
        for i in range(4):
            await outbox.schedule(tenant.id, "qtest.slow", {"i": i}, now, queue=api.Queue.BULK)
        await outbox.schedule(tenant.id, "qtest.record", {"t": 1}, now)
    stop = asyncio.Event()
    worker = Worker(runtime, concurrency=parse_concurrency("bulk=2,timeouts=1"))
    loop = asyncio.create_task(worker.run_forever(stop, interval=0.05))
    try:
        for _ in range(200):
            if await Job.filter(status="done").count() == 5:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
    assert await Job.filter(status="done").count() == 5
    assert plugin.most_at_once == 2


def test_a_concurrency_setting_names_known_queues() -> None:
    assert dict(parse_concurrency("events=8, bulk=1")) == {
        "events": 8,
        "timeouts": 1,
        "bulk": 1,
        "webhooks": 1,
        "gateways": 1,
    }
    for bad in ("mail=2", "events=0", "events=x"):
        with pytest.raises(ValueError, match="job concurrency"):
            parse_concurrency(bad)


# --- retention ----------------------------------------------------------------------


async def test_retention_deletes_old_done_jobs_and_their_keys_still_deduplicate(
    runtime: Runtime, tenant: TenantInfo, plugin: QueuePlugin, frozen_clock: FrozenClock
) -> None:
    start = frozen_clock.current
    keyed = await schedule(tenant.id, {"n": 1}, start, dedupe_key="payment_timeout:1")
    plain = await schedule(tenant.id, {"n": 2}, start)
    await Job.create(tenant_id=tenant.id, name="qtest.missing", run_at=start, max_attempts=1)
    worker = Worker(runtime)
    await worker.run_until_idle()
    frozen_clock.advance(timedelta(days=6))
    recent = await schedule(tenant.id, {"n": 3}, frozen_clock.current)
    await worker.run_until_idle()

    frozen_clock.advance(timedelta(days=2))  # the first two are 8 days done, the third 2
    deleted: list[tuple[str, int]] = []
    assert await retention.prune(timedelta(days=7), lambda *seen: deleted.append(seen)) == 2
    assert deleted == [("jobs", 2)]
    assert not await Job.filter(id__in=[keyed.id, plain.id]).exists()
    assert await Job.filter(id=recent.id, status="done").exists()
    assert await Job.filter(name="qtest.missing", status="failed").exists()  # kept

    # The deleted job's key is still taken: scheduling it again does nothing.
    await schedule(tenant.id, {"n": 4}, frozen_clock.current, dedupe_key="payment_timeout:1")
    assert await worker.run_until_idle() == 0
    assert [p["n"] for _, p in plugin.runs] == [1, 2, 3]
    assert await JobKey.filter(key="payment_timeout:1").count() == 1


async def test_retention_forgets_only_the_keys_that_cannot_recur(
    runtime: Runtime, plugin: QueuePlugin, frozen_clock: FrozenClock
) -> None:
    on = await shop(runtime, "on")
    await schedule(on.id, {"n": 1}, frozen_clock.current, dedupe_key="payment_timeout:9")
    worker = Worker(runtime)
    await worker.housekeeping()
    for _ in range(3):
        frozen_clock.advance(timedelta(hours=1))
        await worker.run_until_idle()
    hourly = await Job.filter(name="qtest.hourly").order_by("run_at")
    assert [j.status for j in hourly] == ["done", "done", "done", "pending"]

    frozen_clock.advance(timedelta(days=8))  # nothing ran meanwhile
    pruned = await retention.apply(timedelta(days=7), timedelta(days=30))
    # three hourly runs, the 03:00 nightly one, and the timeout; the occurrences' keys
    assert (pruned.jobs, pruned.keys) == (5, 4)
    assert set(await JobKey.all().values_list("key", flat=True)) == {
        "payment_timeout:9",  # an order's: kept for good
        hourly[-1].dedupe_key,  # their jobs still wait
        (await Job.get(name="qtest.nightly")).dedupe_key,
    }


# --- recurring jobs -----------------------------------------------------------------


def test_a_cron_schedule_reads_its_fields_in_the_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert api.Cron(hour=3).next_after(at, shanghai) == datetime(2026, 6, 1, 19, 0, tzinfo=UTC)
    assert api.Cron(hour=3).next_after(at, ZoneInfo("UTC")) == at + timedelta(hours=1)
    leap = api.Cron(day=29, hour=0).next_after(datetime(2027, 3, 1, tzinfo=UTC), ZoneInfo("UTC"))
    assert leap == datetime(2027, 3, 29, tzinfo=UTC)
    feb29 = api.Cron(day=29, hour=0, weekday=6)  # a Sunday the 29th
    assert feb29.next_after(at, ZoneInfo("UTC")) == datetime(2026, 11, 29, tzinfo=UTC)
    assert api.Cron(minute=(0, 30)).next_after(at, shanghai) == at + timedelta(minutes=30)
    member_day = api.Cron(day=8, hour=0).next_after(at, shanghai)
    assert member_day == datetime(2026, 6, 7, 16, 0, tzinfo=UTC)
    monday = api.Cron(weekday=0, hour=9).next_after(at, shanghai)  # 2026-06-01 is a Monday
    assert monday == datetime(2026, 6, 8, 1, 0, tzinfo=UTC)
    assert api.Cron(day=29, hour=0).next_after(
        datetime(2027, 3, 1, tzinfo=UTC), ZoneInfo("UTC")
    ) == (datetime(2027, 3, 29, tzinfo=UTC))
    with pytest.raises(ValueError, match="outside"):
        api.Cron(hour=24)


async def test_a_recurring_job_runs_once_per_period_and_per_tenant_in_its_zone(
    runtime: Runtime, plugin: QueuePlugin, frozen_clock: FrozenClock
) -> None:
    on = await shop(runtime, "on")
    await shop(runtime, "off", plugins=[])
    worker = Worker(runtime)
    await worker.housekeeping()
    await worker.housekeeping()  # a second seeding (another worker's) adds nothing
    hourly = await Job.filter(name="qtest.hourly")
    assert [(j.tenant_id, j.run_at, j.queue) for j in hourly] == [
        (on.id, frozen_clock.current + timedelta(hours=1), "bulk")
    ]
    nightly = await Job.get(name="qtest.nightly")  # the platform's, at 03:00 UTC
    assert (nightly.tenant_id, nightly.run_at) == (None, datetime(2026, 6, 1, 3, tzinfo=UTC))

    ran = []
    for _ in range(3):
        frozen_clock.advance(timedelta(hours=1))
        ran.append(await worker.run_until_idle())
        await worker.housekeeping()
    assert ran == [2, 1, 1]
    assert [p for p in plugin.periods if p[0] is not None] == [
        (on.id, (frozen_clock.current - timedelta(hours=h)).isoformat()) for h in (2, 1, 0)
    ]
    assert [p for p in plugin.periods if p[0] is None] == [(None, "2026-06-01T03:00:00+00:00")]
    # The next occurrence waits, scheduled by the run that finished the last one.
    pending = await Job.filter(name="qtest.hourly", status="pending")
    assert [j.run_at for j in pending] == [frozen_clock.current + timedelta(hours=1)]


@pytest.mark.postgres_only
async def test_concurrent_workers_run_a_recurring_job_once_per_period(
    runtime: Runtime, plugin: QueuePlugin, frozen_clock: FrozenClock
) -> None:
    shops = [await shop(runtime, f"r{i}") for i in range(3)]
    workers = [Worker(runtime, lease=timedelta(minutes=5)) for _ in range(4)]
    await asyncio.gather(*(w.housekeeping() for w in workers))
    for _ in range(4):
        frozen_clock.advance(timedelta(hours=1))
        await asyncio.gather(*(w.housekeeping() for w in workers))
        await asyncio.gather(*(w.run_until_idle() for w in workers))
    hourly = [p for p in plugin.periods if p[0] is not None]
    assert sorted(hourly) == sorted(
        (one.id, (frozen_clock.current - timedelta(hours=h)).isoformat())
        for one in shops
        for h in range(4)
    )
    assert [p for p in plugin.periods if p[0] is None] == [(None, "2026-06-01T03:00:00+00:00")]


# --- wake-up: a worker process listening on PostgreSQL -----------------------------


async def listeners() -> int:
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    )
    return int(rows[0]["n"])


@pytest.mark.postgres_only
async def test_a_listening_worker_process_starts_a_job_at_commit_not_at_its_next_poll(
    yutang_db: Runtime, tenant: TenantInfo, tmp_path: Path
) -> None:
    settings = yutang_db.settings
    env = {
        **os.environ,
        "YUTANG_DATABASE_URL": settings.database_url,
        "YUTANG_PLUGINS_FILE": str(settings.plugins_file),
        "YUTANG_DB_POOL_SIZE": "4",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-c", "from yutang.cli import main; main()"],
            *["worker", "--interval", "60"],  # a poll would come a minute later
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(600):
                if await listeners() or proc.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            assert await listeners() == 1, log.read_text()
            await asyncio.sleep(0.5)  # its lanes' first claims (and waits) are behind it
            async with in_transaction():
                await outbox.schedule(
                    tenant.id, "core.expire_guest_cart", {"cart_id": 1}, clock.now()
                )
            started = time.monotonic()
            while not await Job.filter(status="done").exists():
                assert time.monotonic() - started < 10, log.read_text()
                await asyncio.sleep(0.02)
            assert time.monotonic() - started < 5
        finally:
            if proc.returncode is None:
                proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
