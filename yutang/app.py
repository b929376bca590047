"""The litestar application: tenant middleware, both GraphQL endpoints, payment callbacks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import msgspec
from litestar import Litestar, Request, get, post
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send
from strawberry.litestar import make_graphql_controller

from yutang.core.contract import TenantInfo
from yutang.core.db import close_db, init_db
from yutang.core.errors import DomainError
from yutang.core.payments import providers, record_capture
from yutang.core.plugins import hooks_of
from yutang.core.runtime import Runtime
from yutang.core.tenancy import TENANT_STATE, current_tenant
from yutang.core.throttle import Throttle
from yutang.core.worker import Worker
from yutang.edge.documents import DocumentLimit
from yutang.edge.headers import SecurityHeaders
from yutang.graphql.admission import Admission
from yutang.graphql.cache_store import make_store
from yutang.graphql.context import context_getter_for
from yutang.graphql.identity import IdentityMiddleware
from yutang.graphql.json_nesting import BoundedJSON
from yutang.graphql.response_cache import ResponseCache
from yutang.graphql.schema import SchemaCache

_encoder = msgspec.json.Encoder()


class TenantMiddleware(ASGIMiddleware):
    """Resolve the request's tenant from ``X-Tenant`` (gateway callbacks: the path; else
    the demo tenant) into a ContextVar; set here, in the handler's task, so every
    resolver sees it."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"] == "/health":
            await next_app(scope, receive, send)
            return
        slug = self.runtime.settings.default_tenant
        path = scope["path"]
        if path.startswith("/payments/"):
            slug = path.split("/")[2]
        for key, value in scope["headers"]:
            if key == b"x-tenant":
                slug = value.decode("latin-1").strip()
                break
        try:
            tenant = scope.get("state", {}).get(TENANT_STATE) or await self.runtime.tenants.by_slug(
                slug
            )
        except DomainError as err:
            status = 404 if err.code == "NOT_FOUND" else 403
            body = _encoder.encode(
                {"errors": [{"code": err.code, "field": err.field, "message": err.message}]}
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        token = current_tenant.set(tenant)
        try:
            await next_app(scope, receive, send)
        finally:
            current_tenant.reset(token)


def _controller(
    runtime: Runtime, schemas: SchemaCache, throttle: Throttle, surface: str, path: str
) -> type:
    """A GraphQL controller whose schema is the current tenant's for ``surface``."""
    from yutang.core.plugins import CORE_PLUGIN

    fallback = schemas.get(surface, runtime.registry.plugin_set([CORE_PLUGIN]))
    base: Any = make_graphql_controller(
        fallback,
        path=path,
        context_getter=context_getter_for(runtime, throttle),
        graphql_ide=None if runtime.settings.production else "graphiql",
    )

    class TenantGraphQL(BoundedJSON, base):  # type: ignore[misc]
        @property
        def schema(self) -> Any:
            """Read per request; litestar also reads it at registration (no tenant yet)."""
            tenant: TenantInfo | None = current_tenant.get()
            return fallback if tenant is None else schemas.get(surface, hooks_of(tenant))

        def encode_json(self, data: object) -> bytes:
            return _encoder.encode(data)

    return TenantGraphQL


def create_app(
    runtime: Runtime, *, worker: bool = True, manage_db: bool = True, debug: bool = False
) -> Litestar:
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
    ) -> dict[str, str]:
        """A gateway's asynchronous confirmation; the tenant is in the path (gateways
        cannot send headers of ours)."""
        tenant = current_tenant.get()
        assert tenant is not None
        gateway = providers(tenant).get(provider)
        if gateway is None:
            return {"status": "unknown provider"}
        capture = await gateway.verify_callback(dict(request.headers), await request.body())
        if capture is None:
            return {"status": "rejected"}
        await record_capture(tenant, provider, capture.reference, capture.amount)
        return {"status": "ok"}

    app = Litestar(
        route_handlers=[
            _controller(runtime, schemas, throttle, "storefront", "/graphql"),
            _controller(runtime, schemas, throttle, "admin", "/admin/graphql"),
            health,
            payment_callback,
        ],
        middleware=[TenantMiddleware(runtime), IdentityMiddleware()],
        lifespan=[lifespan],
        state=State({"runtime": runtime, "schemas": schemas, "response_cache": store}),
        debug=debug,
    )
    # The request edge (yutang.edge), in front of the router: a refused document, a cache
    # hit or a refused placeOrder costs no routing, no DI, no GraphQL.
    front = ResponseCache(cast(Any, app.asgi_handler), runtime, store, Admission(schemas))
    edge = SecurityHeaders(DocumentLimit(front), runtime.settings)
    app.asgi_handler = cast(Any, edge)
    return app


def serve_app() -> Litestar:
    """The app of one of several server processes (``yutang serve --workers N``): settings
    from the environment; jobs run in ``yutang worker`` beside them."""
    from yutang.core.runtime import build_runtime
    from yutang.core.settings import AppSettings

    return create_app(build_runtime(AppSettings.from_env()), worker=False)
