"""Quote of a 10-line cart, and checkout (placeOrder then payOrder), over HTTP.

One tenant (no plugins) with 50 products of 4 SKUs (stock 10⁹, so no restocking) and 16
members with tokens. Servers as in :mod:`bench.product_list`; wrk drives 16 keep-alive
connections:

* quote — the same 10-line cart, ``quote`` with a member token (``baselines.QUOTE``);
* checkout — each connection is one member placing an order of 10 random SKUs, then paying
  it with the dev provider, then again; idempotency keys are unique per request.

The bare baselines (``raw`` SQL, ``tortoise``) take the same requests and do the same work:
token and tenant lookups, the SKU and member-level reads, and for an order one transaction
of an idempotency record, 10 conditional stock UPDATEs, the order, its lines, the payment
timeout job; paying is one transaction of an idempotency record, the order read FOR UPDATE,
the captured payment, the order's status and the member's spend.

Run from the repository root: ``.venv/bin/python -m bench.checkout [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.baselines import PAY_ORDER, PLACE_ORDER, QUOTE, gid
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
    seed_shop,
    settings_for,
    timing,
)
from yutang.core.auth import hash_password, issue_token
from yutang.core.db import close_db
from yutang.core.models import Member, Sku
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings

SLUG = "shop"
MEMBERS = 16
CART = 10
PATHS = {
    "raw": ("/bare/quote", "/bare/place", "/bare/pay"),
    "tortoise": ("/bare/quote", "/bare/place", "/bare/pay"),
    "yutang": ("/graphql", "/graphql", "/graphql"),
}
PLUGINS_TOML = "[profiles.default]\nplugins = []\n"


class Workload:
    """The request bodies and wrk inputs, written into the work directory."""

    def __init__(self, workdir: Path, skus: list[str], tokens: list[str]) -> None:
        self.workdir = workdir
        self.tokens = tokens
        step = len(skus) // CART
        cart = [{"skuId": skus[i * step], "quantity": 1} for i in range(CART)]
        self.quote = graphql_body(QUOTE, {"lines": cart})
        self.place = graphql_body(PLACE_ORDER, {"lines": "%LINES%", "key": "%KEY%"}).replace(
            b'"%LINES%"', b"[%LINES%]"
        )
        self.pay = graphql_body(PAY_ORDER, {"id": "%ID%", "key": "%KEY%"})
        items = [json.dumps({"skuId": s, "quantity": 1}, separators=(",", ":")) for s in skus]
        for name, data in {
            "quote.json": self.quote,
            "place.json": self.place,
            "pay.json": self.pay,
            "items.txt": "\n".join(items).encode(),
            "tokens.txt": "\n".join(tokens).encode(),
        }.items():
            (workdir / name).write_bytes(data)

    def headers(self, member: int = 0) -> dict[str, str]:
        """Tenant and member token headers."""
        return {"X-Tenant": SLUG, "Authorization": f"Bearer {self.tokens[member]}"}

    def place_body(self, key: str, skus: list[str]) -> bytes:
        """A placeOrder body for these SKUs."""
        items = ",".join(json.dumps({"skuId": s, "quantity": 1}) for s in skus)
        return self.place.replace(b"%LINES%", items.encode()).replace(b"%KEY%", key.encode())

    def pay_body(self, key: str, order_id: str) -> bytes:
        """A payOrder body."""
        return self.pay.replace(b"%ID%", order_id.encode()).replace(b"%KEY%", key.encode())

    def quote_args(self) -> list[str]:
        """post.lua's arguments for the quote."""
        token = self.tokens[0]
        return [
            str(self.workdir / "quote.json"),
            f"X-Tenant: {SLUG}",
            f"Authorization: Bearer {token}",
        ]

    def checkout_args(self, place: str, pay: str, prefix: str) -> list[str]:
        """checkout.lua's arguments."""
        files = ["place.json", "pay.json", "items.txt", "tokens.txt"]
        return [str(self.workdir / f) for f in files] + [place, pay, SLUG, prefix, str(CART)]


async def prepare(kind: str, workdir: Path, pg: str) -> tuple[AppSettings, list[str], list[str]]:
    """A migrated database with the catalogue and members; SKU ids and member tokens."""
    url = await fresh_database(kind, "ytbench_checkout", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    try:
        tenant = await seed_shop(runtime, SLUG, products=50, skus=4, images=1, stock=10**9)
        rows = await Sku.filter(tenant_id=tenant.id).order_by("id").values("id")
        skus = [gid("Sku", r["id"]) for r in rows]
        password = hash_password("bench-password")
        tokens = []
        for i in range(MEMBERS):
            member = await Member.create(
                tenant_id=tenant.id, phone=f"1390000{i:04d}", password_hash=password
            )
            tokens.append(await issue_token("member", member.id, tenant.id))
    finally:
        await close_db()
    return runtime.settings, skus, tokens


def order_of(payload: dict[str, object], field: str) -> dict[str, object]:
    """The ``order`` of a placeOrder/payOrder payload; exits on errors."""
    data = payload.get("data") or {}
    result = data.get(field) if isinstance(data, dict) else None
    if not isinstance(result, dict) or result.get("errors") or not result.get("order"):
        raise SystemExit(f"{field} failed: {str(payload)[:300]}")
    order: dict[str, object] = result["order"]
    return order


async def sql_counts(
    settings: AppSettings, mode: str, work: Workload, skus: list[str]
) -> dict[str, int]:
    """SQL statements of one quote, placeOrder and payOrder, counted in-process after one
    warm-up of each."""
    quote, place, pay = PATHS[mode]
    headers = {**work.headers(), "content-type": "application/json"}
    counts: dict[str, int] = {}
    async with in_process(mode, settings) as client:
        for attempt in ("warm", "count"):
            with counting_sql() as counter:
                await client.post(quote, content=work.quote, headers=headers)
                counts["quote"] = counter.take()
                key = f"sql-{mode}-{attempt}"
                placed = (
                    await client.post(
                        place, content=work.place_body(key, skus[:CART]), headers=headers
                    )
                ).json()
                counts["place"] = counter.take()
                order_id = str(order_of(placed, "placeOrder")["id"])
                paid = (
                    await client.post(pay, content=work.pay_body(key, order_id), headers=headers)
                ).json()
                counts["pay"] = counter.take()
                order_of(paid, "payOrder")
    return counts


def check(server: Server, mode: str, work: Workload, skus: list[str]) -> int:
    """One quote, order and payment outside the load; the quote's total."""
    quote, place, pay = PATHS[mode]
    quoted = server.post(quote, work.quote, work.headers())["data"]["quote"]
    if quoted["errors"] or not quoted["quote"]:
        raise SystemExit(f"{mode}: quote failed: {quoted}")
    key = f"check-{mode}"
    placed = order_of(
        server.post(place, work.place_body(key, skus[-CART:]), work.headers()), "placeOrder"
    )
    paid = order_of(
        server.post(pay, work.pay_body(key, str(placed["id"])), work.headers()), "payOrder"
    )
    if placed["status"].lower() != "pending_payment" or paid["status"].lower() != "paid":
        raise SystemExit(f"{mode}: unexpected order states {placed} {paid}")
    total: int = quoted["quote"]["total"]["amount"]
    return total


def bench_database(kind: str, workdir: Path, pg: str, times: Timing, connections: int) -> str:
    """Measure the three servers on one database; the tables of results."""
    say(f"== {kind}: seeding")
    settings, skus, tokens = asyncio.run(prepare(kind, workdir, pg))
    work = Workload(workdir, skus, tokens)
    counts = {mode: asyncio.run(sql_counts(settings, mode, work, skus)) for mode in PATHS}
    say(f"  SQL statements (quote, placeOrder, payOrder): {counts}")
    with ExitStack() as stack:
        servers = {mode: stack.enter_context(Server(mode, settings)) for mode in PATHS}
        totals = {check(server, mode, work, skus) for mode, server in servers.items()}
        if len(totals) != 1:
            raise SystemExit(f"the servers quote different totals: {totals}")
        say(f"  all three quote the same total ({totals.pop()}) and pay orders")
        loads = [
            Load(f"{mode} quote", server, PATHS[mode][0], "post.lua", work.quote_args())
            for mode, server in servers.items()
        ]
        loads += [
            Load(
                f"{mode} checkout",
                server,
                PATHS[mode][1],
                "checkout.lua",
                work.checkout_args(PATHS[mode][1], PATHS[mode][2], f"{kind}-{mode}"),
                threads=connections,
            )
            for mode, server in servers.items()
        ]
        measured = measure(loads, times, connections)
    quotes = {mode: measured[f"{mode} quote"] for mode in PATHS}
    checkouts = {mode: measured[f"{mode} checkout"] for mode in PATHS}
    for mode, result in checkouts.items():
        if result.counter("failed"):
            say(f"  {mode}: {result.counter('failed')} failed; first: {result.failed_sample()}")
    quote_rows = [
        [
            mode,
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{ratio(r, quotes['raw']):.3f}×",
            f"{quotes['raw'].cpu_us() / r.cpu_us():.3f}×",
            counts[mode]["quote"],
            f"{r.cpu_us():,.0f}",
            f"{r.rss_mb:.0f}",
            r.errors,
        ]
        for mode, r in quotes.items()
    ]
    checkout_rows = [
        [
            mode,
            f"{r.per_second('paid'):,.0f}",
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{ratio(r, checkouts['raw'], 'paid'):.3f}×",
            f"{checkouts['raw'].cpu_us('paid') / r.cpu_us('paid'):.3f}×",
            f"{counts[mode]['place']} + {counts[mode]['pay']}",
            f"{r.cpu_us('paid'):,.0f}",
            f"{r.rss_mb:.0f}",
            r.counter("failed") + r.errors,
        ]
        for mode, r in checkouts.items()
    ]
    quote_headers = ["server", "req/s", "p50 ms", "p99 ms", "× bare", "× bare CPU", "SQL/req"]
    quote_headers += ["CPU µs/req"]
    quote_headers += ["RSS MiB", "errors"]
    checkout_headers = ["server", "checkouts/s", "req/s", "p50 ms", "p99 ms", "× bare"]
    checkout_headers += ["× bare CPU"]
    checkout_headers += ["SQL place + pay", "CPU µs/checkout", "RSS MiB", "failed"]
    return (
        f"### {kind}: quote (10 lines, member token)\n\n{markdown(quote_headers, quote_rows)}\n\n"
        f"### {kind}: checkout (placeOrder + payOrder, 10 lines)\n\n"
        f"{markdown(checkout_headers, checkout_rows)}\n\n"
        "Latencies are per request (placeOrder and payOrder mixed); "
        f"load average {load_average()} at the end."
    )


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = arguments(__doc__ or "", db="both", warmup=5, runs=3, duration=10)
    args = parser.parse_args()
    kind = one_database("bench.checkout", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        tables = bench_database(kind, Path(tmp), args.pg, timing(args), args.connections)
    say(f"\n## Quote and checkout ({kind}, {args.connections} connections)\n\n{tables}")


if __name__ == "__main__":
    main()
