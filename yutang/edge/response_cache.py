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

Two layers share the cache. :class:`ResponseCache` looks up in front of the identity
layer: a hit is found from the ``X-Tenant`` slug and the key part of that tenant seen
last (the first request of a tenant on a worker asks the tenant resolver once), so it
costs no database, no GraphQL, no dependency injection. A miss goes on
through identity, persisted queries and admission to :class:`CacheFill`, the last layer,
which knows from what they handed on (the tenant, the operation's resolved document)
whether the answer may be kept, computes its expiry before GraphQL runs, and stores it
under the generations the lookup read.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from yutang.core import clock
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of
from yutang.core.runtime import Runtime
from yutang.edge.asgi import (
    NO_STORE,
    ASGIApp,
    Layer,
    Message,
    Receive,
    Scope,
    Send,
    header,
    send_json,
)
from yutang.edge.cache_store import Entry, Store
from yutang.edge.identity import identity_of
from yutang.edge.naming import slug_of
from yutang.edge.operation import GraphQLRequest, Operation, operation_of, sha256_hex
from yutang.edge.persisted import operation_type

MISS = "yutang.cache_miss"
"""The scope's state key of a lookup's :class:`Miss`, for :class:`CacheFill`."""
MAX_TENANTS = 10_000
"""Tenants whose key part a worker keeps."""
JSON_TYPE = (b"content-type", b"application/json")
REVALIDATE = (b"cache-control", b"public, no-cache")
VARY = (b"vary", b"X-Tenant, Authorization")

_object_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder(order="sorted")


@dataclass
class Miss:
    """A lookup that missed: the tenant's slug and the generations read before the
    request ran, and the entry the fill layer stored (for requests waiting on it)."""

    slug: str
    generation: str
    entry: Entry | None = None


class ResponseCache(Layer):
    """Answers anonymous storefront reads from the store; its :attr:`fill` layer keeps
    the answers of misses."""

    def __init__(self, runtime: Runtime, store: Store) -> None:
        self.settings = runtime.settings
        self.tenants = runtime.tenants
        self.store = store
        # the cache key part of each tenant seen lately (slug → id, version, plugins): a
        # plain dict, emptied when full, as an LRU's bookkeeping costs a hit 1 µs
        self.tenant_keys: dict[str, str] = {}
        self._flights: dict[tuple[str, str, str], asyncio.Future[Entry | None]] = {}
        self.fill = CacheFill(self)

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        operation = operation_of(scope)
        slug = slug_of(scope)
        sha = None if operation is None else operation.sha256
        anonymous = header(scope["headers"], b"authorization") is None
        if operation is None or slug is None or sha is None or not anonymous:
            await next_app(scope, receive, send)
            return
        tenant_key = self.tenant_keys.get(slug) or await self._tenant_key(slug)
        key = "" if tenant_key is None else _key(tenant_key, sha, operation.request)
        generation, entry = await self.store.lookup(slug, key)
        if entry is not None and clock.now().timestamp() < entry.expires:
            await _send_hit(scope, entry, send)
            return
        if tenant_key is None:  # no such tenant, or suspended: identity answers
            await _miss(scope, receive, send, next_app, Miss(slug, generation))
            return
        flight = (slug, generation, key)
        leader = self._flights.get(flight)
        if leader is not None:  # the same miss is being computed: wait for it
            entry = await asyncio.shield(leader)
            if entry is not None:
                await _send_hit(scope, entry, send)
                return
            await _miss(scope, receive, send, next_app, Miss(slug, generation))
            return
        self._flights[flight] = asyncio.get_running_loop().create_future()
        entry = None
        try:
            # A miss that ended while we looked up has stored its entry by now.
            _, entry = await self.store.lookup(slug, key)
            if entry is not None and clock.now().timestamp() < entry.expires:
                await _send_hit(scope, entry, send)
                return
            entry = await _miss(scope, receive, send, next_app, Miss(slug, generation))
        finally:
            self._flights.pop(flight).set_result(entry)

    async def _tenant_key(self, slug: str) -> str | None:
        """The key part of a tenant this worker has not answered for yet (the tenant
        resolver's cache makes this one query per worker and tenant)."""
        try:
            tenant = await self.tenants.by_slug(slug)
        except DomainError:
            return None
        return self.remember(slug, tenant)

    def remember(self, slug: str, tenant: TenantInfo) -> str:
        """Keep and return the key part of ``tenant``, known by ``slug``."""
        if len(self.tenant_keys) >= MAX_TENANTS:
            self.tenant_keys.clear()
        found = self.tenant_keys[slug] = _tenant_key(tenant)
        return found

    async def expiry(self, tenant: TenantInfo) -> float:
        """Now plus the stock-lag bound, or the next price change if sooner."""
        now = clock.now()
        changes: list[datetime] = await hooks_of(tenant).call(
            "yutang_next_price_change", tenant=tenant, now=now
        )
        expires = now.timestamp() + self.settings.response_cache_ttl
        return min([expires, *(c.timestamp() for c in changes)])


async def _miss(
    scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, miss: Miss
) -> Entry | None:
    """Run the request through the layers behind; the entry the fill layer stored."""
    scope.setdefault("state", {})[MISS] = miss
    await next_app(scope, receive, send)
    return miss.entry


class CacheFill(Layer):
    """The last layer: keeps the answer of a lookup's miss if it may be cached."""

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        miss = scope.get("state", {}).get(MISS)
        held = _cacheable(scope)
        if not isinstance(miss, Miss) or held is None:
            await next_app(scope, receive, send)
            return
        tenant, operation = held
        expires = await self.cache.expiry(tenant)  # before it runs: a price change ends it
        capture = _Capture(scope, send)
        await next_app(scope, receive, capture.send)
        miss.entry = await capture.finish(expires)
        if miss.entry is not None:
            tenant_key = self.cache.remember(miss.slug, tenant)
            sha = operation.request.persisted_hash() or sha256_hex(operation.text or "")
            key = _key(tenant_key, sha, operation.request)
            await self.cache.store.store(miss.slug, miss.generation, key, miss.entry)


def _tenant_key(tenant: TenantInfo) -> str:
    return f"{tenant.id}.{tenant.settings_version}.{','.join(sorted(tenant.plugins))}"


def _key(tenant_key: str, sha: str, request: GraphQLRequest) -> str:
    variables = _encoder.encode(request.variables or {}).decode()
    return f"{tenant_key}|{sha}|{request.operation_name or ''}|{variables}"


def _cacheable(scope: Scope) -> tuple[TenantInfo, Operation] | None:
    """The tenant and resolved operation of a request whose answer may be kept: an
    anonymous query, as the layers behind resolved it."""
    identity = identity_of(scope)
    operation = operation_of(scope)
    if identity is None or not identity.anonymous or operation is None or operation.text is None:
        return None
    if operation_type(operation.text, operation.request.operation_name) != "query":
        return None
    return identity.tenant, operation


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
            await _send_entry(self.scope, entry, self.downstream)
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


async def _send_hit(scope: Scope, entry: Entry, send: Send) -> None:
    await _send_entry(scope, entry, send, (b"x-yutang-cache", b"hit"))


async def _send_entry(scope: Scope, entry: Entry, send: Send, *marks: tuple[bytes, bytes]) -> None:
    """A cacheable response: revalidation headers and 304 on a matching ETag for GET."""
    if scope["method"] != "GET":
        await send_json(send, 200, entry.body, NO_STORE, *marks)
        return
    etag = entry.etag.encode()
    if header(scope["headers"], b"if-none-match") == etag:
        headers = [REVALIDATE, (b"etag", etag), VARY, *marks]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    length = (b"content-length", str(len(entry.body)).encode())
    headers = [JSON_TYPE, length, REVALIDATE, (b"etag", etag), VARY, *marks]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body, "more_body": False})
