"""Anonymous product list served by the response cache, against the bare endpoint.

The catalogue of ``bench.product_list`` (one tenant, 100 products of 3 SKUs and 2 images,
no plugins) and its pinned query, sent the way a frontend sends it: a GET with the
automatic persisted query hash only (registered once before the runs), ``X-Tenant``, no
token. Servers run one uvicorn worker with YUTANG_ENV=production:

* ``raw`` — the bare litestar + hand-written SQL endpoint (POST, same JSON), the baseline
* ``hits`` — the real server, cache in-process: every request a hit but one a second (an
  entry lives ``YUTANG_RESPONSE_CACHE_TTL`` = 1 s)
* ``hits redis`` — the same with the cache on Redis (when one answers at ``--redis``)
* ``mixed`` (and ``mixed redis``) — 9 of 10 requests as above, the 10th with a variable
  set never seen (a miss that runs GraphQL), while an owner changes a SKU's price through
  the admin API every second (each change drops the tenant's entries)

Reported: req/s, p50/p99, the ratio to the bare endpoint in the same rounds, the hit rate
(responses carrying ``X-Yutang-Cache: hit``) and the admin writes made.

Run from the repository root: ``.venv/bin/python -m bench.response_cache [--db sqlite]``.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import msgspec

from bench.baselines import PRODUCT_LIST
from bench.common import (
    Load,
    Result,
    Server,
    Timing,
    arguments,
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
)
from yutang.core.auth import issue_token
from yutang.core.db import close_db
from yutang.core.models import Sku
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.core.tenants import create_staff
from yutang.edge.operation import sha256_hex
from yutang.graphql.ids import to_global

SLUG = "shop"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"
# The pinned query with a declared variable, so a miss can differ by an unused extra one.
QUERY = PRODUCT_LIST.replace("query ProductList {", "query ProductList($first: Int!) {").replace(
    "products(first: 20)", "products(first: $first)"
)
UPDATE_SKU = (
    "mutation($id: ID!, $price: Int!) { updateSku(id: $id, price: $price) { errors { code } } }"
)


async def prepare(kind: str, workdir: Path, pg: str) -> tuple[AppSettings, str, str]:
    """A migrated, seeded database; the settings, an owner's token and a SKU's global ID."""
    url = await fresh_database(kind, "ytbench_cache", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text("[profiles.default]\nplugins = []\n", encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    try:
        tenant = await seed_shop(runtime, SLUG, products=100, skus=3, images=2)
        owner = await create_staff(tenant.id, "owner", "bench-owner", "owner")
        token = await issue_token("staff", owner.id, tenant.id)
        sku = await Sku.filter(tenant_id=tenant.id).order_by("id").first()
        assert sku is not None
        return runtime.settings, token, to_global("Sku", sku.id)
    finally:
        await close_db()


def hit_path() -> str:
    """The GET a frontend sends once the hash is known: no query text."""
    extensions = msgspec.json.encode(
        {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(QUERY)}}
    ).decode()
    return "/graphql?" + urlencode({"extensions": extensions, "variables": '{"first":20}'})


def miss_parts() -> tuple[str, str]:
    """The path of a never-seen variable set around its unique part (``n``)."""
    head = hit_path().partition("variables=")[0]
    return head + "variables=" + quote('{"first":20,"n":"', safe=""), quote('"}', safe="")


def register(server: Server) -> dict[str, object]:
    """Send the full text once (the protocol's registration); the response's JSON."""
    extensions = msgspec.json.encode(
        {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(QUERY)}}
    ).decode()
    params = {"query": QUERY, "variables": '{"first":20}', "extensions": extensions}
    response = httpx.get(server.url + "/graphql", params=params, headers={"X-Tenant": SLUG})
    response.raise_for_status()
    data: dict[str, object] = response.json()
    return data


@contextmanager
def price_writer(servers: list[Server], token: str, sku: str) -> Iterator[list[int]]:
    """Change the SKU's price through each server's admin API every second."""
    stop = threading.Event()
    done = [0]

    def run() -> None:
        price = 1000
        headers = {"X-Tenant": SLUG, "Authorization": f"Bearer {token}"}
        while not stop.wait(1.0):
            price = 1000 + (price + 1) % 100
            for server in servers:
                body = {"query": UPDATE_SKU, "variables": {"id": sku, "price": price}}
                httpx.post(server.url + "/admin/graphql", json=body, headers=headers, timeout=10)
                done[0] += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join()


def bench_database(
    kind: str, workdir: Path, pg: str, redis: str | None, times: Timing, connections: int
) -> str:
    """Measure the configurations on one database; the table of results."""
    say(f"== {kind}: seeding")
    settings, token, sku = asyncio.run(prepare(kind, workdir, pg))
    body_file = workdir / "product_list.json"
    body_file.write_bytes(graphql_body(PRODUCT_LIST))
    cached = msgspec.structs.replace(settings, response_cache=True)
    prefix = f"ytbench:{uuid.uuid4().hex}:"
    configs = {"hits": cached, "mixed": cached}
    if redis:
        for name in ("hits", "mixed"):
            configs[f"{name} redis"] = msgspec.structs.replace(
                cached, redis_url=redis, cache_prefix=f"{prefix}{name}:"
            )
    tenant = f"X-Tenant: {SLUG}"
    head, tail = miss_parts()
    with ExitStack() as stack:
        raw = stack.enter_context(Server("raw", settings))
        servers = {name: stack.enter_context(Server("yutang", s)) for name, s in configs.items()}
        bare = raw.post("/bare/products", graphql_body(PRODUCT_LIST), {"X-Tenant": SLUG})
        for name, server in servers.items():
            if register(server) != bare:
                raise SystemExit(f"{name}: the cached server's JSON differs from the bare one")
        loads = [Load(f"{kind} raw", raw, "/bare/products", "post.lua", [str(body_file), tenant])]
        for name, server in servers.items():
            if name.startswith("hits"):
                loads.append(Load(f"{kind} {name}", server, hit_path(), "get.lua", [tenant]))
            else:
                args = [head, tail, "10", tenant]
                loads.append(Load(f"{kind} {name}", server, hit_path(), "mixed.lua", args))
        writers = [s for n, s in servers.items() if n.startswith("mixed")]
        with price_writer(writers, token, sku) as writes:
            measured = measure(loads, times, connections)
    if redis:
        _forget(redis, prefix)
    baseline = measured[f"{kind} raw"]
    rows = []
    for label, result in measured.items():
        rows.append(_row(label.removeprefix(f"{kind} "), result, baseline))
    headers = ["server", "req/s", "p50 ms", "p99 ms", "× bare", "hit rate", "errors"]
    return (
        f"### {kind}\n\n{markdown(headers, rows)}\n\n"
        f"{writes[0]} admin price changes during the runs (one a second per mixed server); "
        f"load average {load_average()} at the end."
    )


def _row(name: str, result: Result, baseline: Result) -> list[object]:
    hits = "—"
    if name.startswith("mixed"):
        hits = f"{result.counter('hits') / sum(r.requests for r in result.runs):.1%}"
    return [
        name,
        f"{result.rps:,.0f}",
        f"{result.p50_ms:.2f}",
        f"{result.p99_ms:.2f}",
        f"{ratio(result, baseline):.2f}×",
        hits,
        result.errors,
    ]


def _forget(url: str, prefix: str) -> None:
    """Delete the benchmark's keys from the shared Redis."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def _redis(url: str) -> str | None:
    """``url`` if a Redis answers there."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # whatever the failure, measure without Redis
        say(f"  no Redis at {url} ({exc}): the Redis configurations are skipped")
        return None
    return url


def main() -> None:
    """Run the benchmark and print its table."""
    parser = arguments(__doc__ or "", db="postgres", warmup=5, runs=3, duration=10)
    parser.add_argument("--redis", default=REDIS_DEFAULT, help="Redis URL ('' for none)")
    args = parser.parse_args()
    kind = one_database("bench.response_cache", args.db)
    if kind is None:
        return
    need_wrk()
    say(machine())
    redis = _redis(args.redis) if args.redis else None
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        table = bench_database(kind, Path(tmp), args.pg, redis, timing(args), args.connections)
    say(f"\n## Response cache ({kind}, {args.connections} connections)\n\n{table}")


if __name__ == "__main__":
    main()
