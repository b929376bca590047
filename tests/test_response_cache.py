"""The storefront response cache over the real app: no stale price after admin writes,
seckill boundaries on the core clock, tenant and member isolation, plugin-set changes,
the memory bound, and two app instances sharing Redis and PostgreSQL.

Redis tests use keys under a prefix unique to the test and skip, saying why, when no
Redis answers at ``REDIS_URL``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import msgspec
import pytest
import pytest_asyncio

from yutang import cli
from yutang.core.auth import hash_password, issue_token
from yutang.core.clock import FrozenClock
from yutang.core.errors import ConfigError
from yutang.core.models import Operator, Product, Sku
from yutang.core.runtime import Runtime
from yutang.edge.cache_store import Entry, LocalStore, check_workers
from yutang.graphql.ids import to_global
from yutang.testing import (
    GraphQLClient,
    MakeTenant,
    app_with,
    create_member,
    create_staff,
    redis_keys,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
PRODUCTS = """
query($first: Int!) { products(first: $first) { edges { node { name
  skus { id price { amount } stock } } } } }"""
SECKILL_PRODUCTS = """
query($first: Int!) { products(first: $first) { edges { node { name
  seckill { price { amount } } skus { price { amount } } } } } }"""
UPDATE_SKU = """
mutation($id: ID!, $price: Int!) { updateSku(id: $id, price: $price) {
  sku { price { amount } } errors { code field message } } }"""
UPDATE_TENANT = """
mutation($slug: String!, $plugins: [String!]) { updateTenant(slug: $slug, plugins: $plugins) {
  tenant { plugins } errors { code field message } } }"""
CREATE_SECKILL = """
mutation($input: SeckillActivityInput!) { createSeckillActivity(input: $input) {
  activity { id } errors { code field message } } }"""

SHOP = {"X-Tenant": "shop"}
Make = Callable[..., Awaitable[Product]]


@asynccontextmanager
async def serving(runtime: Runtime, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with the response cache on (and ``settings``), its own tenant cache."""
    app = app_with(runtime, response_cache=True, **settings)
    transport = httpx.ASGITransport(app=cast(Any, app))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as client:
            client.extensions = {"store": app.state.response_cache}  # type: ignore[attr-defined]
            yield client
    finally:
        await app.state.response_cache.aclose()


@pytest_asyncio.fixture
async def redis_prefix() -> AsyncIterator[str]:
    async with redis_keys(REDIS_URL) as prefix:
        yield prefix


@pytest_asyncio.fixture(params=["memory", "redis"])
async def http(
    request: pytest.FixtureRequest, yutang_db: Runtime
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the cache on: in-process, then on Redis (the fixtures' clients use it).
    Entries live 30 s, so a slow machine cannot turn an expected hit into a miss."""
    if request.param == "memory":
        async with serving(yutang_db, response_cache_ttl=30.0) as client:
            yield client
        return
    async with (
        redis_keys(REDIS_URL) as prefix,
        serving(
            yutang_db, response_cache_ttl=30.0, redis_url=REDIS_URL, cache_prefix=prefix
        ) as client,
    ):
        yield client


async def anonymous(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], tenant: str = "shop"
) -> httpx.Response:
    """An anonymous storefront GET."""
    params = {"query": query, "variables": msgspec.json.encode(variables).decode()}
    return await http.get("/graphql", params=params, headers={"X-Tenant": tenant})


def hit(response: httpx.Response) -> bool:
    return response.headers.get("x-yutang-cache") == "hit"


def prices(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return [
        sku["price"]["amount"]
        for edge in body["data"]["products"]["edges"]
        for sku in edge["node"]["skus"]
    ]


async def test_an_admin_price_change_is_seen_by_the_next_anonymous_read(
    http: httpx.AsyncClient, admin: GraphQLClient, make_product: Make
) -> None:
    product = await make_product("Tea", [(5800, 10)])
    sku = await Sku.get(product_id=product.id)
    first = await anonymous(http, PRODUCTS, {"first": 10})
    assert prices(first) == [5800] and not hit(first)
    again = await anonymous(http, PRODUCTS, {"first": 10})
    assert prices(again) == [5800] and hit(again)
    assert again.content == first.content

    done = await admin(UPDATE_SKU, {"id": to_global("Sku", sku.id), "price": 4900})
    assert done["updateSku"]["errors"] == []

    after = await anonymous(http, PRODUCTS, {"first": 10})
    assert prices(after) == [4900] and not hit(after)


async def test_concurrent_misses_of_one_entry_run_it_once(
    http: httpx.AsyncClient, admin: GraphQLClient, make_product: Make
) -> None:
    """After a write, a crowd asking for the same entry waits for one execution."""
    product = await make_product("Tea", [(5800, 10)])
    sku = await Sku.get(product_id=product.id)
    await anonymous(http, PRODUCTS, {"first": 10})
    await admin(UPDATE_SKU, {"id": to_global("Sku", sku.id), "price": 4900})
    crowd = await asyncio.gather(*(anonymous(http, PRODUCTS, {"first": 10}) for _ in range(10)))
    assert [hit(r) for r in crowd].count(False) == 1
    assert all(prices(r) == [4900] for r in crowd)


async def test_headers_etag_and_not_modified(
    http: httpx.AsyncClient, admin: GraphQLClient, make_product: Make
) -> None:
    product = await make_product("Tea", [(5800, 10)])
    first = await anonymous(http, PRODUCTS, {"first": 10})
    assert first.headers["cache-control"] == "public, no-cache"
    etag = first.headers["etag"]
    params = {"query": PRODUCTS, "variables": '{"first": 10}'}
    same = await http.get("/graphql", params=params, headers={"If-None-Match": etag, **SHOP})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag

    # A write that changes nothing shown: recomputed, still the same ETag, still a 304.
    await admin('mutation { createStore(name: "East") { errors { code } } }')
    recomputed = await http.get("/graphql", params=params, headers={"If-None-Match": etag, **SHOP})
    assert recomputed.status_code == 304 and not hit(recomputed)

    sku = await Sku.get(product_id=product.id)
    await admin(UPDATE_SKU, {"id": to_global("Sku", sku.id), "price": 100})
    changed = await http.get("/graphql", params=params, headers={"If-None-Match": etag, **SHOP})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert prices(changed) == [100]

    posted = await http.post(
        "/graphql", json={"query": PRODUCTS, "variables": {"first": 10}}, headers=SHOP
    )
    assert posted.headers["cache-control"] == "no-store" and hit(posted)
    admin_read = await admin.http.post("/admin/graphql", json={"query": "{ tenant { slug } }"})
    assert admin_read.headers["cache-control"] == "no-store"


async def test_stock_lags_by_at_most_the_ttl(
    yutang_db: Runtime, tenant: Any, make_product: Make, frozen_clock: FrozenClock
) -> None:
    """A write outside admin mutations (an order, a job) shows within the TTL (1 s)."""
    product = await make_product("Tea", [(5800, 10)])

    def stock(response: httpx.Response) -> int:
        return int(response.json()["data"]["products"]["edges"][0]["node"]["skus"][0]["stock"])

    async with serving(yutang_db) as http:
        await anonymous(http, PRODUCTS, {"first": 10})
        await Sku.filter(product_id=product.id).update(stock=3)
        frozen_clock.advance(timedelta(milliseconds=999))
        lagging = await anonymous(http, PRODUCTS, {"first": 10})
        assert hit(lagging) and stock(lagging) == 10
        frozen_clock.advance(timedelta(milliseconds=1))
        exact = await anonymous(http, PRODUCTS, {"first": 10})
        assert not hit(exact) and stock(exact) == 3


async def test_two_tenants_with_the_same_query_never_share_an_entry(
    http: httpx.AsyncClient, tenant: Any, make_tenant: MakeTenant, make_product: Make
) -> None:
    other = await make_tenant("other")
    await make_product("Tea", [(5800, 10)])
    await make_product("Coffee", [(1200, 10)], on=other)
    for _ in range(2):
        assert prices(await anonymous(http, PRODUCTS, {"first": 10})) == [5800]
        assert prices(await anonymous(http, PRODUCTS, {"first": 10}, tenant="other")) == [1200]


async def test_a_member_query_is_never_cached_nor_served_from_the_cache(
    http: httpx.AsyncClient, tenant: Any
) -> None:
    _, token = await create_member(tenant, "13900000009")
    query = {"query": "{ me { phone } }"}
    as_member = {"X-Tenant": "shop", "Authorization": f"Bearer {token}"}
    before = await http.get("/graphql", params=query, headers={"X-Tenant": "shop"})
    assert before.json() == {"data": {"me": None}}
    again = await http.get("/graphql", params=query, headers={"X-Tenant": "shop"})
    assert hit(again)
    for _ in range(2):
        member = await http.get("/graphql", params=query, headers=as_member)
        assert member.json() == {"data": {"me": {"phone": "13900000009"}}}
        assert not hit(member) and member.headers["cache-control"] == "no-store"
    after = await http.get("/graphql", params=query, headers={"X-Tenant": "shop"})
    assert after.json() == {"data": {"me": None}}


async def test_mutations_and_errors_are_never_cached(http: httpx.AsyncClient, tenant: Any) -> None:
    login = 'mutation { login(phone: "1", password: "x") { token } }'
    for _ in range(2):
        response = await http.post("/graphql", json={"query": login}, headers={"X-Tenant": "shop"})
        assert not hit(response) and response.headers["cache-control"] == "no-store"
    for _ in range(2):
        bad = await anonymous(http, "{ nothing }", {})
        assert "errors" in bad.json() and not hit(bad)


async def test_a_plugin_disabled_for_a_tenant_drops_its_entries(
    http: httpx.AsyncClient, make_tenant: MakeTenant, make_product: Make
) -> None:
    await make_tenant("tea", plugins=["seckill"])
    op = await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    operator = GraphQLClient(
        http, "/admin/graphql", "shop", await issue_token("operator", op.id, None)
    )
    await anonymous(http, SECKILL_PRODUCTS, {"first": 10}, tenant="tea")
    cached = await anonymous(http, SECKILL_PRODUCTS, {"first": 10}, tenant="tea")
    assert hit(cached) and "errors" not in cached.json()

    done = await operator(UPDATE_TENANT, {"slug": "tea", "plugins": []})
    assert done["updateTenant"]["errors"] == []

    after = await anonymous(http, SECKILL_PRODUCTS, {"first": 10}, tenant="tea")
    assert not hit(after)
    assert after.json()["errors"][0]["extensions"] == {
        "code": "PLUGIN_DISABLED",
        "plugin": "seckill",
    }


@pytest_asyncio.fixture
async def seckill_shop(make_tenant: MakeTenant) -> Any:
    return await make_tenant("tea", plugins=["seckill"])


async def test_a_seckill_session_changes_the_cached_price_exactly_at_its_boundaries(
    yutang_db: Runtime, seckill_shop: Any, make_product: Make, frozen_clock: FrozenClock
) -> None:
    """With entries otherwise living an hour, the session's start and end end them."""

    def at(local: str) -> None:
        frozen_clock.current = datetime.fromisoformat(local + "+08:00").astimezone(UTC)

    async with serving(yutang_db, response_cache_ttl=3600.0) as http:
        product = await make_product("Tea", [(5800, 10)], on=seckill_shop)
        sku = await Sku.get(product_id=product.id)
        _, token = await create_staff(seckill_shop, "owner", "owner")
        admin = GraphQLClient(http, "/admin/graphql", "tea", token)
        created = await admin(
            CREATE_SECKILL,
            {
                "input": {
                    "name": "早场",
                    "startsAt": "2026-06-01T00:00:00+08:00",
                    "endsAt": "2026-06-08T00:00:00+08:00",
                    "memberLimit": 1,
                    "sessions": [
                        {
                            "startsAt": "2026-06-01T10:30:00+08:00",
                            "endsAt": "2026-06-01T11:00:00+08:00",
                            "items": [
                                {"skuId": to_global("Sku", sku.id), "price": 990, "stock": 5}
                            ],
                        }
                    ],
                }
            },
        )
        assert created["createSeckillActivity"]["errors"] == []

        def seckill(response: httpx.Response) -> Any:
            return response.json()["data"]["products"]["edges"][0]["node"]["seckill"]

        at("2026-06-01T10:20:00")
        assert seckill(await anonymous(http, SECKILL_PRODUCTS, {"first": 5}, tenant="tea")) is None
        at("2026-06-01T10:29:59.999")
        before = await anonymous(http, SECKILL_PRODUCTS, {"first": 5}, tenant="tea")
        assert hit(before) and seckill(before) is None
        at("2026-06-01T10:30:00")
        opened = await anonymous(http, SECKILL_PRODUCTS, {"first": 5}, tenant="tea")
        assert not hit(opened) and seckill(opened) == {"price": {"amount": 990}}
        at("2026-06-01T10:59:59.999")
        still = await anonymous(http, SECKILL_PRODUCTS, {"first": 5}, tenant="tea")
        assert hit(still) and seckill(still) == {"price": {"amount": 990}}
        at("2026-06-01T11:00:00")
        closed = await anonymous(http, SECKILL_PRODUCTS, {"first": 5}, tenant="tea")
        assert not hit(closed) and seckill(closed) is None


GROUPBUY_PRODUCTS = """
query($first: Int!) { products(first: $first) { edges { node { name
  groupbuy { name items { price { amount } } } } } } }"""
CREATE_GROUPBUY = """
mutation($input: GroupbuyActivityInput!) { createGroupbuyActivity(input: $input) {
  activity { id } errors { code field message } } }"""


async def test_a_group_buy_window_ends_cached_entries_at_its_start_and_end(
    yutang_db: Runtime, make_tenant: MakeTenant, make_product: Make, frozen_clock: FrozenClock
) -> None:
    """The group buy plugin declares its windows too: the group price appears and goes
    exactly on time although entries would otherwise live a day."""
    shop = await make_tenant("gb", plugins=["groupbuy"])

    def at(local: str) -> None:
        frozen_clock.current = datetime.fromisoformat(local + "+08:00").astimezone(UTC)

    def offers(response: httpx.Response) -> Any:
        return response.json()["data"]["products"]["edges"][0]["node"]["groupbuy"]

    async with serving(yutang_db, response_cache_ttl=86400.0) as http:
        product = await make_product("Tea", [(5800, 10)], on=shop)
        sku = await Sku.get(product_id=product.id)
        _, token = await create_staff(shop, "owner", "owner")
        admin = GraphQLClient(http, "/admin/graphql", "gb", token)
        item = {"skuId": to_global("Sku", sku.id), "price": 3000}
        window = {"startsAt": "2026-06-01T10:30:00+08:00", "endsAt": "2026-06-01T12:00:00+08:00"}
        inp = {"name": "三人团", **window, "teamSize": 3, "validityMinutes": 60, "items": [item]}
        created = await admin(CREATE_GROUPBUY, {"input": inp})
        assert created["createGroupbuyActivity"]["errors"] == []

        at("2026-06-01T10:29:00")
        assert offers(await anonymous(http, GROUPBUY_PRODUCTS, {"first": 5}, tenant="gb")) == []
        at("2026-06-01T10:29:59.999")
        assert hit(await anonymous(http, GROUPBUY_PRODUCTS, {"first": 5}, tenant="gb"))
        at("2026-06-01T10:30:00")
        started = await anonymous(http, GROUPBUY_PRODUCTS, {"first": 5}, tenant="gb")
        assert not hit(started)
        assert offers(started) == [{"name": "三人团", "items": [{"price": {"amount": 3000}}]}]
        at("2026-06-01T11:59:59.999")
        assert hit(await anonymous(http, GROUPBUY_PRODUCTS, {"first": 5}, tenant="gb"))
        at("2026-06-01T12:00:00")
        ended = await anonymous(http, GROUPBUY_PRODUCTS, {"first": 5}, tenant="gb")
        assert not hit(ended) and offers(ended) == []


CREATE_RULE = """
mutation($input: FullReductionRuleInput!) { createFullReductionRule(input: $input) {
  rule { id } errors { code field message } } }"""
QUOTE = """
query($lines: [LineInput!]!) { quote(input: {lines: $lines}) {
  quote { total { amount } } errors { code field message } } }"""


async def test_a_full_reduction_window_ends_cached_quotes_at_its_start(
    yutang_db: Runtime, make_tenant: MakeTenant, make_product: Make, frozen_clock: FrozenClock
) -> None:
    """An anonymous quote is cached like any query; the rule's start ends it."""
    shop = await make_tenant("fr", plugins=["fullreduction"])
    frozen_clock.current = datetime(2026, 6, 1, 2, 29, tzinfo=UTC)  # 10:29 in the shop
    async with serving(yutang_db, response_cache_ttl=86400.0) as http:
        product = await make_product("Tea", [(5800, 10)], on=shop)
        sku = await Sku.get(product_id=product.id)
        _, token = await create_staff(shop, "owner", "owner")
        admin = GraphQLClient(http, "/admin/graphql", "fr", token)
        tiers = [{"threshold": 5000, "off": 1000}]
        window = {"startsAt": "2026-06-01T10:30:00+08:00", "endsAt": "2026-06-02T00:00:00+08:00"}
        done = await admin(CREATE_RULE, {"input": {"name": "满50减10", **window, "tiers": tiers}})
        assert done["createFullReductionRule"]["errors"] == []
        lines = {"lines": [{"skuId": to_global("Sku", sku.id), "quantity": 1}]}

        def total(response: httpx.Response) -> int:
            return int(response.json()["data"]["quote"]["quote"]["total"]["amount"])

        assert total(await anonymous(http, QUOTE, lines, tenant="fr")) == 5800
        frozen_clock.advance(timedelta(seconds=59, milliseconds=999))
        assert hit(await anonymous(http, QUOTE, lines, tenant="fr"))
        frozen_clock.advance(timedelta(milliseconds=1))
        started = await anonymous(http, QUOTE, lines, tenant="fr")
        assert not hit(started) and total(started) == 4800


async def test_the_memory_bound_holds_under_many_distinct_variable_sets(
    yutang_db: Runtime, tenant: Any, make_product: Make
) -> None:
    for name in ("Tea", "Coffee", "Cocoa"):
        await make_product(name, [(5800, 10)])
    async with serving(yutang_db, response_cache_mb=0.005) as http:
        store = http.extensions["store"]  # type: ignore[attr-defined]
        assert isinstance(store, LocalStore)
        for n in range(1, 61):
            await anonymous(http, PRODUCTS, {"first": n})
            assert store.bytes <= store.max_bytes
        assert 0 < len(store) < 15
        assert hit(await anonymous(http, PRODUCTS, {"first": 60}))
        assert not hit(await anonymous(http, PRODUCTS, {"first": 1}))


async def test_the_local_store_stays_within_its_bytes() -> None:
    store = LocalStore(max_bytes=100_000)
    body = b"x" * 300
    for n in range(20_000):
        generation, _ = await store.lookup("shop", f"key-{n}")
        await store.store("shop", generation, f"key-{n}", Entry(1e12, '"e"', body))
        assert store.bytes <= 100_000
    assert len(store) == 100_000 // (len("key-19999") + 300 + 3 + 200)
    assert (await store.lookup("shop", "key-19999"))[1] is not None
    assert (await store.lookup("shop", "key-0"))[1] is None


async def test_an_entry_computed_across_a_write_is_never_served() -> None:
    """A miss reads the generation first; a write bumping it meanwhile voids the result."""
    store = LocalStore(max_bytes=10_000)
    generation, _ = await store.lookup("shop", "k")
    await store.invalidate("shop")
    await store.store("shop", generation, "k", Entry(1e12, '"e"', b"old"))
    assert (await store.lookup("shop", "k"))[1] is None
    await store.invalidate(None)
    assert (await store.lookup("shop", "k"))[0] != generation


def test_several_workers_without_redis_refuse_to_start(yutang_runtime: Runtime) -> None:
    on = msgspec.structs.replace(yutang_runtime.settings, response_cache=True, redis_url=None)
    check_workers(on, 1)
    with pytest.raises(ConfigError, match="2 workers with the response cache on need Redis"):
        check_workers(on, 2)
    check_workers(msgspec.structs.replace(on, redis_url=REDIS_URL), 2)
    check_workers(msgspec.structs.replace(on, response_cache=False), 2)


def test_serve_with_several_workers_and_no_redis_exits_saying_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugins = tmp_path / "plugins.toml"
    plugins.write_text("[profiles.default]\nplugins = []\n", encoding="utf-8")
    monkeypatch.setenv("YUTANG_PLUGINS_FILE", str(plugins))
    monkeypatch.setenv("YUTANG_DATABASE_URL", f"sqlite://{tmp_path / 'shop.sqlite3'}")
    for name in ("YUTANG_REDIS_URL", "YUTANG_RESPONSE_CACHE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--workers", "2"])
    assert exited.value.code == 2
    assert "2 workers with the response cache on need Redis" in capsys.readouterr().err
    assert not (tmp_path / "shop.sqlite3").exists()


@pytest.mark.postgres_only
async def test_two_workers_sharing_redis_never_serve_a_stale_price(
    yutang_db: Runtime, redis_prefix: str, tenant: Any, make_product: Make
) -> None:
    """Two app instances (own tenant cache, schemas and store client) on one Redis and
    one PostgreSQL: a price changed through one is exact on the other."""
    product = await make_product("Tea", [(5800, 10)])
    sku = await Sku.get(product_id=product.id)
    _, owner = await create_staff(tenant, "owner", "owner")
    shared = {"redis_url": REDIS_URL, "cache_prefix": redis_prefix, "response_cache_ttl": 30.0}
    async with serving(yutang_db, **shared) as one, serving(yutang_db, **shared) as two:
        assert prices(await anonymous(one, PRODUCTS, {"first": 10})) == [5800]
        from_two = await anonymous(two, PRODUCTS, {"first": 10})
        assert hit(from_two) and prices(from_two) == [5800]

        admin = GraphQLClient(two, "/admin/graphql", "shop", owner)
        await admin(UPDATE_SKU, {"id": to_global("Sku", sku.id), "price": 4200})

        after = await anonymous(one, PRODUCTS, {"first": 10})
        assert not hit(after) and prices(after) == [4200]
        assert prices(await anonymous(two, PRODUCTS, {"first": 10})) == [4200]


GUEST_ADD = """mutation($input: AddToCartInput!, $token: String) {
  addToCart(input: $input, cartToken: $token) { cartToken errors { code } } }"""
GUEST_CART = "query($token: String) { cart(cartToken: $token) { lines { quantity } } }"


async def test_a_guests_cart_is_never_served_from_the_cache(
    http: httpx.AsyncClient, make_product: Make
) -> None:
    """No member token, yet one visitor's: the cart answers ``no-store`` and is not kept."""
    sku = to_global("Sku", (await Sku.get(product_id=(await make_product("Tea")).id)).id)

    async def add(token: str | None) -> str:
        inp = {"skuId": sku, "quantity": 1}
        body = {"query": GUEST_ADD, "variables": {"input": inp, "token": token}}
        added = (await http.post("/graphql", json=body, headers=SHOP)).json()
        assert added["data"]["addToCart"]["errors"] == [], added
        cart_token: str = added["data"]["addToCart"]["cartToken"]
        return cart_token

    token = await add(None)
    for expected in (1, 2):
        if expected == 2:
            await add(token)
        read = await anonymous(http, GUEST_CART, {"token": token})
        assert read.headers["cache-control"] == "no-store" and not hit(read)
        assert read.json()["data"]["cart"]["lines"] == [{"quantity": expected}]
