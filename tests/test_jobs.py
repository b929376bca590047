"""Durable jobs: leases, retries with backoff, a worker killed mid-job, deduplicated
scheduling, the payment timeout, and events delivered one job per recipient.

Test jobs come from real plugins registered through pluggy in a runtime of their own
(the session's database, ``plugins.toml`` and installed plugins, plus these)."""

from __future__ import annotations

import asyncio
import importlib.util
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang import api
from yutang.core import clock, outbox
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.members import RegisterInput, change_points, register
from yutang.core.models import Job, Member, Order, PointsEntry, Sku, Tenant
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, create_member

CHILD = Path(__file__).parent / "job_worker_child.py"
REPO = Path(__file__).parent.parent

PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $points: Int! = 0) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, usePoints: $points}) {
    order { id status } errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code } }
}"""


class JobPlugin:
    """The plugin ``jobtest``: jobs that grant points (a fresh ledger reference each run,
    so nothing but the job's transaction keeps the grant to once), fail, or wait."""

    def __init__(self) -> None:
        self.flaky_calls = 0
        self.failures_left = 0
        self.slow_calls = 0
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.noop_calls: list[dict[str, Any]] = []

    @api.hookimpl
    def yutang_jobs(self) -> dict[str, api.JobHandler]:
        return {"jobtest.flaky": self.flaky, "jobtest.slow": self.slow, "jobtest.noop": self.noop}

    async def flaky(self, tenant: TenantInfo, payload: dict[str, Any]) -> None:
        self.flaky_calls += 1
        await grant(tenant, payload)
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError(f"boom {self.flaky_calls}")

    async def slow(self, tenant: TenantInfo, payload: dict[str, Any]) -> None:
        self.slow_calls += 1
        await grant(tenant, payload)
        if self.slow_calls == 1:
            self.arrived.set()
            await self.release.wait()

    def noop(self, tenant: TenantInfo, payload: dict[str, Any]) -> None:
        self.noop_calls.append(payload)


class EventPlugin:
    """A plugin that hears ``yutang_member_registered`` and may fail doing so."""

    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.calls: list[int] = []

    @api.hookimpl
    async def yutang_member_registered(self, event: api.Event) -> None:
        self.calls.append(event.id)
        if self.failing:
            raise RuntimeError(f"handler failed on delivery {len(self.calls)}")


async def grant(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    await change_points(
        tenant, payload["member_id"], payload["points"], "jobtest", uuid.uuid4().hex
    )


class Plugins:
    def __init__(self) -> None:
        self.jobs = JobPlugin()
        self.good = EventPlugin()
        self.bad = EventPlugin(failing=True)


@pytest.fixture
def plugins() -> Plugins:
    return Plugins()


@pytest.fixture
def runtime(yutang_db: Runtime, plugins: Plugins) -> Runtime:
    """The session's settings and installed plugins plus the test plugins."""
    return build_runtime(
        yutang_db.settings,
        extra_plugins=[("jobtest", plugins.jobs), ("evgood", plugins.good), ("evbad", plugins.bad)],
    )


async def schedule(
    tenant: TenantInfo, name: str, payload: dict[str, Any], run_at: datetime | None = None
) -> Job:
    async with in_transaction():
        await outbox.schedule(tenant.id, name, payload, run_at or clock.now())
    return await Job.filter(name=name).order_by("-id").first()


async def ledger(member_id: int) -> tuple[int, int]:
    """(balance, number of ``jobtest`` entries) of a member."""
    balance = (await Member.get(id=member_id)).points
    return balance, await PointsEntry.filter(member_id=member_id, reason="jobtest").count()


async def lock_waiters() -> int:
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(rows[0]["n"])


async def until_waiting(n: int) -> None:
    """Return once ``n`` transactions wait for a lock; fail after 10 s."""
    for _ in range(1000):
        if await lock_waiters() >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {n} transactions waiting for a lock; {await lock_waiters()}")


# --- a worker killed in the middle of a job ----------------------------------------


def load_child() -> ModuleType:
    """tests/job_worker_child.py as a module of this process (no barrier)."""
    spec = importlib.util.spec_from_file_location("job_worker_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def wait_for_file(path: Path, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while not await asyncio.to_thread(path.exists):
        if proc.returncode is not None or time.monotonic() > deadline:
            output = await asyncio.to_thread(log.read_text)
            raise AssertionError(
                f"the worker never reached the barrier ({proc.returncode}): {output}"
            )
        await asyncio.sleep(0.02)


@pytest.mark.postgres_only
async def test_a_worker_killed_mid_job_leaves_it_to_the_next_worker_exactly_once(
    yutang_db: Runtime, tenant: TenantInfo, tmp_path: Path
) -> None:
    member, _ = await create_member(tenant, "13700000001")
    job = await schedule(tenant, "jobtest.grant", {"member_id": member.id, "points": 100})
    parent = build_runtime(yutang_db.settings, extra_plugins=[("jobtest", load_child())])
    settings = yutang_db.settings
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, str(CHILD), settings.database_url, settings.plugins_file],
            *[str(tmp_path), "30"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        try:
            await wait_for_file(tmp_path / "arrived", proc, log)
            # The child is inside the job: claimed (attempt 1), effect written, uncommitted.
            row = await Job.get(id=job.id)
            assert (row.status, row.attempts) == ("running", 1)
            assert row.locked_by is not None and f":{proc.pid}:" in row.locked_by
            assert await ledger(member.id) == (0, 0)
            # Its 30 s lease holds: nobody else may take the job meanwhile.
            assert await Worker(parent).claim() == []
        finally:
            if proc.returncode is None:
                proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
    assert proc.returncode == -signal.SIGKILL
    assert await ledger(member.id) == (0, 0)

    # Past the lease, the next worker takes the job over (as soon as PostgreSQL has noticed
    # the dead connection and rolled its transaction back).
    clock.set_clock(FrozenClock(datetime.now(UTC) + timedelta(seconds=31)))
    try:
        retry = Worker(parent)
        for _ in range(200):
            if await retry.run_once():
                break
            await asyncio.sleep(0.05)
    finally:
        clock.set_clock(None)
    row = await Job.get(id=job.id)
    assert (row.status, row.attempts, row.locked_by) == ("done", 2, None)
    assert await ledger(member.id) == (100, 1)


@pytest.mark.postgres_only
async def test_a_job_outliving_its_lease_is_not_run_a_second_time_meanwhile(
    runtime: Runtime, plugins: Plugins, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    member, _ = await create_member(tenant, "13700000002")
    job = await schedule(tenant, "jobtest.slow", {"member_id": member.id, "points": 100})
    first = Worker(runtime, lease=timedelta(seconds=10))
    second = Worker(runtime, lease=timedelta(seconds=10))
    assert await first.claim() == [job.id]
    running = asyncio.create_task(first.run_job(job.id))
    await asyncio.wait_for(plugins.jobs.arrived.wait(), 10)

    frozen_clock.advance(timedelta(seconds=11))  # the lease is over; the handler still runs
    other = asyncio.create_task(second.run_once())
    await asyncio.wait({other}, timeout=2)
    plugins.jobs.release.set()
    await running
    stolen = await other

    row = await Job.get(id=job.id)
    assert (stolen, plugins.jobs.slow_calls, await ledger(member.id)) == (0, 1, (100, 1))
    assert (row.status, row.attempts) == ("done", 1)


@pytest.mark.postgres_only
async def test_claim_skips_a_job_another_transaction_holds_instead_of_waiting(
    runtime: Runtime, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    now = frozen_clock.current
    held = await schedule(tenant, "jobtest.noop", {"n": 1}, now - timedelta(seconds=1))
    free = await schedule(tenant, "jobtest.noop", {"n": 2}, now)
    locked, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:  # as another worker's claim or running job does
        async with in_transaction():
            await Job.filter(id=held.id).select_for_update().first()
            locked.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await locked.wait()
    claiming = asyncio.create_task(Worker(runtime).claim(limit=1))
    done, _ = await asyncio.wait({claiming}, timeout=2)
    release.set()
    await holder
    claimed = await claiming
    assert (claiming in done, claimed) == (True, [free.id])


# --- retries -----------------------------------------------------------------------


async def test_a_failing_job_is_retried_with_backoff_then_marked_failed(
    runtime: Runtime, plugins: Plugins, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    member, _ = await create_member(tenant, "13700000003")
    plugins.jobs.failures_left = 99
    job = await schedule(tenant, "jobtest.flaky", {"member_id": member.id, "points": 5})
    await Job.filter(id=job.id).update(max_attempts=3)
    worker = Worker(runtime)

    assert await worker.run_once() == 1
    row = await Job.get(id=job.id)
    assert (row.status, row.attempts, row.locked_by, row.locked_until) == ("pending", 1, None, None)
    assert row.run_at == frozen_clock.current + timedelta(seconds=2)
    assert row.last_error is not None and "boom 1" in row.last_error
    assert await worker.run_once() == 0  # not due yet
    frozen_clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 0
    frozen_clock.advance(timedelta(seconds=1))

    assert await worker.run_once() == 1
    row = await Job.get(id=job.id)
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.run_at == frozen_clock.current + timedelta(seconds=4)
    assert row.last_error is not None and "boom 2" in row.last_error
    frozen_clock.advance(timedelta(seconds=4))

    assert await worker.run_once() == 1
    row = await Job.get(id=job.id)
    assert (row.status, row.attempts, row.locked_by) == ("failed", 3, None)
    assert row.last_error is not None and "boom 3" in row.last_error
    frozen_clock.advance(timedelta(hours=2))
    assert await worker.run_once() == 0
    assert (await Job.get(id=job.id)).status == "failed"
    assert plugins.jobs.flaky_calls == 3
    # Every failed attempt's writes rolled back with it.
    assert await ledger(member.id) == (0, 0)


async def test_a_job_that_fails_once_succeeds_on_retry_with_its_effect_once(
    runtime: Runtime, plugins: Plugins, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    member, _ = await create_member(tenant, "13700000004")
    plugins.jobs.failures_left = 1
    job = await schedule(tenant, "jobtest.flaky", {"member_id": member.id, "points": 5})
    worker = Worker(runtime)
    assert await worker.run_until_idle() == 1
    assert await ledger(member.id) == (0, 0)
    frozen_clock.advance(timedelta(seconds=2))
    assert await worker.run_until_idle() == 1
    row = await Job.get(id=job.id)
    assert (row.status, row.attempts, row.done_at) == ("done", 2, frozen_clock.current)
    frozen_clock.advance(timedelta(hours=1))
    assert await worker.run_until_idle() == 0
    assert plugins.jobs.flaky_calls == 2
    assert await ledger(member.id) == (5, 1)


# --- scheduling with a dedupe key ---------------------------------------------------


async def test_schedule_with_a_dedupe_key_schedules_once(
    runtime: Runtime, plugins: Plugins, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    now = frozen_clock.current
    async with in_transaction():
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 1}, now, dedupe_key="k")
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 2}, now, dedupe_key="k")
    async with in_transaction():
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 3}, now, dedupe_key="k")
    # A schedule rolled back with its transaction does not hold the key.
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await outbox.schedule(tenant.id, "jobtest.noop", {"n": 4}, now, dedupe_key="j")
            raise RuntimeError("rolled back")
    async with in_transaction():
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 5}, now, dedupe_key="j")
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 6}, now)
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 7}, now)

    assert await Job.filter(dedupe_key="k").count() == 1
    assert await Job.filter(dedupe_key="j").count() == 1
    assert await Job.filter(name="jobtest.noop").count() == 4
    assert await Worker(runtime).run_until_idle() == 4
    assert sorted(p["n"] for p in plugins.jobs.noop_calls) == [1, 5, 6, 7]
    # Done does not free the key either: the job was scheduled, once.
    async with in_transaction():
        await outbox.schedule(tenant.id, "jobtest.noop", {"n": 8}, now, dedupe_key="k")
    assert await Job.filter(dedupe_key="k").count() == 1


@pytest.mark.postgres_only
async def test_two_transactions_scheduling_one_dedupe_key_at_once_both_commit(
    tenant: TenantInfo, yutang_db: Runtime
) -> None:
    """The second schedule is a no-op, not an error that rolls back its caller's work."""
    member, _ = await create_member(tenant, "13700000005")
    now = clock.now()
    scheduled, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with in_transaction():
            await outbox.schedule(tenant.id, "jobtest.noop", {"by": 1}, now, dedupe_key="once")
            scheduled.set()
            await release.wait()

    async def second() -> None:
        async with in_transaction():
            await grant(tenant, {"member_id": member.id, "points": 7})
            await outbox.schedule(tenant.id, "jobtest.noop", {"by": 2}, now, dedupe_key="once")

    one = asyncio.create_task(first())
    await scheduled.wait()
    two = asyncio.create_task(second())
    await until_waiting(1)  # the second insert waits on the first's uncommitted key
    release.set()
    await one
    try:
        await two
    except IntegrityError as exc:
        pytest.fail(f"the second schedule of a dedupe key aborted its transaction: {exc!r}")
    assert await Job.filter(dedupe_key="once").count() == 1
    assert (await Job.get(dedupe_key="once")).payload == {"by": 1}
    assert await ledger(member.id) == (7, 1)


# --- the payment timeout ------------------------------------------------------------


async def place(client: GraphQLClient, sku: Sku, quantity: int, key: str, points: int) -> str:
    data = await client(
        PLACE,
        {
            "lines": [{"skuId": to_global("Sku", sku.id), "quantity": quantity}],
            "key": key,
            "points": points,
        },
    )
    assert data["placeOrder"]["errors"] == []
    order_id: str = data["placeOrder"]["order"]["id"]
    return order_id


async def test_payment_timeout_cancels_an_unpaid_order_once_even_if_run_twice(
    yutang_db: Runtime, member, make_product, frozen_clock: FrozenClock
) -> None:
    row, me = member
    product = await make_product("Tea", [(5000, 4)])
    sku = await Sku.get(product_id=product.id)
    await place(me, sku, 3, "t-1", points=1000)
    assert ((await Sku.get(id=sku.id)).stock, (await Member.get(id=row.id)).points) == (1, 9000)
    first, second = Worker(yutang_db), Worker(yutang_db)
    assert await first.run_until_idle() == 0  # not due before the deadline

    frozen_clock.advance(timedelta(minutes=31))
    ran = await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    assert sum(ran) == 1

    def state(order: Order, stock: int, points: int) -> tuple[Any, ...]:
        return order.status, order.cancelled_at, stock, points

    order = await Order.get(member_id=row.id)
    expected = ("cancelled", frozen_clock.current, 4, 10_000)
    assert (
        state(order, (await Sku.get(id=sku.id)).stock, (await Member.get(id=row.id)).points)
        == expected
    )

    # Delivered again (a worker that lost its acknowledgement), and once more as a
    # duplicate job for the same order, both at once: nothing changes any more.
    job = await Job.get(name="core.payment_timeout")
    frozen_clock.advance(timedelta(minutes=1))
    await Job.filter(id=job.id).update(status="pending", run_at=frozen_clock.current)
    await Job.create(
        tenant_id=job.tenant_id, name=job.name, payload=job.payload, run_at=frozen_clock.current
    )
    await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    frozen_clock.advance(timedelta(hours=1))  # retries of a conflicting delivery, if any
    await first.run_until_idle()

    order = await Order.get(id=order.id)
    assert (
        state(order, (await Sku.get(id=sku.id)).stock, (await Member.get(id=row.id)).points)
        == expected
    )
    assert await PointsEntry.filter(member_id=row.id, reason="order_cancelled").count() == 1
    assert {j.status for j in await Job.filter(name="core.payment_timeout")} == {"done"}


async def test_payment_timeout_leaves_a_paid_order_alone(
    yutang_db: Runtime, member, make_product, frozen_clock: FrozenClock
) -> None:
    row, me = member
    product = await make_product("Tea", [(5000, 4)])
    sku = await Sku.get(product_id=product.id)
    order_id = await place(me, sku, 2, "t-2", points=0)
    paid = await me(PAY, {"id": order_id, "key": "p-2"})
    assert paid["payOrder"]["errors"] == []
    frozen_clock.advance(timedelta(minutes=31))
    assert await Worker(yutang_db).run_until_idle() == 1
    order = await Order.get(member_id=row.id)
    assert (order.status, (await Sku.get(id=sku.id)).stock) == ("paid", 2)
    assert (await Job.get(name="core.payment_timeout")).status == "done"


# --- events: one job per recipient --------------------------------------------------


async def test_a_failing_event_handler_does_not_rerun_another_plugins_handler(
    runtime: Runtime, plugins: Plugins, frozen_clock: FrozenClock
) -> None:
    await Tenant.create(slug="ev", name="ev", plugins=["evgood", "evbad"], settings={})
    shop = await runtime.tenants.by_slug("ev")
    data = RegisterInput(phone="13711112222", password="secret-1")
    member, _ = await register(shop, data, token_days=30)

    jobs = {j.plugins[0]: j for j in await Job.filter(name="event:yutang_member_registered")}
    assert sorted(jobs) == ["evbad", "evgood"]
    assert all(j.plugins == [name] for name, j in jobs.items())
    assert all(j.payload["member_id"] == member.id for j in jobs.values())
    worker = Worker(runtime)

    assert await worker.run_until_idle() == 2
    assert plugins.good.calls == [jobs["evgood"].id]
    assert plugins.bad.calls == [jobs["evbad"].id]
    bad = await Job.get(id=jobs["evbad"].id)
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert bad.last_error is not None and "handler failed on delivery 1" in bad.last_error
    assert (await Job.get(id=jobs["evgood"].id)).status == "done"

    frozen_clock.advance(timedelta(seconds=2))
    assert await worker.run_until_idle() == 1
    plugins.bad.failing = False
    frozen_clock.advance(timedelta(seconds=4))
    assert await worker.run_until_idle() == 1
    frozen_clock.advance(timedelta(hours=1))
    assert await worker.run_until_idle() == 0

    # The good handler ran once; the bad one three times, always as the same delivery.
    assert plugins.good.calls == [jobs["evgood"].id]
    assert plugins.bad.calls == [jobs["evbad"].id] * 3
    assert {j.status for j in await Job.filter(name="event:yutang_member_registered")} == {"done"}


# --- the worker's identity ----------------------------------------------------------


async def test_a_worker_on_a_host_with_a_long_name_can_claim_jobs(
    runtime: Runtime, plugins: Plugins, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 63 characters: the longest DNS label, and the longest Kubernetes pod (host) name.
    monkeypatch.setattr(socket, "gethostname", lambda: "yutang-worker-" + "7" * 49)
    worker = Worker(runtime)
    job = await schedule(tenant, "jobtest.noop", {"n": 1})
    assert len(worker.id) <= Job._meta.fields_map["locked_by"].max_length, worker.id
    assert await worker.run_until_idle() == 1
    assert (await Job.get(id=job.id)).status == "done"
