"""Group buy (拼团): members joining open teams over HTTP, many teams and many joiners.

One tenant with the groupbuy plugin (``max_team_size = 1000``) and, per server, its own
activity (teams of 1,000, open a day, 10,000 units per member) on its own SKU, with
``--teams`` teams (default 50) opened the real way — a leader's placeOrder and payOrder,
then the job worker opening the team. ``--joiners`` members (default 401, coprime with
the team count so a member meets a team again only after joiners × teams requests) join:
each request is a one-line placeOrder of 1 unit with ``activity: {plugin: "groupbuy"}``
and ``extensions: {groupbuy: {team}}``, from the next joiner for the next team, with a
unique idempotency key (``wrk/storm.lua``):

* ``yutang`` — the real ``yutang serve --no-worker``;
* ``bare`` — ``bench.bare_marketing``: the same statements with the raw driver in one
  transaction, the seat taken by the same conditional UPDATE on the team row.

After the runs the database is read: every team's seat count must equal its held and
paid seats, and no team may hold more seats than its size.

Run from the repository root: ``.venv/bin/python -m bench.groupbuy [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.baselines import PAY_ORDER, gid
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
from yutang.core.models import Sku
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings

SLUG = "shop"
JOIN = """mutation Join($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, extensions: $ext}) {
    order { id status total { amount } }
    errors { code field message }
  }
}"""
PLUGINS_TOML = (
    '[profiles.default]\nplugins = ["groupbuy"]\n\n'
    "[profiles.default.settings.groupbuy]\nmax_team_size = 1000\n"
)
PATHS = {"yutang": "/graphql", "bare": "/bare/groupbuy"}
SERVERS = {"yutang": "yutang", "bare": "marketing"}
TEAM_SIZE = 1000


def body(sku_id: int, item_id: int, team: str = "%TEAM%", key: str = "%KEY%") -> bytes:
    """A join (or, with ``team`` empty, an opening) placeOrder body."""
    line = {
        "skuId": gid("Sku", sku_id),
        "quantity": 1,
        "activity": {"plugin": "groupbuy", "ref": gid("GroupbuyItem", item_id)},
    }
    ext = {"groupbuy": {"team": team}} if team else None
    return graphql_body(JOIN, {"lines": [line], "key": key, "ext": ext})


async def open_teams(
    settings: AppSettings, sku_id: int, item_id: int, leaders: list[str], mode: str
) -> None:
    """Each leader opens a team: placeOrder then payOrder through the real app."""
    async with in_process("yutang", settings) as client:
        for i, token in enumerate(leaders):
            headers = {"X-Tenant": SLUG, "Authorization": f"Bearer {token}"}
            headers["content-type"] = "application/json"
            key = f"open-{mode}-{i}"
            placed = (
                await client.post(
                    "/graphql", content=body(sku_id, item_id, "", key), headers=headers
                )
            ).json()["data"]["placeOrder"]
            if not placed["order"]:
                raise SystemExit(f"opening a team failed: {placed}")
            pay = graphql_body(PAY_ORDER, {"id": placed["order"]["id"], "key": key})
            paid = (await client.post("/graphql", content=pay, headers=headers)).json()
            if paid["data"]["payOrder"]["errors"]:
                raise SystemExit(f"paying a leader's order failed: {paid}")


async def prepare(
    kind: str, workdir: Path, pg: str, teams: int, joiners: int
) -> tuple[AppSettings, dict[str, tuple[int, int, list[str]]], list[str]]:
    """The database with one activity per server and its open teams; settings, per server
    (SKU, item, team IDs), and the joiners' tokens."""
    from yutang.core.worker import Worker
    from yutang.plugins.groupbuy.activities import ActivityInput, ItemInput, create_activity
    from yutang.plugins.groupbuy.models import GroupbuyItem, GroupbuyTeam

    url = await fresh_database(kind, "ytbench_groupbuy", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    items: dict[str, tuple[int, int]] = {}
    try:
        tenant = await seed_shop(runtime, SLUG, products=len(PATHS), skus=1, images=0, stock=10**9)
        skus = [r["id"] for r in await Sku.filter(tenant_id=tenant.id).order_by("id").values("id")]
        now = datetime.now(UTC)
        for mode, sku_id in zip(PATHS, skus, strict=True):
            activity = await create_activity(
                tenant,
                ActivityInput(
                    name=f"{mode} group buy",
                    starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(days=2),
                    team_size=TEAM_SIZE,
                    validity_minutes=1440,
                    items=[ItemInput(sku_id=sku_id, price=100)],
                    member_limit=10_000,
                ),
            )
            item = await GroupbuyItem.get(activity_id=activity.id)
            items[mode] = (sku_id, item.id)
        members = await seed_members(tenant.id, teams * len(PATHS) + joiners)
        tokens = [token for _, token in members]
    finally:
        await close_db()
    for i, (mode, (sku_id, item_id)) in enumerate(items.items()):
        leaders = tokens[i * teams : (i + 1) * teams]
        await open_teams(runtime.settings, sku_id, item_id, leaders, mode)
    await init_db(runtime.settings, runtime.registry)
    found: dict[str, tuple[int, int, list[str]]] = {}
    try:
        await Worker(runtime).run_until_idle()
        for mode, (sku_id, item_id) in items.items():
            ids = [
                int(r["id"])
                for r in await GroupbuyTeam.filter(
                    activity__items__id=item_id, status="open"
                ).values("id")
            ]
            if len(ids) != teams:
                raise SystemExit(f"{mode}: {len(ids)} of {teams} teams opened")
            found[mode] = (sku_id, item_id, [gid("GroupbuyTeam", pk) for pk in sorted(ids)])
    finally:
        await close_db()
    return runtime.settings, found, tokens[teams * len(PATHS) :]


async def sql_counts(
    settings: AppSettings, mode: str, sku_id: int, item_id: int, teams: list[str], token: str
) -> int:
    """SQL statements of one join, counted in-process after a warm-up join."""
    headers = {"X-Tenant": SLUG, "Authorization": f"Bearer {token}"}
    headers["content-type"] = "application/json"
    async with in_process(SERVERS[mode], settings) as client:
        with counting_sql() as counter:
            for step, team in (("warm", teams[-1]), ("count", teams[-2])):
                content = body(sku_id, item_id, team, f"sql-{mode}-{step}")
                answer = await client.post(PATHS[mode], content=content, headers=headers)
                placed = answer.json()["data"]["placeOrder"]
                if not placed["order"]:
                    raise SystemExit(f"{mode}: join failed: {answer.text[:300]}")
                found = counter.take()
    return found


async def audit(settings: AppSettings) -> tuple[int, int, str]:
    """Joins in the database (held seats of joiners), teams, and whether seats agree."""
    from yutang.plugins.groupbuy.models import GroupbuySeat, GroupbuyTeam

    await init_db(settings, build_runtime(settings).registry)
    try:
        teams = await GroupbuyTeam.all().values("id", "seats", "size")
        problems = []
        for team in teams:
            held = await GroupbuySeat.filter(
                team_id=team["id"], status__in=("held", "paid")
            ).count()
            if held != team["seats"] or team["seats"] > team["size"]:
                problems.append(f"team {team['id']}: {team['seats']} seats, {held} held")
        joins = await GroupbuySeat.filter(leader=False).count()
    finally:
        await close_db()
    return joins, len(teams), "; ".join(problems[:3]) or "every team's seats agree"


def bench_database(kind: str, workdir: Path, args: Any, times: Timing) -> str:
    """Measure both servers on one database; the table of results."""
    say(f"== {kind}: seeding {args.teams} teams per server and {args.joiners} joiners")
    settings, found, tokens = asyncio.run(prepare(kind, workdir, args.pg, args.teams, args.joiners))
    counts = {
        mode: asyncio.run(sql_counts(settings, mode, *found[mode], tokens[0])) for mode in PATHS
    }
    say(f"  SQL statements per join: {counts}")
    (workdir / "tokens.txt").write_text("\n".join(tokens), encoding="utf-8")
    loads = []
    with ExitStack() as stack:
        for mode in PATHS:
            sku_id, item_id, teams = found[mode]
            (workdir / f"{mode}.json").write_bytes(body(sku_id, item_id))
            (workdir / f"{mode}-teams.txt").write_text("\n".join(teams), encoding="utf-8")
            server = stack.enter_context(Server(SERVERS[mode], settings))
            script_args = [str(workdir / f"{mode}.json"), str(workdir / "tokens.txt"), SLUG]
            script_args += [f"{kind}-{mode}", "0", '"status":"pending_payment"', '"code":"']
            script_args += [str(workdir / "unused.done"), str(workdir / f"{mode}-teams.txt")]
            script_args.append(str(workdir / f"{mode}-turn.txt"))
            loads.append(Load(mode, server, PATHS[mode], "storm.lua", script_args))
        measured = measure(loads, times, args.connections)
    joins, team_count, verdict = asyncio.run(audit(settings))
    say(f"  audit: {joins} joins in {team_count} teams; {verdict}")
    base = measured["bare"]
    rows = [
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
    headers = ["server", "joins/s", "p50 ms", "p99 ms", "× bare", "× bare CPU", "SQL/join"]
    headers += ["CPU µs/join", "refused or failed"]
    return (
        f"### {kind}\n\n{markdown(headers, rows)}\n\n"
        f"Audit after the runs: {joins} joins in {team_count} teams; {verdict}. "
        f"Load average {load_average()} at the end."
    )


def main() -> None:
    """Run the benchmark and print its table."""
    parser = arguments(__doc__ or "", db="postgres", warmup=3, runs=3, duration=8)
    parser.set_defaults(connections=32)
    parser.add_argument("--teams", type=int, default=50, help="open teams per server")
    parser.add_argument("--joiners", type=int, default=401, help="coprime with --teams")
    args = parser.parse_args()
    kind = one_database("bench.groupbuy", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        table = bench_database(kind, Path(tmp), args, timing(args))
    say(
        f"\n## Group buy ({kind}, {args.connections} connections, {args.teams} teams per "
        f"server, {args.joiners} joiners)\n\n{table}"
    )


if __name__ == "__main__":
    main()
