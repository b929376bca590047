"""Per-request cost of the product list with 1, 100 and 1,000 tenants.

Tenants are created as a platform operator does: ``create_tenant`` on a profile, then
``set_tenant_plugins`` for overrides. No first-party plugins exist yet, so the five
distinct configurations are made of the core and the example plugin of
``tests/plugin_dist`` (found through its entry point), tenant *i* taking configuration
*i* mod 5:

0. profile ``default`` — the core only
1. profile ``tea`` — the example plugin
2. profile ``tea_strict`` — the example plugin with other settings
3. profile ``default`` with a plugin override: ``["example"]``
4. profile ``tea`` with a settings override: ``example.percent_off = 25``

Every tenant has 20 products of 3 SKUs and 2 images. The database holds all 1,000 tenants;
one server (one worker, production) per count serves requests for the first 1, 100 or
1,000 of them: wrk's 16 connections send the pinned product list with ``X-Tenant``
rotating over those tenants, so consecutive requests never share a tenant (each tenant is
requested once before the warm-up). Runs of the three servers are interleaved; the baseline
is the single tenant. The same rotation is then timed in-process, one request at a time
straight into the app, which a busy machine disturbs less than the HTTP runs.

Run from the repository root: ``.venv/bin/python -m bench.tenants [--db both]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from itertools import cycle
from pathlib import Path

from litestar.types import ASGIApp

from bench.baselines import PRODUCT_LIST
from bench.common import (
    Load,
    Server,
    arguments,
    asgi_post,
    cpu_us,
    fresh_database,
    graphql_body,
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
    use_plugin_dist,
)
from yutang.app import create_app
from yutang.core.db import close_db, init_db
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.settings import AppSettings
from yutang.core.tenants import set_tenant_plugins

COUNTS = (1, 100, 1000)
PLUGINS_TOML = """\
[profiles.default]
plugins = []

[profiles.tea]
plugins = ["example"]

[profiles.tea_strict]
plugins = ["example"]

[profiles.tea_strict.settings.example]
percent_off = 15
max_quantity = 3
"""
PROFILES = ("default", "tea", "tea_strict", "default", "tea")
BADGE = "{ products(first: 1) { edges { node { exampleBadge } } } }"


def slug(index: int) -> str:
    """The slug of tenant ``index``."""
    return f"t{index:04d}"


async def add_tenant(runtime: Runtime, index: int) -> None:
    """Tenant ``index`` in configuration ``index % 5`` with its catalogue."""
    config = index % 5
    await seed_shop(runtime, slug(index), products=20, skus=3, images=2, profile=PROFILES[config])
    if config == 3:
        await set_tenant_plugins(runtime, slug(index), plugins=["example"])
    elif config == 4:
        await set_tenant_plugins(runtime, slug(index), settings={"example": {"percent_off": 25}})


async def grow(runtime: Runtime, count: int) -> None:
    """Migrate, then add ``count`` tenants, eight at a time."""
    await migrate_and_open(runtime)
    gate = asyncio.Semaphore(8)

    async def one(index: int) -> None:
        async with gate:
            await add_tenant(runtime, index)
        if (index + 1) % 100 == 0:
            say(f"  {index + 1} tenants")

    try:
        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        await close_db()


def check(server: Server, count: int, body: bytes) -> None:
    """Every tenant answers the list once (so the runs see warm tenants); plugin fields
    exist only where the plugin is enabled."""
    for index in range(count):
        data = server.post("/graphql", body, {"X-Tenant": slug(index)})
        if data.get("errors") or len(data["data"]["products"]["edges"]) != 20:
            raise SystemExit(f"{slug(index)}: unexpected response {str(data)[:300]}")
    if count > 1:
        with_plugin = server.post("/graphql", graphql_body(BADGE), {"X-Tenant": slug(1)})
        without = server.post("/graphql", graphql_body(BADGE), {"X-Tenant": slug(0)})
        if with_plugin.get("errors") or not without.get("errors"):
            raise SystemExit("plugin sets are not applied per tenant")


def rotating(app: ASGIApp, body: bytes, count: int) -> Callable[[], Awaitable[bytes]]:
    """An in-process product list request whose X-Tenant cycles over ``count`` tenants."""
    headers = cycle(
        [{"X-Tenant": slug(i), "content-type": "application/json"} for i in range(count)]
    )
    return lambda: asgi_post(app, "/graphql", body, next(headers))


async def in_process_cpu(settings: AppSettings, body: bytes, seconds: float) -> dict[int, float]:
    """CPU µs of one request straight into the app (no HTTP server, one at a time) with
    X-Tenant cycling over 1, 100 and 1,000 tenants, each tenant requested once before."""
    runtime = build_runtime(settings)
    await init_db(settings, runtime.registry)
    try:
        app = create_app(runtime, worker=False, manage_db=False)
        found = {}
        for count in COUNTS:
            request = rotating(app, body, count)
            for _ in range(count):
                await request()
            found[count] = await cpu_us(request, seconds)
        return found
    finally:
        await close_db()


def bench_database(kind: str, workdir: Path, args: argparse.Namespace) -> str:
    """Seed 1,000 tenants, then measure one server per tenant count, interleaved."""
    url = asyncio.run(fresh_database(kind, "ytbench_tenants", workdir, args.pg))
    plugins = workdir / f"plugins-{kind}.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    settings = settings_for(url, plugins)
    say(f"== {kind}: seeding {max(COUNTS):,} tenants")
    asyncio.run(grow(build_runtime(settings), max(COUNTS)))
    body = graphql_body(PRODUCT_LIST)
    body_file = workdir / "product_list.json"
    body_file.write_bytes(body)
    with ExitStack() as stack:
        loads = []
        for count in COUNTS:
            server = stack.enter_context(Server("yutang", settings, plugins=True))
            check(server, count, body)
            tenants = [f"X-Tenant: {slug(i)}" for i in range(count)]
            loads.append(
                Load(
                    f"{kind} {count} tenants",
                    server,
                    "/graphql",
                    "post.lua",
                    [str(body_file), *tenants],
                )
            )
        measured = measure(loads, timing(args), args.connections)
    results = {count: measured[f"{kind} {count} tenants"] for count in COUNTS}
    say("  in-process CPU per request")
    direct = asyncio.run(in_process_cpu(settings, body, 3.0))
    base = results[1]
    rows = [
        [
            f"{count:,}",
            min(count, 5),
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{ratio(r, base):.3f}×",
            f"{r.cpu_us():,.0f}",
            f"{base.cpu_us() / r.cpu_us():.3f}×",
            f"{direct[count]:,.0f}",
            f"{direct[1] / direct[count]:.3f}×",
            f"{r.rss_mb:.0f}",
            r.errors,
        ]
        for count, r in results.items()
    ]
    headers = ["tenants", "configs", "req/s", "p50 ms", "p99 ms", "× 1 tenant", "CPU µs/req"]
    headers += ["× 1 tenant CPU", "in-process CPU µs/req", "× 1 tenant in-process"]
    headers += ["RSS MiB", "errors"]
    return f"### {kind}\n\n{markdown(headers, rows)}\n\nLoad average {load_average()} at the end."


def main() -> None:
    """Run the benchmark and print its table."""
    parser = arguments(__doc__ or "", db="postgres", warmup=5, runs=3, duration=10)
    args = parser.parse_args()
    kind = one_database("bench.tenants", args.db)
    if kind is None:
        return
    need_wrk()
    use_plugin_dist()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        table = bench_database(kind, Path(tmp), args)
    say(f"\n## Tenants ({kind}, product list, {args.connections} connections)\n\n{table}")


if __name__ == "__main__":
    main()
