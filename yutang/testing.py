"""Pytest fixtures for Yutang and plugins built on it (registered as the pytest plugin
``yutang``). A plugin's tests can be a few lines::

    async def test_my_field(storefront, make_tenant):
        await make_tenant("shop", plugins=["myplugin"])
        data = await storefront("{ myField }")

The database is migrated once per session (SQLite file, or PostgreSQL when
``YUTANG_TEST_POSTGRES_DSN`` is set) and emptied before every test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import msgspec
import pytest
import pytest_asyncio
from tortoise import Tortoise, connections

from yutang.core import auth, clock
from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.contract import (
    Activity,
    CheckoutContext,
    CheckoutLine,
    Draft,
    ReleasedLine,
    TenantInfo,
)
from yutang.core.db import close_db, init_db, run_migrations
from yutang.core.domains import Domains
from yutang.core.models import Member, Product, Staff, Tenant
from yutang.core.resources import Resources
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.settings import AppSettings
from yutang.core.tenancy import TenantResolver
from yutang.core.worker import Worker
from yutang.edge.front import Front

POSTGRES_ENV = "YUTANG_TEST_POSTGRES_DSN"
# A real argon2 hash of "password" made once: fixtures create members in bulk without hashing.
PASSWORD = "password"
_HASH = auth.hash_password(PASSWORD)


def on_postgres() -> bool:
    """True when this test session runs against PostgreSQL."""
    return bool(os.environ.get(POSTGRES_ENV))


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``postgres_only`` marker."""
    config.addinivalue_line(
        "markers",
        "postgres_only: needs PostgreSQL (races, killed workers); skipped on SQLite",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on SQLite, saying why."""
    if on_postgres():
        return
    skip = pytest.mark.skip(
        reason=f"needs PostgreSQL (set {POSTGRES_ENV}): SQLite serializes writers in one "
        "process, so a race or a killed worker could not fail here"
    )
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def yutang_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database: PostgreSQL from the environment, else a fresh SQLite file."""
    dsn = os.environ.get(POSTGRES_ENV)
    if dsn:
        return dsn
    return f"sqlite://{tmp_path_factory.mktemp('db') / 'yutang.sqlite3'}"


@pytest.fixture(scope="session")
def yutang_plugins_toml() -> str:
    """The ``plugins.toml`` of the test session; override it in a conftest."""
    return "[profiles.default]\nplugins = []\n"


@pytest.fixture(scope="session")
def yutang_extra_plugins() -> list[tuple[str, object]]:
    """Plugins to register besides installed entry points: ``[(name, module)]``."""
    return []


@pytest.fixture(scope="session")
def yutang_runtime(
    yutang_database_url: str,
    yutang_plugins_toml: str,
    yutang_extra_plugins: list[tuple[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Runtime:
    """The runtime (installed plugins + the session's plugins.toml), database migrated.

    The response cache is off, so tests read stock exactly; its own tests switch it on."""
    path = tmp_path_factory.mktemp("conf") / "plugins.toml"
    path.write_text(yutang_plugins_toml, encoding="utf-8")
    settings = AppSettings(
        database_url=yutang_database_url,
        plugins_file=str(path),
        db_pool_size=20,
        response_cache=False,
    )
    runtime = build_runtime(settings, extra_plugins=yutang_extra_plugins)
    asyncio.run(run_migrations(settings, runtime.registry))
    return runtime


async def _empty_tables() -> None:
    conn = connections.get("default")
    tables = [model._meta.db_table for app in Tortoise.apps.values() for model in app.values()]
    if on_postgres():
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        return
    await conn.execute_script("PRAGMA foreign_keys=OFF")
    for table in tables:
        await conn.execute_script(f'DELETE FROM "{table}"')
    await conn.execute_script("DELETE FROM sqlite_sequence")
    await conn.execute_script("PRAGMA foreign_keys=ON")


@pytest_asyncio.fixture
async def yutang_db(yutang_runtime: Runtime) -> AsyncIterator[Runtime]:
    """An open, empty database for one test; yields the runtime."""
    await init_db(yutang_runtime.settings, yutang_runtime.registry)
    yutang_runtime.tenants.clear()
    yutang_runtime.domains.forget()
    try:
        await _empty_tables()
        yield yutang_runtime
    finally:
        await close_db()


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    """The core clock stopped at 2026-06-01 02:00 UTC (10:00 in Asia/Shanghai); move it
    with ``advance``."""
    fake = clock.FrozenClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    clock.set_clock(fake)
    try:
        yield fake
    finally:
        clock.set_clock(None)


MakeTenant = Callable[..., Awaitable[TenantInfo]]


@pytest_asyncio.fixture
async def make_tenant(yutang_db: Runtime) -> MakeTenant:
    """Create a tenant: ``await make_tenant("shop", plugins=["seckill"], settings={...})``."""

    async def make(
        slug: str = "shop",
        plugins: list[str] | None = None,
        profile: str = "default",
        settings: dict[str, dict[str, Any]] | None = None,
        currency: str = "CNY",
    ) -> TenantInfo:
        await Tenant.create(
            slug=slug,
            name=slug,
            profile=profile,
            plugins=plugins,
            settings=settings or {},
            currency=currency,
        )
        return await yutang_db.tenants.by_slug(slug)

    return make


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The default tenant ``shop`` (no plugins)."""
    return await make_tenant("shop")


class GraphQLClient:
    """Posts GraphQL to the app as one tenant, optionally with a bearer token."""

    def __init__(
        self, http: httpx.AsyncClient, path: str, tenant: str, token: str | None = None
    ) -> None:
        self.http, self.path, self.tenant, self.token = http, path, tenant, token

    def as_(self, token: str | None = None, tenant: str | None = None) -> GraphQLClient:
        """The same client with another token and/or tenant."""
        return GraphQLClient(self.http, self.path, tenant or self.tenant, token)

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body (``data`` and ``errors``)."""
        headers = {"X-Tenant": self.tenant}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self.http.post(
            self.path, json={"query": query, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """``data`` of a response that must have no GraphQL errors."""
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data


def app_with(runtime: Runtime, **settings: Any) -> Front:
    """The real app with other settings (``token_days=3``), its own tenant and domain
    caches, counters and shared resources (``redis_url=...``): another worker, without
    an in-process job loop."""
    from yutang.app import create_app

    app_settings = msgspec.structs.replace(runtime.settings, **settings)
    resources = Resources(app_settings.redis_url)
    changed = dataclasses.replace(
        runtime,
        settings=app_settings,
        tenants=TenantResolver(runtime.registry, runtime.plugins_file, resources),
        resources=resources,
        domains=Domains(),
    )
    return create_app(changed, worker=False, manage_db=False, debug=True)


@contextlib.asynccontextmanager
async def client_of(app: Front, peer: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for ``app`` over ASGI, connecting from the address ``peer``."""
    transport = httpx.ASGITransport(app=cast(Any, app), client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as client:
        yield client


@contextlib.asynccontextmanager
async def redis_keys(url: str) -> AsyncIterator[str]:
    """A key prefix of the caller's own in the Redis at ``url``, its keys deleted after;
    skips the test when redis-py or the server is missing."""
    redis = pytest.importorskip("redis.asyncio")
    client = redis.Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, redis.ConnectionError) as exc:
        await client.aclose()
        pytest.skip(f"no Redis at {url}: {exc}")
    prefix = f"yutang-test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest_asyncio.fixture
async def http(yutang_db: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real app over ASGI, in the test's event loop (the database
    pool is the fixture's; no in-process worker: tests run jobs themselves)."""
    from yutang.app import create_app

    app = create_app(yutang_db, worker=False, manage_db=False, debug=True)
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as client:
        yield client


@pytest_asyncio.fixture
async def storefront(http: httpx.AsyncClient, tenant: TenantInfo) -> GraphQLClient:
    """Anonymous storefront GraphQL client of ``tenant``."""
    return GraphQLClient(http, "/graphql", tenant.slug)


async def create_member(tenant: TenantInfo, phone: str, points: int = 0) -> tuple[Member, str]:
    """A member (no password hashing) with a token, and ``points`` granted via the ledger."""
    from yutang.core.members import change_points

    member = await Member.create(tenant_id=tenant.id, phone=phone, password_hash=_HASH)
    if points:
        await change_points(tenant, member.id, points, "test", "grant")
    return member, await auth.issue_token("member", member.id, tenant.id)


@pytest_asyncio.fixture
async def member(tenant: TenantInfo, storefront: GraphQLClient) -> tuple[Member, GraphQLClient]:
    """A member of ``tenant`` with 10,000 points and a logged-in storefront client."""
    row, token = await create_member(tenant, "13900000001", points=10_000)
    return row, storefront.as_(token)


async def create_staff(tenant: TenantInfo, username: str, role: str) -> tuple[Staff, str]:
    """A staff member with a token."""
    row = await Staff.create(tenant_id=tenant.id, username=username, role=role, password_hash=_HASH)
    return row, await auth.issue_token("staff", row.id, tenant.id)


@pytest_asyncio.fixture
async def admin(http: httpx.AsyncClient, tenant: TenantInfo) -> GraphQLClient:
    """Admin GraphQL client logged in as the tenant's owner."""
    _, token = await create_staff(tenant, "owner", "owner")
    return GraphQLClient(http, "/admin/graphql", tenant.slug, token)


@pytest_asyncio.fixture
async def make_product(tenant: TenantInfo) -> Callable[..., Awaitable[Product]]:
    """Create a published product: ``await make_product("Tea", [(5800, 10)])`` — SKUs as
    (price, stock) pairs."""

    async def make(
        name: str = "Tea",
        skus: list[tuple[int, int]] | None = None,
        on: TenantInfo | None = None,
        published: bool = True,
    ) -> Product:
        return await save_product(
            on or tenant,
            ProductInput(
                name=name,
                published=published,
                spec_names=["size"],
                skus=[
                    SkuInput(price=p, stock=s, specs={"size": str(i)})
                    for i, (p, s) in enumerate(skus or [(5800, 10)])
                ],
            ),
        )

    return make


@pytest.fixture
def worker(yutang_db: Runtime) -> Worker:
    """A job worker; ``await worker.run_until_idle()`` runs what is due."""
    return Worker(yutang_db)


class SentCodes(logging.Handler):
    """The verification codes the ``dev`` provider sent (it logs them), newest last."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.sent: list[tuple[str, str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep (tenant slug, phone, purpose, code) of a logged code."""
        slug, phone, purpose, code = cast(tuple[str, str, str, str], record.args)
        self.sent.append((slug, phone, purpose, code))

    def last(self, phone: str, purpose: str = "register") -> str:
        """The newest code sent to ``phone`` for ``purpose``."""
        codes = [c for _, to, why, c in self.sent if to == phone and why == purpose]
        assert codes, f"no {purpose} code was sent to {phone}"
        return codes[-1]


@pytest.fixture
def sent_codes() -> Iterator[SentCodes]:
    """Codes the ``dev`` verification provider sent during the test:
    ``sent_codes.last("13900000001")``."""
    from yutang.core.verification import log

    collector = SentCodes()
    log.addHandler(collector)
    try:
        yield collector
    finally:
        log.removeHandler(collector)


class HoldingActivity(Activity[None]):
    """A stand-in line activity for tests (group buy's part in an order): lines of
    ``kind`` keep their list price, and an order is held while ``held`` names it."""

    def __init__(self, kind: str, held: dict[int, str]) -> None:
        self.kind = kind
        self.held = held

    async def resolve(self, checkout: CheckoutContext, lines: list[CheckoutLine]) -> None:
        """Nothing to read."""
        return

    def price(self, draft: Draft, claim: None) -> None:
        """The list price, as an activity price."""
        for ln in draft.lines:
            if ln.line.activity is not None and ln.line.activity.plugin == self.kind:
                draft.set_activity_price(ln, ln.unit_price, self.kind)

    async def reserve(self, checkout: CheckoutContext, claim: None, order_id: int) -> None:
        """Nothing to take."""
        return

    async def release(
        self, tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
    ) -> None:
        """Nothing to give back."""
        return

    async def hold(self, tenant: TenantInfo, order_id: int) -> str | None:
        """The reason ``held`` gives for the order, if any."""
        return self.held.get(order_id)
