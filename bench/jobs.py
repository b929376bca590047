"""Job throughput and fairness on PostgreSQL, against a bare ``SKIP LOCKED`` loop.

**Throughput.** ``--jobs`` jobs of one tenant are queued, then run by Yutang's worker
(``run_forever``: the fair claim, the job's own transaction holding its row lock, the
done mark) with 1 worker running one job at a time, and with ``--workers`` workers in
one process each running ``--concurrency`` at once. The baseline, in the same run and
on the same database, is the loop every PostgreSQL queue starts from: a table of its
own, and per job one transaction ``SELECT ... ORDER BY id LIMIT 1 FOR UPDATE SKIP
LOCKED``, ``UPDATE ... SET status = 'done'``, ``COMMIT``, with 1 and with
``workers x concurrency`` connections. Handlers do nothing: this is the queue's own
cost. Rounds alternate Yutang and the baseline; figures are medians.

**Fairness.** A big tenant queues ``--backlog`` jobs, then a small tenant one; one
worker (bulk concurrency 4) runs them. Reported: how many of the big tenant's jobs
started before the small tenant's, and how long after it was queued it started; the
FIFO baseline (the bare loop's order) has the whole backlog ahead of it.

Run from the repository root: ``.venv/bin/python -m bench.jobs [--pg URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PG_DEFAULT, fresh_database, machine, markdown, migrate_and_open, say
from yutang import api
from yutang.core import clock
from yutang.core.contract import TenantInfo
from yutang.core.db import close_db
from yutang.core.models import Job, Tenant
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.settings import AppSettings
from yutang.core.worker import Worker, parse_concurrency


class Recorder:
    """The plugin ``benchjobs``: counts runs, notes who ran in which order and when."""

    def __init__(self) -> None:
        self.expected = 0
        self.ran = 0
        self.done = asyncio.Event()
        self.order: list[tuple[int | None, float]] = []

    def reset(self, expected: int) -> None:
        self.expected, self.ran, self.order = expected, 0, []
        self.done = asyncio.Event()

    @api.hookimpl
    def yutang_jobs(self) -> dict[str, api.JobHandler]:
        return {"benchjobs.noop": self.noop}

    def noop(self, tenant: TenantInfo | None, payload: dict[str, Any]) -> None:
        self.ran += 1
        self.order.append((tenant.id if tenant else None, time.monotonic()))
        if self.ran >= self.expected:
            self.done.set()


async def queue_jobs(tenant_id: int, n: int, queue: str = "timeouts") -> None:
    now = clock.now()
    await Job.bulk_create(
        [
            Job(tenant_id=tenant_id, name="benchjobs.noop", payload={}, run_at=now, queue=queue)
            for _ in range(n)
        ],
        batch_size=1000,
    )


async def run_yutang(
    runtime: Runtime, recorder: Recorder, n: int, workers: int, concurrency: str
) -> float:
    """Jobs per second of ``workers`` workers running ``n`` queued jobs."""
    await Job.all().delete()
    tenant = await Tenant.get(slug="big")
    await queue_jobs(tenant.id, n)
    recorder.reset(n)
    stop = asyncio.Event()
    lanes = parse_concurrency(concurrency)
    started = time.perf_counter()
    loops = [
        asyncio.create_task(Worker(runtime, concurrency=lanes).run_forever(stop, interval=0.05))
        for _ in range(workers)
    ]
    await recorder.done.wait()
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*loops)
    return n / elapsed


async def run_bare(dsn: str, n: int, connections: int) -> float:
    """Jobs per second of the bare loop on ``connections`` connections."""
    import asyncpg  # type: ignore[import-untyped]

    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    try:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bare_job (id bigserial PRIMARY KEY, "
            "status text NOT NULL DEFAULT 'pending', payload jsonb NOT NULL DEFAULT '{}')"
        )
        await pool.execute("TRUNCATE bare_job")
        await pool.execute(
            "INSERT INTO bare_job (status) SELECT 'pending' FROM generate_series(1, $1)", n
        )

        async def loop() -> None:
            async with pool.acquire() as conn:
                while True:
                    async with conn.transaction():
                        job = await conn.fetchval(
                            "SELECT id FROM bare_job WHERE status = 'pending' ORDER BY id "
                            "LIMIT 1 FOR UPDATE SKIP LOCKED"
                        )
                        if job is None:
                            return
                        await conn.execute("UPDATE bare_job SET status = 'done' WHERE id = $1", job)

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(connections)))
        return n / (time.perf_counter() - started)
    finally:
        await pool.close()


async def fairness(runtime: Runtime, recorder: Recorder, backlog: int) -> tuple[int, float]:
    """(big tenant's jobs started before the small tenant's, seconds it waited)."""
    await Job.all().delete()
    big, small = await Tenant.get(slug="big"), await Tenant.get(slug="small")
    await queue_jobs(big.id, backlog, "bulk")
    recorder.reset(backlog + 1)
    stop = asyncio.Event()
    worker = Worker(runtime, concurrency=parse_concurrency("bulk=4"))
    loop = asyncio.create_task(worker.run_forever(stop, interval=0.05))
    await asyncio.sleep(0.2)  # the backlog is being worked through
    queued = time.monotonic()
    await queue_jobs(small.id, 1, "bulk")
    await recorder.done.wait()
    stop.set()
    await loop
    position = next(i for i, (t, _) in enumerate(recorder.order) if t == small.id)
    ahead = sum(1 for t, at in recorder.order[:position] if t == big.id and at >= queued)
    waited = recorder.order[position][1] - queued
    return ahead, waited


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = await fresh_database("postgres", "yutang_bench_jobs", Path(tmp), args.pg)
        plugins = Path(tmp) / "plugins.toml"
        plugins.write_text("[profiles.default]\nplugins = []\n", encoding="utf-8")
        pool = max(20, args.workers * args.concurrency + 4)
        settings = AppSettings(
            database_url=url, plugins_file=str(plugins), production=True, db_pool_size=pool
        )
        recorder = Recorder()
        runtime = build_runtime(settings, extra_plugins=[("benchjobs", recorder)])
        await migrate_and_open(runtime)
        try:
            for slug in ("big", "small"):
                await Tenant.create(slug=slug, name=slug, settings={})
            n, many = args.jobs, args.workers * args.concurrency
            lanes = f"timeouts={args.concurrency}"
            figures: dict[str, list[float]] = {k: [] for k in ("y1", "yn", "b1", "bn")}
            for round_ in range(args.rounds):
                figures["y1"].append(await run_yutang(runtime, recorder, n, 1, "timeouts=1"))
                figures["b1"].append(
                    await run_bare(url.replace("postgres://", "postgresql://"), n, 1)
                )
                figures["yn"].append(await run_yutang(runtime, recorder, n, args.workers, lanes))
                figures["bn"].append(
                    await run_bare(url.replace("postgres://", "postgresql://"), n, many)
                )
                say(
                    f"round {round_ + 1}: "
                    + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in figures.items())
                )
            med = {k: statistics.median(v) for k, v in figures.items()}
            fair = [await fairness(runtime, recorder, args.backlog) for _ in range(args.rounds)]
        finally:
            await close_db()
    say("")
    say(machine())
    say("")
    say(
        markdown(
            ["setup", "Yutang jobs/s", "bare SKIP LOCKED jobs/s", "Yutang / bare"],
            [
                [
                    "1 worker, 1 at a time",
                    f"{med['y1']:.0f}",
                    f"{med['b1']:.0f}",
                    f"{med['y1'] / med['b1']:.2f}",
                ],
                [
                    f"{args.workers} workers x {args.concurrency} at once",
                    f"{med['yn']:.0f}",
                    f"{med['bn']:.0f} ({many} connections)",
                    f"{med['yn'] / med['bn']:.2f}",
                ],
            ],
        )
    )
    say("")
    ahead = statistics.median(a for a, _ in fair)
    waited = statistics.median(w for _, w in fair)
    fifo_wait = args.backlog / med["y1"]
    say(
        markdown(
            ["small tenant's job", "big tenant's jobs started before it", "wait"],
            [
                [
                    f"Yutang, fair claims (backlog {args.backlog})",
                    f"{ahead:.0f}",
                    f"{waited * 1000:.0f} ms",
                ],
                [
                    "FIFO (the bare loop's order)",
                    f"up to {args.backlog}",
                    f"up to {fifo_wait:.1f} s at 1 worker's rate",
                ],
            ],
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL (no database)")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
