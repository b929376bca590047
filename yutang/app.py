"""The litestar application: the request edge, both GraphQL endpoints, payment callbacks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.types import Middleware
from strawberry.litestar import make_graphql_controller

from yutang.core import gateways, payments
from yutang.core.contract import TenantInfo
from yutang.core.db import close_db, init_db
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of
from yutang.core.runtime import Runtime
from yutang.core.tenancy import current_tenant
from yutang.core.throttle import Throttle
from yutang.core.worker import Worker
from yutang.edge.admission import Admission
from yutang.edge.asgi import Hook, Layer
from yutang.edge.cache_store import Store, make_store
from yutang.edge.cors import Cors, Preflight, origins
from yutang.edge.documents import DocumentLimit
from yutang.edge.front import Front
from yutang.edge.headers import SecurityHeaders
from yutang.edge.identity import Identity
from yutang.edge.naming import NameTenant
from yutang.edge.operation import ReadOperation
from yutang.edge.persisted import PersistedQueries
from yutang.edge.response_cache import ResponseCache
from yutang.graphiql import graphiql_asset, page
from yutang.graphql.context import context_getter_for
from yutang.graphql.json_nesting import BoundedJSON
from yutang.graphql.schema import SchemaCache

_encoder = msgspec.json.Encoder()


def _controller(
    runtime: Runtime, schemas: SchemaCache, throttle: Throttle, surface: str, path: str
) -> type:
    """A GraphQL controller whose schema is the current tenant's for ``surface``; in
    development its GraphiQL page loads the files this package ships."""
    from yutang.core.plugins import CORE_PLUGIN

    fallback = schemas.get(surface, runtime.registry.plugin_set([CORE_PLUGIN]))
    ide = None if runtime.settings.production else page()
    base: Any = make_graphql_controller(
        fallback,
        path=path,
        context_getter=context_getter_for(runtime, throttle),
        graphql_ide=None if ide is None else "graphiql",
    )

    class TenantGraphQL(BoundedJSON, base):  # type: ignore[misc]
        @property
        def schema(self) -> Any:
            """Read per request; litestar also reads it at registration (no tenant yet)."""
            tenant: TenantInfo | None = current_tenant.get()
            return fallback if tenant is None else schemas.get(surface, hooks_of(tenant))

        @property
        def graphql_ide_html(self) -> str | None:
            """The page with local files (strawberry's own loads them from a CDN)."""
            return ide

        def encode_json(self, data: object) -> bytes:
            return _encoder.encode(data)

    return TenantGraphQL


def edge(
    runtime: Runtime, schemas: SchemaCache, store: Store | None
) -> tuple[list[Hook], list[Layer], list[Middleware]]:
    """The request edge (``yutang.edge``): the hooks every response passes through, the
    layers answering in front of the router, and the litestar middleware behind it, each
    outermost first. A refused body, a cache hit or a refused placeOrder costs no
    dependency injection and no GraphQL; a hit and a refused body no routing either."""
    settings = runtime.settings
    cors = Cors(origins(settings.cors_origins), runtime.domains)
    hooks: list[Hook] = [SecurityHeaders(settings), cors]
    cache = None if store is None else ResponseCache(runtime, store)
    front: list[Layer | None] = [
        NameTenant(runtime),  # the tenant named by X-Tenant, the path or the host; 400
        Preflight(cors),  # before anything else reads the request
        DocumentLimit(),  # 413, documents over the token or length limit
        ReadOperation(),  # the storefront operation, decoded once
        cache,  # anonymous reads answered from the store, no database
    ]
    behind: list[Middleware | None] = [
        Identity(runtime),  # tenant and caller, once: 400/404/403/401
        PersistedQueries(settings),  # hash to document, the allowlist
        Admission(schemas) if settings.front_admission else None,  # placeOrder storms
        None if cache is None else cache.fill,  # a miss's answer kept
    ]
    return (
        hooks,
        [layer for layer in front if layer is not None],
        [layer for layer in behind if layer is not None],
    )


def create_app(
    runtime: Runtime, *, worker: bool = True, manage_db: bool = True, debug: bool = False
) -> Front:
    """The app. ``manage_db`` opens/closes the pool in the lifespan; ``worker`` runs the
    durable job loop in-process; ``debug`` puts tracebacks in 500 responses (tests)."""
    store = make_store(runtime.settings) if runtime.settings.response_cache else None
    throttle = Throttle.for_settings(runtime.settings)
    schemas = SchemaCache(runtime.settings, on_write=None if store is None else store.invalidate)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if manage_db:
            await init_db(runtime.settings, runtime.registry)
        stop = asyncio.Event()
        task = asyncio.create_task(Worker(runtime).run_forever(stop)) if worker else None
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if manage_db:
                await close_db()
            if store is not None:
                await store.aclose()

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @post("/payments/{tenant:str}/{provider:str}/callback", status_code=200)
    async def payment_callback(
        request: Request[Any, Any, Any], provider: FromPath[str]
    ) -> Response[bytes]:
        """A gateway's notification; the tenant is in the path (gateways cannot send
        headers of ours), the answer is the provider's own."""
        tenant = current_tenant.get()
        assert tenant is not None
        try:  # a provider the shop disabled still settles the payments it made
            gateways.provider(tenant, provider, installed=True)
        except DomainError:
            return Response(b"unknown provider", status_code=404, media_type="text/plain")
        answer = await payments.notified(tenant, provider, request.headers, await request.body())
        return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)

    hooks, front, middleware = edge(runtime, schemas, store)
    app = Litestar(
        route_handlers=[
            _controller(runtime, schemas, throttle, "storefront", "/graphql"),
            _controller(runtime, schemas, throttle, "admin", "/admin/graphql"),
            health,
            payment_callback,
            *([] if runtime.settings.production else [graphiql_asset]),
        ],
        middleware=middleware,
        lifespan=[lifespan],
        state=State({"runtime": runtime, "schemas": schemas, "response_cache": store}),
        debug=debug,
    )
    return Front(app, front, hooks)


def serve_app() -> Front:
    """The app of one of several server processes (``yutang serve --workers N``): settings
    from the environment; jobs run in ``yutang worker`` beside them."""
    from yutang.core.runtime import build_runtime
    from yutang.core.settings import AppSettings

    return create_app(build_runtime(AppSettings.from_env()), worker=False)
