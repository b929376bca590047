"""The storefront product list over HTTP, against two bare baselines on the same rows.

One tenant (no plugins) with 100 published products of 3 SKUs and 2 images each, saved by
the core after ``yutang migrate``. The pinned query (``baselines.PRODUCT_LIST``) asks for
20 products with images and SKUs (id, specs, price, stock). Servers run one uvicorn worker
with YUTANG_ENV=production; wrk drives 16 keep-alive connections from another process:

* ``yutang`` — the real server (``yutang serve --no-worker``), POST /graphql
* ``raw`` — litestar + msgspec with hand-written SQL on asyncpg / aiosqlite
* ``tortoise`` — the same endpoint reading with tortoise ``.values()``

Run from the repository root: ``.venv/bin/python -m bench.product_list [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench.baselines import PRODUCT_LIST
from bench.common import (
    Load,
    Server,
    Timing,
    arguments,
    asgi_post,
    counting_sql,
    cpu_us,
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
    seed_shop,
    settings_for,
    timing,
)
from yutang.app import create_app
from yutang.core.db import close_db, init_db
from yutang.core.plugins import hooks_of
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.core.throttle import Throttle
from yutang.graphql.catalog import product_page
from yutang.graphql.context import Context
from yutang.graphql.schema import SchemaCache

SLUG = "shop"
PATHS = {"raw": "/bare/products", "tortoise": "/bare/products", "yutang": "/graphql"}
TARGETS = {False: 0.12, True: 0.10}  # no plugins / every first-party plugin
FIRST_PARTY = [
    "coupons",
    "distributor",
    "fullreduction",
    "groupbuy",
    "lottery",
    "pickup",
    "seckill",
]


def plugins_toml(all_plugins: bool) -> str:
    """The shop's plugins: none, or every first-party plugin (``--all-plugins``)."""
    names = ", ".join(f'"{n}"' for n in FIRST_PARTY) if all_plugins else ""
    return f"[profiles.default]\nplugins = [{names}]\n"


async def prepare(kind: str, workdir: Path, pg: str, all_plugins: bool) -> AppSettings:
    """A migrated database with the shop's catalogue."""
    url = await fresh_database(kind, "ytbench_products", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(plugins_toml(all_plugins), encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    try:
        await seed_shop(runtime, SLUG, products=100, skus=3, images=2)
    finally:
        await close_db()
    return runtime.settings


async def breakdown(settings: AppSettings, body: bytes, seconds: float = 3.0) -> dict[str, float]:
    """In-process CPU µs of a request's parts: the whole app (litestar, tenant middleware,
    strawberry view, JSON), the tenant lookup, the GraphQL execution (cached parse and
    validation) and, within it, the products resolver (3 queries, objects built); each the
    median of 3 interleaved measurements."""
    runtime = build_runtime(settings)
    await init_db(settings, runtime.registry)
    try:
        tenant = await runtime.tenants.by_slug(SLUG)
        schema = SchemaCache(settings).get("storefront", hooks_of(tenant))
        context = Context(
            runtime=runtime,
            tenant=tenant,
            throttle=Throttle.for_settings(settings),
            client="127.0.0.1",
        )
        app = create_app(runtime, worker=False, manage_db=False)
        headers = {"X-Tenant": SLUG, "content-type": "application/json"}
        if b'"errors"' in await asgi_post(app, "/graphql", body, headers):
            raise SystemExit("the in-process request failed")

        async def execute() -> None:
            result = await schema.execute(PRODUCT_LIST, context_value=context)
            assert not result.errors, result.errors

        steps: dict[str, Callable[[], Awaitable[object]]] = {
            "app": partial(asgi_post, app, "/graphql", body, headers),
            "tenant": partial(runtime.tenants.by_slug, SLUG),
            "execute": execute,
            "resolver": partial(product_page, tenant, 20, None, published_only=True),
        }
        samples: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(3):
            for name, step in steps.items():
                samples[name].append(await cpu_us(step, seconds / 3))
        return {name: statistics.median(values) for name, values in samples.items()}
    finally:
        await close_db()


async def sql_per_request(settings: AppSettings, mode: str, body: bytes) -> int:
    """SQL statements one request runs, counted in-process after a warm-up request."""
    headers = {"X-Tenant": SLUG, "content-type": "application/json"}
    async with in_process(mode, settings) as client:
        await client.post(PATHS[mode], content=body, headers=headers)
        with counting_sql() as counter:
            await client.post(PATHS[mode], content=body, headers=headers)
            return counter.take()


def bench_database(
    kind: str, workdir: Path, pg: str, times: Timing, connections: int, all_plugins: bool
) -> str:
    """Measure the three servers on one database; the table of results."""
    say(f"== {kind}: seeding ({'every first-party plugin' if all_plugins else 'no plugins'})")
    settings = asyncio.run(prepare(kind, workdir, pg, all_plugins))
    body = graphql_body(PRODUCT_LIST)
    body_file = workdir / "product_list.json"
    body_file.write_bytes(body)
    statements = {mode: asyncio.run(sql_per_request(settings, mode, body)) for mode in PATHS}
    say(f"  SQL statements per request: {statements}")
    args = [str(body_file), f"X-Tenant: {SLUG}"]
    with ExitStack() as stack:
        servers = {mode: stack.enter_context(Server(mode, settings)) for mode in PATHS}
        payloads = [s.post(PATHS[m], body, {"X-Tenant": SLUG}) for m, s in servers.items()]
        edges = payloads[0]["data"]["products"]["edges"]
        if "errors" in payloads[0] or len(edges) != 20:
            raise SystemExit(f"unexpected response {str(payloads[0])[:300]}")
        if any(p != payloads[0] for p in payloads):
            raise SystemExit("the servers return different JSON")
        loads = [
            Load(f"{kind} {mode}", server, PATHS[mode], "post.lua", args)
            for mode, server in servers.items()
        ]
        measured = measure(loads, times, connections)
    results = {mode: measured[f"{kind} {mode}"] for mode in PATHS}
    say("  same JSON from all three servers: yes")
    parts = asyncio.run(breakdown(settings, body))
    app = parts["app"]
    shares = {
        "litestar, tenant middleware, strawberry view, context, JSON": app
        - parts["execute"]
        - parts["tenant"],
        "tenant lookup (1 query)": parts["tenant"],
        "GraphQL execution besides the resolver": parts["execute"] - parts["resolver"],
        "products resolver (3 queries, objects built)": parts["resolver"],
    }
    split = markdown(
        ["part of a Yutang request", "CPU µs", "share"],
        [[name, f"{us:,.0f}", f"{us / app:.0%}"] for name, us in shares.items()],
    )
    rows = [
        [
            mode,
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{ratio(r, results['raw']):.3f}×",
            f"{results['raw'].cpu_us() / r.cpu_us():.3f}×",
            statements[mode],
            f"{r.cpu_us():,.0f}",
            f"{r.rss_mb:.0f}",
            f"{r.spread:.1%}",
            r.errors,
        ]
        for mode, r in results.items()
    ]
    headers = ["server", "req/s", "p50 ms", "p99 ms", "× bare", "× bare CPU", "SQL/req"]
    headers += ["CPU µs/req"]
    headers += ["RSS MiB", "spread", "errors"]
    yutang = ratio(results["yutang"], results["raw"])
    target = TARGETS[all_plugins]
    verdict = "meets" if yutang >= target else "misses"
    return (
        f"### {kind}\n\n{markdown(headers, rows)}\n\n"
        f"Yutang {yutang:.3f}× bare ({verdict} the {target}× target); "
        f"load average {load_average()} at the end.\n\n"
        f"Where the time of a Yutang request goes, measured in-process one request at a "
        f"time ({app:,.0f} µs straight into the app, against {results['yutang'].cpu_us():,.0f}"
        " µs per request in the server under load):\n\n"
        f"{split}"
    )


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = arguments(__doc__ or "", db="both", warmup=10, runs=3, duration=15)
    parser.add_argument(
        "--all-plugins", action="store_true", help="enable every first-party plugin for the shop"
    )
    args = parser.parse_args()
    kind = one_database("bench.product_list", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        table = bench_database(
            kind, Path(tmp), args.pg, timing(args), args.connections, args.all_plugins
        )
    plugins = "every first-party plugin" if args.all_plugins else "no plugins"
    say(f"\n## Product list ({kind}, {args.connections} connections, {plugins})\n\n{table}")


if __name__ == "__main__":
    main()
