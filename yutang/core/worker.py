"""The durable job worker: claims due jobs, runs each in its own transaction.

A job's handler and the row that marks it done commit together, so a worker killed in
the middle leaves nothing behind; the lease expires and the next worker retries it.
Handlers that call external services (gateways) run outside the transaction
(:func:`outside_transaction`) and must be idempotent on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from yutang.core import clock
from yutang.core.contract import Event, outside_transaction
from yutang.core.models import Job
from yutang.core.outbox import EVENT_PREFIX

if TYPE_CHECKING:
    from yutang.core.runtime import Runtime

log = logging.getLogger("yutang.worker")


class Worker:
    """Runs due jobs for every tenant; many workers may run side by side."""

    def __init__(self, runtime: Runtime, lease: timedelta = timedelta(seconds=60)) -> None:
        self.runtime = runtime
        self.lease = lease
        self.id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._handlers: dict[str, Any] | None = None

    @property
    def handlers(self) -> dict[str, Any]:
        """Job handlers of every installed plugin (a disabled plugin's jobs still run)."""
        if self._handlers is None:
            self._handlers = {}
            for _, result in self.runtime.registry.everything().collect("yutang_jobs"):
                self._handlers.update(result)
        return self._handlers

    async def claim(self, limit: int = 20) -> list[int]:
        """Take up to ``limit`` due jobs (or jobs whose lease expired) for this worker."""
        now = clock.now()
        due = Q(status="pending", run_at__lte=now) | Q(status="running", locked_until__lt=now)
        async with in_transaction():
            jobs = (
                await Job.filter(due)
                .order_by("run_at", "id")
                .limit(limit)
                .select_for_update(skip_locked=True)
            )
            claimed: list[int] = []
            for job_id in (job.id for job in jobs):
                took = await Job.filter(due, id=job_id).update(
                    status="running",
                    locked_by=self.id,
                    locked_until=now + self.lease,
                    attempts=F("attempts") + 1,
                )
                if took:
                    claimed.append(job_id)
        return claimed

    async def run_once(self, limit: int = 20) -> int:
        """Claim and run one batch; the number of jobs run."""
        ids = await self.claim(limit)
        for job_id in ids:
            await self.run_job(job_id)
        return len(ids)

    async def run_until_idle(self, max_rounds: int = 100) -> int:
        """Run batches until nothing is due (tests, CLI)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if not n:
                break
            total += n
        return total

    async def run_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """The in-process loop of ``serve``: poll until ``stop`` is set."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("job worker batch failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

    async def run_job(self, job_id: int) -> None:
        """Run one claimed job; on failure it goes back to pending with backoff."""
        job = await Job.get(id=job_id)
        try:
            call = self._resolve(job)
            if getattr(call, "yutang_outside_transaction", False):
                await _await(call())
                await self._finish(job)
            else:
                async with in_transaction():
                    # A row lock, not exists(): tortoise drops FOR UPDATE from exists(),
                    # and the lock is what keeps a worker that took over after our lease
                    # expired from running the job beside us.
                    owned = (
                        await Job.filter(id=job.id, status="running", locked_by=self.id)
                        .select_for_update()
                        .first()
                    ) is not None
                    if not owned:
                        return
                    await _await(call())
                    await self._finish(job)
        except Exception as exc:
            log.warning("job %s (%s) failed: %r", job.id, job.name, exc)
            failed = job.attempts >= job.max_attempts
            await Job.filter(id=job.id, locked_by=self.id).update(
                status="failed" if failed else "pending",
                run_at=clock.now() + timedelta(seconds=min(2**job.attempts, 3600)),
                locked_by=None,
                locked_until=None,
                last_error=repr(exc)[:2000],
            )

    async def _finish(self, job: Job) -> None:
        await Job.filter(id=job.id, locked_by=self.id).update(
            status="done", done_at=clock.now(), locked_by=None, locked_until=None
        )

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
