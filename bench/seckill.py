"""Seckill (秒杀): members storming a session's placeOrder over HTTP, with and without Redis.

One tenant with the seckill plugin, ``--members`` members with tokens, and one activity per
server and path (its own SKU, a one-off session open now, per-member limit 100 or 1). Every
request is a one-line placeOrder of 1 unit with ``activity: {plugin: "seckill", ref}``, from
the next member in turn, with a unique idempotency key (``wrk/storm.lua``). Servers:

* ``yutang`` — the real ``yutang serve --no-worker`` in production settings;
* ``yutang+redis`` — the same with the deployment's Redis (``YUTANG_REDIS_URL``), which the
  seckill gate uses;
* ``yutang:resolver`` / ``yutang:resolver+redis`` (with ``--compare-admission``) — the same
  with ``YUTANG_FRONT_ADMISSION=0``: the plugins are asked by the resolver only, inside
  GraphQL, instead of in front of it;
* ``bare`` / ``bare+redis`` — ``bench.bare_marketing``: the same statements on the raw
  driver in one transaction (conditional UPDATEs, same order), and with Redis the plugin's
  own gate script, asked before the transaction as the plugin's admission asks it: the
  ceiling for this path.

Three measurements per server:

* order path — an item with 10⁷ units: orders/s;
* sold-out path — an item sold out before the runs: rejections/s;
* storm — ``--storm`` requests (default 2,000) for ``--units`` units (default 100) with a
  limit of 1 per member, on a fresh item; answered requests, time, orders and rejections.

After the runs the database is read: for every item, units sold (reservations, order lines
and the SKU's stock) against its stock; oversold must be 0.

Redis (``--redis``, default database 14 of the local server; ``--redis ''`` to skip) is
shared: the benchmark deletes only its own keys there (``seckill:<tenant>:*`` of its tenant
and ``ytbench:*``).

Run from the repository root: ``.venv/bin/python -m bench.seckill [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from bench.baselines import PLACE_ORDER, gid
from bench.common import (
    Load,
    Result,
    Server,
    Timing,
    WrkRun,
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
    wrk,
)
from yutang.core.db import close_db, init_db
from yutang.core.models import OrderLine, Sku
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings

SLUG = "shop"
REDIS_DEFAULT = "redis://127.0.0.1:6379/14"
PLUGINS_TOML = '[profiles.default]\nplugins = ["seckill"]\n'
PATHS = {"yutang": "/graphql", "bare": "/bare/seckill"}
SERVERS = {"yutang": "yutang", "bare": "marketing"}
OK = '"status":"pending_payment"'
REFUSALS = '"code":"SOLD_OUT"|"code":"LIMIT_REACHED"|"code":"INSUFFICIENT_STOCK"'
ORDER_UNITS = 10**7
SKU_STOCK = 10**9


@dataclass(frozen=True)
class Item:
    """A seckill item of its own activity and SKU."""

    id: int
    sku_id: int
    stock: int

    def body(self) -> bytes:
        """The placeOrder template of one unit of this item (``%KEY%`` to fill)."""
        line = {
            "skuId": gid("Sku", self.sku_id),
            "quantity": 1,
            "activity": {"plugin": "seckill", "ref": gid("SeckillItem", self.id)},
        }
        return graphql_body(PLACE_ORDER, {"lines": [line], "key": "%KEY%"})


RESOLVER = ":resolver"  # a Yutang configuration without admission in front of GraphQL


def configs(redis: str, compare_admission: bool = False) -> list[str]:
    """The servers measured: Yutang (and without front admission, if compared) and the
    bare app, each with Redis when given one."""
    found = ["yutang", *(["yutang" + RESOLVER] if compare_admission else []), "bare"]
    return found + [f"{c}+redis" for c in found] if redis else found


def mode_of(config: str) -> str:
    """The server a configuration runs: ``yutang`` or ``bare``."""
    return "bare" if config.startswith("bare") else "yutang"


def server_env(config: str, redis: str) -> dict[str, str]:
    """A configuration's environment: its Redis, the deployment's (which the seckill gate
    uses since 0.2) and, for a server of 0.1 measured as the baseline, the plugin's own
    variable of that version; and whether admission runs in front of GraphQL."""
    url = redis if config.endswith("+redis") else ""
    names = ("YUTANG_REDIS_URL", "YUTANG_SECKILL_REDIS_URL", "BENCH_SECKILL_REDIS_URL")
    front = "0" if RESOLVER in config else "1"
    return dict.fromkeys(names, url) | {"YUTANG_FRONT_ADMISSION": front}


async def clear_redis(redis: str, tenant_id: int) -> None:
    """Delete the benchmark's own keys (its tenant's gate keys and the bare app's)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis, decode_responses=True)
    try:
        for pattern in (f"seckill:{tenant_id}:*", "ytbench:*"):
            async for key in client.scan_iter(match=pattern, count=500):
                await client.delete(key)
    finally:
        await client.aclose()


async def make_item(tenant: Any, sku_id: int, stock: int, limit: int, name: str) -> Item:
    """An activity open now (one-off session) selling ``stock`` units of the SKU."""
    from yutang.plugins.seckill.activities import (
        ActivityInput,
        ItemInput,
        SessionInput,
        create_activity,
    )
    from yutang.plugins.seckill.models import SeckillItem

    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(days=1)
    activity = await create_activity(
        tenant,
        ActivityInput(
            name=name,
            starts_at=start,
            ends_at=end,
            sessions=[
                SessionInput(
                    items=[ItemInput(sku_id=sku_id, price=100, stock=stock)],
                    starts_at=start,
                    ends_at=end,
                )
            ],
            member_limit=limit,
        ),
    )
    row = await SeckillItem.get(activity_id=activity.id)
    return Item(row.id, sku_id, stock)


@dataclass
class Shop:
    """The seeded database: settings, tenant id, member tokens, items by (config, path)."""

    settings: AppSettings
    tenant_id: int
    tokens: list[str]
    items: dict[tuple[str, str], Item]


async def prepare(
    kind: str, workdir: Path, pg: str, members: int, units: int, names: list[str]
) -> Shop:
    """A migrated database with the shop, its members and one item per config and path."""
    url = await fresh_database(kind, "ytbench_seckill", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    try:
        paths = ("order", "sold out", "storm", "count")
        tenant = await seed_shop(
            runtime, SLUG, products=len(names) * len(paths), skus=1, images=0, stock=SKU_STOCK
        )
        skus = iter(
            r["id"] for r in await Sku.filter(tenant_id=tenant.id).order_by("id").values("id")
        )
        tokens = [token for _, token in await seed_members(tenant.id, members)]
        stock = {"order": ORDER_UNITS, "sold out": 1, "storm": units, "count": 3}
        items = {
            (config, path): await make_item(
                tenant, next(skus), stock[path], 1 if path == "storm" else 100, f"{config} {path}"
            )
            for config in names
            for path in paths
        }
    finally:
        await close_db()
    return Shop(runtime.settings, tenant.id, tokens, items)


def place(server: Server, mode: str, item: Item, token: str, key: str) -> dict[str, Any]:
    """One placeOrder outside the load; its payload."""
    body = item.body().replace(b"%KEY%", key.encode())
    headers = {"X-Tenant": SLUG, "Authorization": f"Bearer {token}"}
    data: dict[str, Any] = server.post(PATHS[mode], body, headers)["data"]["placeOrder"]
    return data


async def sql_counts(shop: Shop, config: str, redis: str) -> dict[str, int]:
    """SQL statements of an order and of a sold-out answer, counted in-process: the
    ``count`` item (3 units) takes a warm-up order and the counted one, a third sells it
    out, then a warm-up and a counted refusal."""
    mode = mode_of(config)
    saved = {k: os.environ.get(k) for k in server_env(config, redis)}
    os.environ.update(server_env(config, redis))
    item = shop.items[(config, "count")]
    body = item.body()
    headers = {
        "X-Tenant": SLUG,
        "Authorization": f"Bearer {shop.tokens[0]}",
        "content-type": "application/json",
    }
    counts: dict[str, int] = {}
    try:
        # the deployment's Redis, as the server of this configuration has it
        url = server_env(config, redis)["YUTANG_REDIS_URL"] or None
        settings = msgspec.structs.replace(
            shop.settings, redis_url=url, front_admission=RESOLVER not in config
        )
        async with in_process(SERVERS[mode], settings) as client:
            with counting_sql() as counter:
                for step in ("warm", "order", "last", "warm refusal", "sold out"):
                    key = f"sql-{config}-{step}".encode()
                    answer = await client.post(
                        PATHS[mode], content=body.replace(b"%KEY%", key), headers=headers
                    )
                    if answer.status_code != 200 or "data" not in answer.json():
                        raise SystemExit(f"{config} {step}: {answer.status_code} {answer.text}")
                    payload = answer.json()["data"]["placeOrder"]
                    want_order = step in ("warm", "order", "last")
                    if bool(payload["order"]) != want_order:
                        raise SystemExit(f"{config} {step}: unexpected {payload}")
                    counts[step] = counter.take()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"order": counts["order"], "sold out": counts["sold out"]}


async def audit(shop: Shop) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Per item: its stock, the units sold by the database's three counts (which must
    agree) and the units oversold."""
    from yutang.plugins.seckill.models import SeckillReservation, SeckillStock

    runtime = build_runtime(shop.settings)
    await init_db(shop.settings, runtime.registry)
    found = {}
    try:
        for key, item in shop.items.items():
            reserved = sum(
                r["quantity"]
                for r in await SeckillReservation.filter(item_id=item.id).values("quantity")
            )
            lines = sum(
                r["quantity"]
                for r in await OrderLine.filter(
                    activity_plugin="seckill", activity_ref=gid("SeckillItem", item.id)
                ).values("quantity")
            )
            left = [
                int(r["remaining"])
                for r in await SeckillStock.filter(item_id=item.id).values("remaining")
            ]
            by_stock = item.stock - (left[0] if left else item.stock)
            sku = await Sku.get(id=item.sku_id)
            by_sku = SKU_STOCK - sku.stock
            if not reserved == lines == by_stock == by_sku:
                raise SystemExit(
                    f"{key}: counts disagree: reservations {reserved}, order lines {lines}, "
                    f"seckill stock {by_stock}, SKU stock {by_sku}"
                )
            found[key] = (item.stock, reserved, max(0, reserved - item.stock))
    finally:
        await close_db()
    return found


def storm_args(workdir: Path, shop: Shop, config: str, path: str, limit: int) -> list[str]:
    """storm.lua's arguments for an item."""
    item = shop.items[(config, path)]
    body = workdir / f"{config}-{path}.json".replace(" ", "-").replace("+", "-")
    body.write_bytes(item.body())
    tokens = workdir / "tokens.txt"
    done = body.with_suffix(".done")
    return [str(body), str(tokens), SLUG, f"{config}-{path}", str(limit), OK, REFUSALS, str(done)]


def storm(server: Server, mode: str, args: list[str], connections: int) -> tuple[WrkRun, float]:
    """The bounded storm: wrk stops once every request is answered; its run and the
    server's CPU seconds."""
    before = server.cpu_seconds()
    until = Path(args[-1])
    run = wrk(server.url + PATHS[mode], "storm.lua", args, 600, connections, 1, until)
    return run, server.cpu_seconds() - before


def bench_database(
    kind: str,
    workdir: Path,
    args: Any,
    times: Timing,
) -> str:
    """Measure every configuration on one database; the tables of results."""
    names = configs(args.redis, args.compare_admission)
    say(f"== {kind}: seeding {args.members} members and {len(names) * 4} activities")
    shop = asyncio.run(prepare(kind, workdir, args.pg, args.members, args.units, names))
    (workdir / "tokens.txt").write_text("\n".join(shop.tokens), encoding="utf-8")
    if args.redis:
        asyncio.run(clear_redis(args.redis, shop.tenant_id))
    counts = {c: asyncio.run(sql_counts(shop, c, args.redis)) for c in names}
    say(f"  SQL statements (order, sold out): {counts}")
    storms: dict[str, tuple[WrkRun, float]] = {}
    with ExitStack() as stack:
        servers = {
            c: stack.enter_context(
                Server(
                    SERVERS[mode_of(c)],
                    shop.settings,
                    env=server_env(c, args.redis),
                )
            )
            for c in names
        }
        for config, server in servers.items():
            mode = mode_of(config)
            item = shop.items[(config, "sold out")]
            first = place(server, mode, item, shop.tokens[0], f"check-{config}-1")
            second = place(server, mode, item, shop.tokens[1], f"check-{config}-2")
            order = place(
                server, mode, shop.items[(config, "order")], shop.tokens[0], f"check-{config}-3"
            )
            if not first["order"] or second["order"] or not order["order"]:
                raise SystemExit(f"{config}: unexpected answers {first} {second} {order}")
            if second["errors"][0]["code"] != "SOLD_OUT":
                raise SystemExit(f"{config}: sold out answered {second}")
        say("  every server sells, and refuses a sold-out item with SOLD_OUT")
        loads = [
            Load(
                f"{config} {path}",
                server,
                PATHS[mode_of(config)],
                "storm.lua",
                storm_args(workdir, shop, config, path, 0),
            )
            for path in ("order", "sold out")
            for config, server in servers.items()
        ]
        measured = measure(loads, times, args.connections)
        for config, server in servers.items():
            say(f"  {config} storm: {args.storm} requests for {args.units} units")
            storms[config] = storm(
                server,
                mode_of(config),
                storm_args(workdir, shop, config, "storm", args.storm),
                args.connections,
            )
    sold = asyncio.run(audit(shop))
    oversold = sum(over for _, _, over in sold.values())
    say(f"  audit: {len(sold)} items, oversold units {oversold}")
    for label, result in measured.items():
        if result.counter("failed"):
            say(f"  {label}: {result.counter('failed')} failed; first: {result.failed_sample()}")
    return report(kind, names, counts, measured, storms, sold, args)


def _row(label: str, r: Result, counter: str, base: Result, sql: int) -> list[object]:
    return [
        label,
        f"{r.per_second(counter):,.0f}",
        f"{r.p50_ms:.1f}",
        f"{r.p99_ms:.1f}",
        f"{ratio(r, base, counter):.3f}×",
        f"{base.cpu_us(counter) / max(r.cpu_us(counter), 1e-9):.3f}×",
        sql,
        f"{r.cpu_us(counter):,.0f}",
        r.counter("failed") + r.errors,
    ]


def report(
    kind: str,
    names: list[str],
    counts: dict[str, dict[str, int]],
    measured: dict[str, Result],
    storms: dict[str, tuple[WrkRun, float]],
    sold: dict[tuple[str, str], tuple[int, int, int]],
    args: Any,
) -> str:
    """The markdown tables."""
    headers = ["server", "{}/s", "p50 ms", "p99 ms", "× bare", "× bare CPU", "SQL/req"]
    headers += ["CPU µs/{}", "failed"]
    out = []
    for path, counter, noun in (("order", "ok", "order"), ("sold out", "refused", "rejection")):
        rows = []
        for config in names:
            base = measured[f"bare{'+redis' * config.endswith('+redis')} {path}"]
            rows.append(
                _row(config, measured[f"{config} {path}"], counter, base, counts[config][path])
            )
        heads = [h.format(noun + "s" if "/s" in h else noun) for h in headers]
        out.append(f"### {kind}: {path} path ({noun}s per second)\n\n{markdown(heads, rows)}")
    storm_rows = []
    for config in names:
        run, cpu = storms[config]
        answered = run.counters["ok"] + run.counters["refused"] + run.counters["failed"]
        stock, units, over = sold[(config, "storm")]
        storm_rows.append(
            [
                config,
                answered,
                f"{run.seconds:.2f}",
                f"{answered / run.seconds:,.0f}",
                run.counters["ok"],
                run.counters["refused"],
                run.counters["failed"] + run.errors,
                f"{cpu * 1e6 / max(answered, 1):,.0f}",
                f"{units}/{stock}",
                over,
            ]
        )
    storm_headers = ["server", "requests", "seconds", "req/s", "orders", "rejections", "failed"]
    storm_headers += ["CPU µs/req", "units sold", "oversold"]
    out.append(
        f"### {kind}: storm ({args.storm} requests for {args.units} units, 1 per member)\n\n"
        + markdown(storm_headers, storm_rows)
        + "\n\n(No latencies for the storm: wrk's include the health checks that idle "
        "connections send once every request is out; the paths above have them.)"
    )
    oversold = sum(over for _, _, over in sold.values())
    notes = [
        f"Oversold units over all {len(sold)} items (database read after the runs): **{oversold}**."
    ]
    for config in names:
        if not config.startswith("yutang"):
            continue
        order, out_ = measured[f"{config} order"], measured[f"{config} sold out"]
        per_round = statistics.median(
            (s.counters["refused"] / s.seconds) / max(o.counters["ok"] / o.seconds, 1e-9)
            for s, o in zip(out_.runs, order.runs, strict=True)
        )
        verdict = ""
        if config.endswith("+redis"):
            verdict = " (meets the ≥ 10× aim)" if per_round >= 10 else " (misses the ≥ 10× aim)"
        notes.append(
            f"{config}: sold-out answers at {per_round:.1f}× its order throughput{verdict}."
        )
    notes += admission_notes(names, measured)
    notes.append(f"Load average {load_average()} at the end.")
    return "\n\n".join(out) + "\n\n" + "\n".join(f"- {n}" for n in notes)


def admission_notes(names: list[str], measured: dict[str, Result]) -> list[str]:
    """Admission in front of GraphQL against the resolver's alone: per path, the median
    of the per-round throughput ratios and the ratio of CPU per answer."""
    notes = []
    for config in names:
        if RESOLVER not in config:
            continue
        front = config.replace(RESOLVER, "")
        for path, counter in (("order", "ok"), ("sold out", "refused")):
            with_front, without = measured[f"{front} {path}"], measured[f"{config} {path}"]
            per_round = statistics.median(
                (f.counters[counter] / f.seconds) / max(w.counters[counter] / w.seconds, 1e-9)
                for f, w in zip(with_front.runs, without.runs, strict=True)
            )
            notes.append(
                f"{front} against {config}, {path} path: {per_round:.2f}× the answers per "
                f"second with admission in front ({with_front.per_second(counter):,.0f} "
                f"against {without.per_second(counter):,.0f}/s; CPU per answer "
                f"{with_front.cpu_us(counter):,.0f} against {without.cpu_us(counter):,.0f} µs)."
            )
    return notes


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = arguments(__doc__ or "", db="both", warmup=1, runs=3, duration=3)
    parser.set_defaults(connections=64)
    parser.add_argument("--redis", default=REDIS_DEFAULT, help="Redis URL; '' to skip Redis")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--storm", type=int, default=2000, help="requests of the storm")
    parser.add_argument("--units", type=int, default=100, help="units the storm is for")
    parser.add_argument(
        "--compare-admission",
        action="store_true",
        help="also run Yutang with YUTANG_FRONT_ADMISSION=0 and print the ratios",
    )
    args = parser.parse_args()
    kind = one_database("bench.seckill", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        tables = bench_database(kind, Path(tmp), args, timing(args))
    say(
        f"\n## Seckill ({kind}, {args.connections} connections, {args.members} members)\n\n{tables}"
    )


if __name__ == "__main__":
    main()
