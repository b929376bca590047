"""Distributor (分销员): what the plugin adds to placing and paying an order over HTTP.

One real server (``yutang serve --no-worker``) and two tenants with the same catalogue (50
products of 4 SKUs, stock 10⁹) and 16 members each:

* ``plain`` — no plugin;
* ``distributor`` — the distributor plugin, two levels (10 % and 5 %), every member bound
  to one of 4 promoters, themselves bound to a fifth, so every order snapshots a
  two-promoter chain at placeOrder and earns two commissions.

wrk runs ``wrk/checkout.lua`` for each tenant (16 connections, each a member placing an
order of ``CART`` random SKUs and paying it with the dev provider, again and again), the two
tenants interleaved round by round; the ratio is distributor / plain checkouts per second.
The plugin's accrual runs on the ``order paid`` event, in the job worker and not in the
request: after the runs the worker is run in-process until idle and its CPU per paid order
is reported, and the commissions are counted (one per line and level: two per line).

Run from the repository root: ``.venv/bin/python -m bench.distributor [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.baselines import PAY_ORDER, PLACE_ORDER, gid
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

TENANTS = ("plain", "distributor")
MEMBERS = 16
PROMOTERS = 4
CART = 3
PLUGINS_TOML = """[profiles.default]
plugins = []

[profiles.distributor]
plugins = ["distributor"]

[profiles.distributor.settings.distributor]
promoter_mode = "auto"
levels = 2
first_rate = 1000
second_rate = 500
"""


async def bind_members(tenant: Any, buyers: list[int], promoters: list[int], top: int) -> None:
    """``top`` and ``promoters`` become promoters; promoters bind to ``top``, buyers to a
    promoter each."""
    from yutang.plugins.distributor.binding import bind
    from yutang.plugins.distributor.promoters import apply

    upper = await apply(tenant, top)
    codes = []
    for member_id in promoters:
        codes.append((await apply(tenant, member_id)).code)
        await bind(tenant, member_id, upper.code, "link")
    for i, member_id in enumerate(buyers):
        await bind(tenant, member_id, codes[i % len(codes)], "link")


async def prepare(
    kind: str, workdir: Path, pg: str
) -> tuple[AppSettings, dict[str, tuple[list[str], list[str]]]]:
    """The database with both tenants; per tenant its SKU IDs and buyers' tokens."""
    url = await fresh_database(kind, "ytbench_distributor", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    found = {}
    try:
        for slug in TENANTS:
            profile = "distributor" if slug == "distributor" else "default"
            tenant = await seed_shop(
                runtime, slug, products=50, skus=4, images=1, stock=10**9, profile=profile
            )
            rows = await Sku.filter(tenant_id=tenant.id).order_by("id").values("id")
            members = await seed_members(tenant.id, MEMBERS + PROMOTERS + 1)
            buyers = members[:MEMBERS]
            if slug == "distributor":
                ids = [pk for pk, _ in members]
                await bind_members(tenant, ids[:MEMBERS], ids[MEMBERS:-1], ids[-1])
            found[slug] = ([gid("Sku", r["id"]) for r in rows], [t for _, t in buyers])
    finally:
        await close_db()
    return runtime.settings, found


def place_body(skus: list[str], key: str) -> bytes:
    """A placeOrder body of one unit of each SKU."""
    return graphql_body(
        PLACE_ORDER, {"lines": [{"skuId": s, "quantity": 1} for s in skus], "key": key}
    )


async def sql_counts(settings: AppSettings, slug: str, skus: list[str], token: str) -> str:
    """SQL statements of one placeOrder and one payOrder, counted in-process after one
    warm-up of each."""
    headers = {"X-Tenant": slug, "Authorization": f"Bearer {token}"}
    headers["content-type"] = "application/json"
    counts = []
    async with in_process("yutang", settings) as client:
        with counting_sql() as counter:
            for step in ("warm", "count"):
                key = f"sql-{slug}-{step}"
                placed = (
                    await client.post(
                        "/graphql", content=place_body(skus[:CART], key), headers=headers
                    )
                ).json()["data"]["placeOrder"]
                place = counter.take()
                pay = graphql_body(PAY_ORDER, {"id": placed["order"]["id"], "key": key})
                paid = (await client.post("/graphql", content=pay, headers=headers)).json()
                if paid["data"]["payOrder"]["errors"]:
                    raise SystemExit(f"{slug}: payOrder failed: {paid}")
                counts = [place, counter.take()]
    return f"{counts[0]} + {counts[1]}"


async def drain(settings: AppSettings) -> tuple[float, int, int]:
    """Run the job worker until idle: its CPU seconds, the paid orders and commissions."""
    from yutang.core.models import Order
    from yutang.core.worker import Worker
    from yutang.plugins.distributor.models import DistributorCommission

    runtime = build_runtime(settings)
    await init_db(settings, runtime.registry)
    try:
        tenant = await runtime.tenants.by_slug("distributor")
        start = time.process_time()
        worker = Worker(runtime)
        while await worker.run_until_idle():  # a bounded number of batches per call
            pass
        cpu = time.process_time() - start
        paid = await Order.filter(tenant_id=tenant.id, status="paid").count()
        commissions = await DistributorCommission.filter(tenant_id=tenant.id).count()
    finally:
        await close_db()
    return cpu, paid, commissions


def bench_database(kind: str, workdir: Path, pg: str, times: Timing, connections: int) -> str:
    """Measure both tenants on one server; the table of results."""
    say(f"== {kind}: seeding two tenants, promoters and bindings")
    settings, found = asyncio.run(prepare(kind, workdir, pg))
    counts = {
        slug: asyncio.run(sql_counts(settings, slug, *found[slug][:1], found[slug][1][0]))
        for slug in TENANTS
    }
    say(f"  SQL statements (placeOrder + payOrder): {counts}")
    place = graphql_body(PLACE_ORDER, {"lines": "%LINES%", "key": "%KEY%"}).replace(
        b'"%LINES%"', b"[%LINES%]"
    )
    (workdir / "place.json").write_bytes(place)
    (workdir / "pay.json").write_bytes(graphql_body(PAY_ORDER, {"id": "%ID%", "key": "%KEY%"}))
    with Server("yutang", settings) as server:
        loads = []
        for slug in TENANTS:
            skus, tokens = found[slug]
            items = [json.dumps({"skuId": s, "quantity": 1}, separators=(",", ":")) for s in skus]
            (workdir / f"{slug}-items.txt").write_text("\n".join(items), encoding="utf-8")
            (workdir / f"{slug}-tokens.txt").write_text("\n".join(tokens), encoding="utf-8")
            files = ["place.json", "pay.json", f"{slug}-items.txt", f"{slug}-tokens.txt"]
            script_args = [str(workdir / f) for f in files]
            script_args += ["/graphql", "/graphql", slug, f"{kind}-{slug}", str(CART)]
            loads.append(
                Load(slug, server, "/graphql", "checkout.lua", script_args, threads=connections)
            )
        measured = measure(loads, times, connections)
    cpu, paid, commissions = asyncio.run(drain(settings))
    say(f"  worker: {cpu:.2f} CPU s for {paid} paid orders, {commissions} commissions")
    base = measured["plain"]
    rows = [
        [
            slug,
            f"{r.per_second('paid'):,.0f}",
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{ratio(r, base, 'paid'):.3f}×",
            f"{base.cpu_us('paid') / r.cpu_us('paid'):.3f}×",
            counts[slug],
            f"{r.cpu_us('paid'):,.0f}",
            r.counter("failed") + r.errors,
        ]
        for slug, r in measured.items()
    ]
    for slug, r in measured.items():
        if r.failed_sample():
            say(f"  {slug}: first failure: {r.failed_sample()}")
    headers = ["tenant", "checkouts/s", "req/s", "p50 ms", "p99 ms", "× plain", "× plain CPU"]
    headers += ["SQL place + pay", "CPU µs/checkout", "failed"]
    expected = 2 * CART * paid
    verdict = "two per line" if commissions == expected else f"expected {expected}"
    return (
        f"### {kind}\n\n{markdown(headers, rows)}\n\n"
        f"Deferred to the job worker (the `order paid` event's accrual), run in-process after "
        f"the runs: {cpu * 1e6 / max(paid, 1):,.0f} CPU µs per paid order of the distributor "
        f"tenant; {commissions} commissions for {paid} paid orders ({verdict}). "
        f"Load average {load_average()} at the end."
    )


def main() -> None:
    """Run the benchmark and print its table."""
    parser = arguments(__doc__ or "", db="postgres", warmup=3, runs=3, duration=10)
    args = parser.parse_args()
    kind = one_database("bench.distributor", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        table = bench_database(kind, Path(tmp), args.pg, timing(args), args.connections)
    say(
        f"\n## Distributor: placeOrder + payOrder ({kind}, {args.connections} connections, "
        f"{CART} lines)\n\n{table}"
    )


if __name__ == "__main__":
    main()
