"""The durable job worker: claims due jobs fairly per queue, runs them concurrently.

A job's handler and the row that marks it done commit together, so a worker killed in
the middle leaves nothing behind; the lease expires and the next worker retries it.
Handlers that call external services (gateways) run outside the transaction
(:func:`outside_transaction`) and must be idempotent on their own.

Each queue (``yutang.core.schedules.Queue``) has its own loop and concurrency, so bulk
work never holds up a payment timeout; within a queue tenants take turns
(``yutang.core.claims`` states the bound). Idle loops wake on PostgreSQL notifications
(``yutang.core.wakeup``) or poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from yutang.core import claims, clock, recurring, retention
from yutang.core.contract import Event, outside_transaction
from yutang.core.models import Job
from yutang.core.outbox import EVENT_PREFIX
from yutang.core.plugins import CORE_PLUGIN
from yutang.core.schedules import Queue, Recurring
from yutang.core.wakeup import Wakeup

if TYPE_CHECKING:
    from yutang.core.runtime import Runtime

log = logging.getLogger("yutang.worker")

QUEUES = tuple(Queue)
HOUSEKEEPING_EVERY = 60.0  # seconds between seeding recurring jobs and applying retention


def parse_concurrency(text: str) -> Mapping[str, int]:
    """``events=3,bulk=2`` as a mapping; a queue left out runs one job at a time."""
    found = {str(queue): 1 for queue in QUEUES}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name.strip() not in found or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(
                f"job concurrency {part!r}: expected <queue>=<n> with queue in "
                f"{', '.join(QUEUES)} and n >= 1"
            )
        found[name.strip()] = int(value)
    return MappingProxyType(found)


class Worker:
    """Runs due jobs for every tenant; many workers may run side by side."""

    def __init__(
        self,
        runtime: Runtime,
        lease: timedelta = timedelta(seconds=60),
        concurrency: Mapping[str, int] | None = None,
    ) -> None:
        self.runtime = runtime
        self.lease = lease
        self.concurrency = concurrency or parse_concurrency(runtime.settings.job_concurrency)
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._handlers: dict[str, Any] | None = None
        self._recurring: dict[str, recurring.Declared] = {}

    @property
    def handlers(self) -> dict[str, Any]:
        """Job handlers of every installed plugin (a disabled plugin's jobs still run)."""
        if self._handlers is None:
            self._handlers = {}
            for plugin, result in self.runtime.registry.everything().collect("yutang_jobs"):
                for name, value in result.items():
                    if isinstance(value, Recurring):
                        self._recurring[name] = recurring.Declared(name, plugin, value)
                        value = value.handler
                    self._handlers[name] = value
        return self._handlers

    @property
    def recurring_jobs(self) -> list[recurring.Declared]:
        """The recurring jobs every installed plugin declared."""
        _ = self.handlers
        return list(self._recurring.values())

    async def claim(self, limit: int = 20, queue: str | None = None) -> list[int]:
        """Take up to ``limit`` due jobs (or jobs whose lease expired) for this worker,
        of ``queue`` or of each queue in turn, fairly across tenants."""
        now = clock.now()
        taken: list[int] = []
        for name in QUEUES if queue is None else (queue,):
            taken += await claims.claim(name, limit - len(taken), self.id, now, now + self.lease)
        return taken

    async def run_once(self, limit: int = 20) -> int:
        """Run up to ``limit`` due jobs of each queue, claiming no more at a time than the
        queue's concurrency, so a claimed job starts at once, well inside its lease; the
        number of jobs run."""
        total = 0
        for queue in QUEUES:
            ran = 0
            while ran < limit:
                ids = await self.claim(min(self.concurrency[queue], limit - ran), queue)
                if not ids:
                    break
                await asyncio.gather(*(self.run_job(job_id) for job_id in ids))
                ran += len(ids)
            total += ran
        return total

    async def run_until_idle(self, max_rounds: int = 100) -> int:
        """Run batches until nothing is due (tests, CLI)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if not n:
                break
            total += n
        return total

    async def housekeeping(self) -> None:
        """Seed recurring jobs and apply retention."""
        await recurring.seed(self.recurring_jobs, self.runtime.tenants)
        settings = self.runtime.settings
        await retention.apply(
            timedelta(days=settings.job_retention_days),
            timedelta(days=settings.webhook_retention_days),
        )

    async def run_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """The loop of ``serve`` and ``yutang worker``: one lane per queue, woken by
        notifications (PostgreSQL) or every ``interval`` seconds, until ``stop`` is set;
        jobs running then are finished."""
        wakeup = Wakeup(list(QUEUES))
        tasks = [asyncio.create_task(self._lane(q, wakeup, stop, interval)) for q in QUEUES]
        tasks.append(asyncio.create_task(self._housekeep(stop)))
        settings = self.runtime.settings
        if not settings.is_sqlite:
            dsn = settings.jobs_listen_url or settings.database_url
            tasks.append(asyncio.create_task(wakeup.listen(dsn, stop)))
        try:
            await stop.wait()
        finally:
            stop.set()
            wakeup.wake()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _lane(self, queue: str, wakeup: Wakeup, stop: asyncio.Event, interval: float) -> None:
        limit = self.concurrency[queue]
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            wakeup.wake(queue)

        while not stop.is_set():
            wakeup.events[queue].clear()
            free = limit - len(running)
            ids: list[int] = []
            if free > 0:
                try:
                    ids = await self.claim(free, queue)
                except Exception:
                    log.exception("claiming %s jobs failed", queue)
            for job_id in ids:
                task = asyncio.create_task(self.run_job(job_id))
                running.add(task)
                task.add_done_callback(finished)
            if not ids or len(ids) < free:
                await wakeup.wait(queue, interval)
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    async def _housekeep(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.housekeeping()
            except Exception:
                log.exception("job housekeeping failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HOUSEKEEPING_EVERY)

    async def run_job(self, job_id: int) -> None:
        """Run one claimed job; on failure it goes back to pending with backoff.

        The job is read under its row lock in its own transaction, only while this worker
        holds it: the lock keeps a worker that took over after our lease expired from
        running it beside us. A job that runs outside a transaction is read the same way
        and runs after that transaction, if its lease has not run out meanwhile.
        """
        job: Job | None = None
        try:
            async with in_transaction():
                # select_for_update on a filter: tortoise drops FOR UPDATE from exists()
                mine = Job.filter(id=job_id, status="running", locked_by=self.id)
                job = await mine.select_for_update().first()
                if job is None:
                    return
                call = self._resolve(job)
                outside = getattr(call, "yutang_outside_transaction", False)
                if not outside:
                    await _await(call())
                    await self._finish(job)
            if outside and self._holds(job):
                await _await(call())
                async with in_transaction():
                    await self._finish(job)
        except Exception as exc:
            if job is None:
                raise
            log.warning("job %s (%s) failed: %r", job.id, job.name, exc)
            failed = job.attempts >= job.max_attempts
            await Job.filter(id=job.id, locked_by=self.id).update(
                status="failed" if failed else "pending",
                run_at=clock.now() + timedelta(seconds=min(2**job.attempts, 3600)),
                locked_by=None,
                locked_until=None,
                last_error=repr(exc)[:2000],
            )

    def _holds(self, job: Job) -> bool:
        """Whether ``job`` as read is still this worker's, its lease unexpired (a job run
        outside a transaction has no row lock to tell)."""
        until = job.locked_until
        return (
            job.status == "running"
            and job.locked_by == self.id
            and until is not None
            and until > clock.now()
        )

    async def _finish(self, job: Job) -> None:
        """Mark the job done and, for a recurring one, schedule its next occurrence
        (inside the caller's transaction: the job's own when it has one)."""
        await Job.filter(id=job.id, locked_by=self.id).update(
            status="done", done_at=clock.now(), locked_by=None, locked_until=None
        )
        declared = self._recurring.get(job.name)
        if declared is not None and recurring.PERIOD in job.payload:
            await self._chain(declared, job)

    async def _chain(self, declared: recurring.Declared, job: Job) -> None:
        after = max(clock.now(), datetime.fromisoformat(job.payload[recurring.PERIOD]))
        if job.tenant_id is None:
            await recurring.schedule_next(declared, None, ZoneInfo("UTC"), after)
            return
        info = await self.runtime.tenants.by_id(job.tenant_id)
        enabled = declared.plugin == CORE_PLUGIN or declared.plugin in info.plugins
        if info.status == "active" and enabled:
            await recurring.schedule_next(declared, info.id, info.zone, after)

    def _resolve(self, job: Job) -> Callable[[], Any]:
        runtime = self.runtime

        async def tenant() -> Any:
            return await runtime.tenants.by_id(job.tenant_id) if job.tenant_id else None

        if job.name.startswith(EVENT_PREFIX):
            hook = job.name.removeprefix(EVENT_PREFIX)

            async def deliver() -> None:
                info = await tenant()
                event = Event(
                    id=job.id,
                    name=hook,
                    tenant_id=info.id,
                    occurred_at=datetime.fromisoformat(job.payload["at"]),
                    order_id=job.payload.get("order_id"),
                    member_id=job.payload.get("member_id"),
                    data=job.payload.get("data") or {},
                )
                await runtime.registry.plugin_set(job.plugins).call(hook, event=event, tenant=info)

            return deliver
        handler = self.handlers.get(job.name)
        if handler is None:
            raise LookupError(f"no handler for job {job.name!r}")

        async def run() -> None:
            await _await(handler(await tenant(), job.payload))

        if getattr(handler, "yutang_outside_transaction", False):
            outside_transaction(run)
        return run


async def _await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
