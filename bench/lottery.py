"""Lottery (抽奖): points-paid draws over HTTP under concurrent members.

One tenant with the lottery plugin and one activity open now: 10 points a draw, and one
prize, 5 points from a stock of 10⁷ (weight 1; a "no prize" of weight 0 beside it), so
every draw takes the longest path short of a goods claim — the member's counter row
locked, the points debit through the ledger, a prize unit by conditional UPDATE, the
points grant, the draw row. ``--connections`` members (default 16, each with 10⁹ points)
draw again and again, each request from the next member with a unique idempotency key
(``wrk/storm.lua``):

* ``yutang`` — the real ``yutang serve --no-worker``, ``drawLottery``;
* ``bare`` — ``bench.bare_marketing``: the same statements with the raw driver in one
  transaction, the counter row ``SELECT … FOR UPDATE`` (the ceiling for this path).

After the runs the database is read: draws, counters, prize stock and every member's
points must agree.

Run from the repository root: ``.venv/bin/python -m bench.lottery [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.baselines import gid
from bench.common import (
    Load,
    Server,
    Timing,
    arguments,
    counting_sql,
    fresh_database,
    graphql_body,
    in_process,
    load_average,
    machine,
    markdown,
    measure,
    migrate_and_open,
    need_wrk,
    one_database,
    ratio,
    say,
    seed_members,
    seed_shop,
    settings_for,
    timing,
)
from yutang.core.db import close_db, init_db
from yutang.core.models import Member
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings

SLUG = "shop"
DRAW = """mutation Draw($id: ID!, $key: String!) {
  drawLottery(input: {activityId: $id, idempotencyKey: $key}) {
    draw { id seq prize { name } }
    errors { code field message }
  }
}"""
PLUGINS_TOML = '[profiles.default]\nplugins = ["lottery"]\n'
PATHS = {"yutang": "/graphql", "bare": "/bare/lottery"}
SERVERS = {"yutang": "yutang", "bare": "marketing"}
POINTS = 10**9
COST, PRIZE, STOCK = 10, 5, 10**7


async def prepare(
    kind: str, workdir: Path, pg: str, members: int
) -> tuple[AppSettings, int, list[str]]:
    """A migrated database with the activity and the members; settings, activity, tokens."""
    from yutang.plugins.lottery.activities import ActivityInput, PrizeInput, create_activity

    url = await fresh_database(kind, "ytbench_lottery", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    try:
        tenant = await seed_shop(runtime, SLUG, products=1, skus=1, images=0)
        now = datetime.now(UTC)
        activity = await create_activity(
            tenant,
            ActivityInput(
                name="Bench draw",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
                points_per_draw=COST,
                prizes=[
                    PrizeInput(name="5 points", kind="points", weight=1, amount=PRIZE, stock=STOCK),
                    PrizeInput(name="Thanks", kind="none", weight=0),
                ],
            ),
        )
        tokens = [token for _, token in await seed_members(tenant.id, members, points=POINTS)]
    finally:
        await close_db()
    return runtime.settings, activity.id, tokens


def body(activity_id: int, key: str = "%KEY%") -> bytes:
    """A drawLottery body."""
    return graphql_body(DRAW, {"id": gid("LotteryActivity", activity_id), "key": key})


async def sql_counts(settings: AppSettings, mode: str, activity_id: int, token: str) -> int:
    """SQL statements of one draw, counted in-process after a warm-up draw."""
    headers = {"X-Tenant": SLUG, "Authorization": f"Bearer {token}"}
    headers["content-type"] = "application/json"
    async with in_process(SERVERS[mode], settings) as client:
        with counting_sql() as counter:
            for step in ("warm", "count"):
                answer = await client.post(
                    PATHS[mode], content=body(activity_id, f"sql-{mode}-{step}"), headers=headers
                )
                drawn = answer.json()["data"]["drawLottery"]
                if not drawn["draw"] or drawn["draw"]["prize"] != {"name": "5 points"}:
                    raise SystemExit(f"{mode}: unexpected draw {answer.text[:300]}")
                found = counter.take()
    return found


async def audit(settings: AppSettings, activity_id: int) -> tuple[int, str]:
    """Draws in the database, and whether counters, prize stock and points agree."""
    from yutang.plugins.lottery.models import LotteryCounter, LotteryDraw, LotteryPrize

    await init_db(settings, build_runtime(settings).registry)
    try:
        draws = await LotteryDraw.filter(activity_id=activity_id).count()
        counted = sum(
            int(r["total"])
            for r in await LotteryCounter.filter(activity_id=activity_id).values("total")
        )
        prize = await LotteryPrize.get(activity_id=activity_id, kind="points")
        points = sum(int(r["points"]) for r in await Member.all().values("points"))
        members = await Member.all().count()
        expected = members * POINTS - draws * (COST - PRIZE)
        problems = []
        if counted != draws:
            problems.append(f"counters {counted} ≠ draws {draws}")
        if prize.remaining != STOCK - draws:
            problems.append(f"prize stock {prize.remaining} ≠ {STOCK - draws}")
        if points != expected:
            problems.append(f"points {points} ≠ {expected}")
    finally:
        await close_db()
    return draws, "; ".join(problems) or "all agree"


def bench_database(kind: str, workdir: Path, pg: str, times: Timing, connections: int) -> str:
    """Measure both servers on one database; the table of results."""
    say(f"== {kind}: seeding {connections} members and the activity")
    settings, activity_id, tokens = asyncio.run(prepare(kind, workdir, pg, connections))
    counts = {
        mode: asyncio.run(sql_counts(settings, mode, activity_id, tokens[0])) for mode in PATHS
    }
    say(f"  SQL statements per draw: {counts}")
    (workdir / "draw.json").write_bytes(body(activity_id))
    (workdir / "tokens.txt").write_text("\n".join(tokens), encoding="utf-8")
    with ExitStack() as stack:
        servers = {m: stack.enter_context(Server(SERVERS[m], settings)) for m in PATHS}
        loads = [
            Load(
                mode,
                server,
                PATHS[mode],
                "storm.lua",
                [
                    str(workdir / "draw.json"),
                    str(workdir / "tokens.txt"),
                    SLUG,
                    f"{kind}-{mode}",
                    "0",
                    '"prize":{"name":"5 points"}',
                    '"code":"',
                    str(workdir / "unused.done"),
                ],
            )
            for mode, server in servers.items()
        ]
        measured = measure(loads, times, connections)
    draws, verdict = asyncio.run(audit(settings, activity_id))
    say(f"  audit: {draws} draws; {verdict}")
    base = measured["bare"]
    rows: list[list[Any]] = [
        [
            mode,
            f"{r.per_second('ok'):,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{ratio(r, base, 'ok'):.3f}×",
            f"{base.cpu_us('ok') / r.cpu_us('ok'):.3f}×",
            counts[mode],
            f"{r.cpu_us('ok'):,.0f}",
            r.counter("refused") + r.counter("failed") + r.errors,
        ]
        for mode, r in measured.items()
    ]
    for mode, r in measured.items():
        if r.failed_sample():
            say(f"  {mode}: first failure: {r.failed_sample()}")
    headers = ["server", "draws/s", "p50 ms", "p99 ms", "× bare", "× bare CPU", "SQL/draw"]
    headers += ["CPU µs/draw", "failed"]
    return (
        f"### {kind}\n\n{markdown(headers, rows)}\n\n"
        f"Audit after the runs: {draws} draws; counters, prize stock and points: {verdict}. "
        f"Load average {load_average()} at the end."
    )


def main() -> None:
    """Run the benchmark and print its table."""
    parser = arguments(__doc__ or "", db="postgres", warmup=3, runs=3, duration=8)
    args = parser.parse_args()
    kind = one_database("bench.lottery", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        table = bench_database(kind, Path(tmp), args.pg, timing(args), args.connections)
    say(f"\n## Lottery ({kind}, {args.connections} members on as many connections)\n\n{table}")


if __name__ == "__main__":
    main()
