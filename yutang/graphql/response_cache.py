"""The storefront response cache: anonymous catalogue reads without GraphQL execution.

What is cached: a storefront ``query`` operation (GET or POST ``/graphql``) sent without
an ``Authorization`` header whose response is a 200 without ``errors``. Requests with a
member token, mutations and failed responses never are, so nothing member-specific
(member price, my orders, my coupons) is ever stored. A request whose ``Authorization``
is not a live token of the tenant's is answered 401 (``identity``) before anything runs.

The key is the tenant (slug, id, settings version, plugin set), the operation (its
sha256 and name) and its variables (canonical JSON). Each entry also belongs to a
*generation* of its tenant and of the whole deployment; lookups use the current
generations, so bumping one drops every older entry at once.

Exactness:

* Every admin mutation bumps its tenant's generation after it ran and before its
  response is sent (catalogue, price, publish state, plugin activities create/update/stop,
  the allowlist). A platform operator's mutation bumps the deployment's generation: it
  may change any tenant (plugin set, settings overrides, status).
* A miss reads the generations *before* executing, and stores under those: a write that
  commits while the miss executes bumps past them, so the possibly stale result is never
  served.
* An entry expires at ``min(now + YUTANG_RESPONSE_CACHE_TTL, the next price change any
  enabled plugin declares through yutang_next_price_change)``, on the core clock: a
  seckill session opening or closing ends every entry made before it.
* Writes outside admin mutations — orders placed, paid or cancelled, reservations and
  teams released by jobs, lottery draws — change only stock-like counts, never a price;
  a cached response shows them at most ``YUTANG_RESPONSE_CACHE_TTL`` (default 1 s) late.
  Placing an order always checks stock and price in its own transaction. Edits made
  outside the API (SQL, a changed ``plugins.toml``) are also covered only by that TTL.

The store (``cache_store``) is in-process with one worker, Redis when ``YUTANG_REDIS_URL``
is set; several workers without Redis refuse to start.

The hit path is a plain ASGI layer in front of litestar's router: no routing, no
dependency injection, no GraphQL, no database.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from cachetools import LRUCache
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from yutang.core import clock
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of
from yutang.core.runtime import Runtime
from yutang.core.tenancy import TENANT_STATE
from yutang.edge.asgi import ASGIApp, Message, Receive, Scope, Send, read_body, replay
from yutang.graphql.cache_store import Entry, Store
from yutang.graphql.identity import identified, refuse
from yutang.graphql.json_nesting import nesting_error
from yutang.graphql.persisted import PersistedQueries, operation_type, registered, sha256_hex

if TYPE_CHECKING:  # the admission layer reads schemas, whose module imports this one
    from yutang.graphql.admission import Admission

STOREFRONT_PATH = "/graphql"
NO_STORE = (b"cache-control", b"no-store")
REVALIDATE = (b"cache-control", b"public, no-cache")
VARY = (b"vary", b"X-Tenant, Authorization")

Invalidate = Callable[[str | None], Awaitable[None]]


class InvalidateOnWrite(SchemaExtension):
    """Admin schema extension: after a mutation, drop the tenant's cached responses (a
    platform operator's: every tenant's) before the response is returned."""

    def __init__(self, invalidate: Invalidate) -> None:
        super().__init__()
        self.invalidate = invalidate

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ec = self.execution_context
        if ec.operation_type is not OperationType.MUTATION:
            return
        principal = ec.context.cache.get("principal")
        operator = principal is not None and principal.kind == "operator"
        await self.invalidate(None if operator else ec.context.tenant.slug)


class GraphQLRequest(msgspec.Struct):
    """The parts of a GraphQL-over-HTTP request the cache looks at."""

    query: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = msgspec.field(default=None, name="operationName")
    extensions: dict[str, Any] | None = None

    def persisted_hash(self) -> str | None:
        """``extensions.persistedQuery.sha256Hash``, if sent."""
        persisted = (self.extensions or {}).get("persistedQuery")
        if isinstance(persisted, dict):
            value = persisted.get("sha256Hash")
            return value if isinstance(value, str) else None
        return None


_request_decoder = msgspec.json.Decoder(GraphQLRequest)
_object_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder(order="sorted")


def _from_query_string(raw: bytes) -> GraphQLRequest | None:
    """The request of a GET; the same hot URLs repeat, so short ones are memoised."""
    return _parsed(raw) if len(raw) <= 4096 else _parse(raw)


def _parse(raw: bytes) -> GraphQLRequest | None:
    params = dict(parse_qsl(raw.decode("latin-1")))
    variables = params.get("variables")
    extensions = params.get("extensions")
    if (variables and nesting_error(variables, ("variables",))) or (
        extensions and nesting_error(extensions, ("extensions",))
    ):
        return None  # refused by the controller
    try:
        return GraphQLRequest(
            query=params.get("query"),
            variables=_object_decoder.decode(variables) if variables else None,
            operation_name=params.get("operationName") or None,
            extensions=_object_decoder.decode(extensions) if extensions else None,
        )
    except msgspec.DecodeError:
        return None


_parsed = lru_cache(maxsize=1024)(_parse)


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return status, msgspec.json.encode(body)


class ResponseCache:
    """The ASGI layer in front of litestar: persisted queries and the response cache for
    ``/graphql``, ``Cache-Control: no-store`` on every other response."""

    def __init__(
        self, app: ASGIApp, runtime: Runtime, store: Store | None, admission: Admission
    ) -> None:
        self.app = app
        self.admission = admission
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = store
        self.persisted = PersistedQueries()
        # the cache key part of each tenant seen lately (slug → id, version, plugins)
        self._tenant_keys: LRUCache[str, str] = LRUCache(10_000)
        self._flights: dict[tuple[str, str, str], asyncio.Future[Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] != STOREFRONT_PATH or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, _with_header(send, NO_STORE))
            return
        headers = dict(scope["headers"])
        upstream = receive
        if scope["method"] == "GET":
            request = _from_query_string(scope["query_string"])
        else:
            body = await read_body(receive)  # bounded by the document limit in front
            receive = replay(body, upstream)
            try:  # a body nesting too deep goes on to its refusal by the controller
                request = None if nesting_error(body) else _request_decoder.decode(body)
            except msgspec.DecodeError:
                request = None
        if request is None or (request.query is None and request.persisted_hash() is None):
            await self.app(scope, receive, _with_header(send, NO_STORE))
            return
        named = headers.get(b"x-tenant")  # as the tenant middleware reads it
        slug = self.settings.default_tenant if named is None else named.decode("latin-1").strip()
        anonymous = b"authorization" not in headers
        sha = request.persisted_hash()
        if request.query is not None:  # a hash the text does not match goes on to its 400
            text_sha = sha256_hex(request.query)
            sha = text_sha if sha is None else (sha if sha == text_sha else None)
        generation: str | None = None
        key = ""
        tenant_key = self._tenant_keys.get(slug)
        if self.store is not None and anonymous and sha is not None and tenant_key is not None:
            key = _key(tenant_key, sha, request)
            generation, entry = await self.store.lookup(slug, key)
            if entry is not None and clock.now().timestamp() < entry.expires:
                await _send_hit(scope, headers, entry, send)
                return
            flight = (slug, generation, key)
            leader = self._flights.get(flight)
            if leader is not None:  # the same miss is being computed: wait for it
                entry = await asyncio.shield(leader)
                if entry is not None:
                    await _send_hit(scope, headers, entry, send)
                    return
            else:
                self._flights[flight] = asyncio.get_running_loop().create_future()
                entry = None
                try:
                    # A miss that ended while we looked up has stored its entry by now.
                    _, entry = await self.store.lookup(slug, key)
                    if entry is not None and clock.now().timestamp() < entry.expires:
                        await _send_hit(scope, headers, entry, send)
                        return
                    entry = await self._miss(
                        scope, (receive, upstream), send, request, slug, anonymous, generation, key
                    )
                finally:
                    self._flights.pop(flight).set_result(entry)
                return
        await self._miss(
            scope, (receive, upstream), send, request, slug, anonymous, generation, key
        )

    async def _miss(
        self,
        scope: Scope,
        receives: tuple[Receive, Receive],
        send: Send,
        request: GraphQLRequest,
        slug: str,
        anonymous: bool,
        generation: str | None,
        key: str,
    ) -> Entry | None:
        """Run the request through the app; the entry stored, if any."""
        receive, upstream = receives
        try:
            tenant = await self.runtime.tenants.by_slug(slug)
        except DomainError:  # the tenant middleware answers
            await self.app(scope, receive, _with_header(send, NO_STORE))
            return None
        state = scope.setdefault("state", {})
        state[TENANT_STATE] = tenant  # not looked up twice
        if not anonymous and not await identified(scope["headers"], state, tenant):
            await refuse(send)  # a made-up token is an error, not a way around the cache
            return None
        resolved = await self._resolve(tenant, request, anonymous)
        if isinstance(resolved, tuple):
            await _send_body(send, resolved[0], [NO_STORE], resolved[1])
            return None
        refusal = await self.admission.refusal(
            scope, tenant, resolved, request.variables, request.operation_name
        )
        if refusal is not None:
            await _send_body(send, 200, [NO_STORE], refusal)
            return None
        if resolved != request.query:
            scope, receive = _rewritten(scope, upstream, request, resolved)
        cacheable = (
            self.store is not None
            and anonymous
            and operation_type(resolved, request.operation_name) == "query"
        )
        if self.store is None or not cacheable:
            await self.app(scope, receive, _with_header(send, NO_STORE))
            return None
        tenant_key = self._tenant_keys[slug] = _tenant_key(tenant)
        fresh_key = _key(tenant_key, request.persisted_hash() or sha256_hex(resolved), request)
        if generation is None or fresh_key != key:  # first request of the tenant here
            generation, entry = await self.store.lookup(slug, fresh_key)
            if entry is not None and clock.now().timestamp() < entry.expires:
                await _send_hit(scope, dict(scope["headers"]), entry, send)
                return entry
        expires = await self._expiry(tenant)
        responder = _Capture(scope, send)
        await self.app(scope, receive, responder.send)
        entry = await responder.finish(expires)
        if entry is not None:
            await self.store.store(slug, generation, fresh_key, entry)
        return entry

    async def _resolve(
        self, tenant: TenantInfo, request: GraphQLRequest, anonymous: bool
    ) -> str | tuple[int, bytes]:
        """The query text to run, or an error response (status, body)."""
        sha = request.persisted_hash()
        text = request.query
        if sha is not None and text is not None and sha256_hex(text) != sha:
            return _error(400, "BAD_REQUEST", "provided sha does not match query")
        allowlist = anonymous and self.settings.persisted_queries == "allowlist"
        if text is not None and not allowlist:
            if sha is not None:
                self.persisted.remember(sha, text)
            return text
        sha = sha or (sha256_hex(text) if text else None)
        if sha is None:
            return _error(400, "BAD_REQUEST", "no query")
        found = None if allowlist else self.persisted.text(sha)
        found = found or await registered(tenant.id, sha)
        if found is not None:
            return found
        if allowlist and text is not None:
            return _error(403, "PERSISTED_QUERY_NOT_ALLOWED", "operation not registered")
        return _error(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")

    async def _expiry(self, tenant: TenantInfo) -> float:
        """Now plus the stock-lag bound, or the next price change if sooner."""
        now = clock.now()
        changes: list[datetime] = await hooks_of(tenant).call(
            "yutang_next_price_change", tenant=tenant, now=now
        )
        expires = now.timestamp() + self.settings.response_cache_ttl
        return min([expires, *(c.timestamp() for c in changes)])


def _tenant_key(tenant: TenantInfo) -> str:
    return f"{tenant.id}.{tenant.settings_version}.{','.join(sorted(tenant.plugins))}"


def _key(tenant_key: str, sha: str, request: GraphQLRequest) -> str:
    variables = _encoder.encode(request.variables or {}).decode()
    return f"{tenant_key}|{sha}|{request.operation_name or ''}|{variables}"


class _Capture:
    """Holds the app's response, decides whether it is cacheable, then sends it."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.downstream = send
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    async def finish(self, expires: float) -> Entry | None:
        """Send the held response; the entry to store, if it may be cached."""
        body = b"".join(self.chunks)
        if self.status == 200 and NO_STORE not in self.headers and _no_errors(body):
            entry = Entry(expires=expires, etag=_etag(body), body=body)
            await _send_entry(self.scope, dict(self.scope["headers"]), entry, self.downstream)
            return entry
        headers = [h for h in self.headers if h[0] != b"cache-control"]
        await self.downstream(
            {"type": "http.response.start", "status": self.status, "headers": [*headers, NO_STORE]}
        )
        await self.downstream({"type": "http.response.body", "body": body, "more_body": False})
        return None


def _no_errors(body: bytes) -> bool:
    try:
        return "errors" not in _object_decoder.decode(body)
    except msgspec.DecodeError:
        return False


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def _send_hit(scope: Scope, headers: dict[bytes, bytes], entry: Entry, send: Send) -> None:
    await _send_entry(scope, headers, entry, send, (b"x-yutang-cache", b"hit"))


async def _send_entry(
    scope: Scope,
    headers: dict[bytes, bytes],
    entry: Entry,
    send: Send,
    *marks: tuple[bytes, bytes],
) -> None:
    """A cacheable response: revalidation headers and 304 on a matching ETag for GET."""
    if scope["method"] != "GET":
        await _send_body(send, 200, [NO_STORE, *marks], entry.body)
        return
    extra = [REVALIDATE, (b"etag", entry.etag.encode()), VARY, *marks]
    if headers.get(b"if-none-match", b"").decode("latin-1") == entry.etag:
        await send({"type": "http.response.start", "status": 304, "headers": extra})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await _send_body(send, 200, extra, entry.body)


async def _send_body(
    send: Send, status: int, extra: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _with_header(send: Send, header: tuple[bytes, bytes]) -> Send:
    """``send`` adding ``header`` to the response unless it sets that header itself."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if all(name.lower() != header[0] for name, _ in headers):
                message = {**message, "headers": [*headers, header]}
        await send(message)

    return wrapped


def _rewritten(
    scope: Scope, receive: Receive, request: GraphQLRequest, text: str
) -> tuple[Scope, Receive]:
    """The request with the query text in place of a persisted hash; ``receive`` is the
    connection's own."""
    if scope["method"] == "GET":
        params = {"query": text, "operationName": request.operation_name or ""}
        if request.variables:
            params["variables"] = _encoder.encode(request.variables).decode()
        query_string = urlencode({k: v for k, v in params.items() if v}).encode()
        return {**scope, "query_string": query_string}, receive
    body = _encoder.encode(
        {"query": text, "variables": request.variables, "operationName": request.operation_name}
    )
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    return {**scope, "headers": headers}, replay(body, receive)
