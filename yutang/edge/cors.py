"""CORS: a browser storefront on another origin may call the API.

The origins are the deployment's (``YUTANG_CORS_ORIGINS``, comma-separated, ``*`` for any;
none by default) and each tenant's own, set with its domains (``yutang.core.domains``): a
tenant's origins apply to the requests that name it, a preflight included, which names
its tenant by its host, a tenant's own domain. Two parts, each where nothing can answer
past it:

* :meth:`Cors.__call__` is a hook on ``send`` in the edge's front, so every response — cache
  hits, refusals of the edge layers, 413, persisted-query errors, litestar's own 404/405,
  GraphQL answers — carries ``Access-Control-Allow-Origin`` for an allowed ``Origin``, the
  headers a frontend may read, and ``Vary: Origin``.
* :class:`Preflight` is the outermost layer: an allowed origin's preflight is
  answered before any other layer looks (a preflight carries no ``X-Tenant`` and no
  token). A disallowed origin gets no CORS header at all, so the browser refuses.

The requests it allows carry the headers the API reads: ``Content-Type``,
``Authorization``, ``X-Tenant`` and ``If-None-Match``. No credentials (cookies) are used:
the caller is the bearer token.
"""

from __future__ import annotations

from yutang.core.domains import Domains
from yutang.edge.asgi import ASGIApp, Layer, Message, Receive, Scope, Send, header
from yutang.edge.naming import slug_of

ALLOW_METHODS = b"GET, POST, OPTIONS"
ALLOW_HEADERS = b"authorization, content-type, if-none-match, x-tenant"
EXPOSE_HEADERS = b"etag, www-authenticate, x-yutang-cache"
MAX_AGE = b"600"
VARY_ORIGIN = (b"vary", b"Origin")
NONE: frozenset[str] = frozenset()


def origins(setting: str) -> frozenset[str]:
    """The allowed origins of ``YUTANG_CORS_ORIGINS``, as browsers serialise them."""
    return frozenset(o.strip().rstrip("/").lower() for o in setting.split(",") if o.strip())


class Cors:
    """The deployment's allowed origins and each tenant's, and the headers a response
    gets for them."""

    def __init__(self, allowed: frozenset[str], domains: Domains) -> None:
        self.allowed = allowed
        self.any = "*" in allowed
        self.domains = domains

    async def allows(self, origin: bytes | None, scope: Scope) -> bool:
        """Whether a request from ``origin`` may read the response: the deployment
        allows it, or the tenant the request names (by its host, for a preflight) does."""
        if origin is None:
            return False
        name = origin.decode("latin-1").lower()
        return self.any or name in self.allowed or name in await self._tenant_origins(scope)

    async def _tenant_origins(self, scope: Scope) -> frozenset[str]:
        slug = slug_of(scope)
        if slug is None:
            return NONE
        remembered = self.domains.remembered_origins(slug)
        return remembered if remembered is not None else await self.domains.origins_of(slug)

    async def __call__(self, message: Message, scope: Scope) -> None:
        """The hook on ``send``: CORS headers on every response to an allowed origin, and
        ``Vary: Origin`` on every response where some origin would be allowed."""
        slug = slug_of(scope)
        remembered = NONE if slug is None else self.domains.remembered_origins(slug)
        tenant = remembered if remembered is not None else await self._tenant_origins(scope)
        if not (self.allowed or tenant):
            return
        headers = [*message.get("headers", ()), VARY_ORIGIN]
        origin = header(scope["headers"], b"origin")
        if origin is not None:
            name = origin.decode("latin-1").lower()
            if self.any or name in self.allowed or name in tenant:
                headers += [
                    (b"access-control-allow-origin", origin),
                    (b"access-control-expose-headers", EXPOSE_HEADERS),
                ]
        message["headers"] = headers


class Preflight(Layer):
    """Answers an allowed origin's preflight (``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``) with 204 and what it may send."""

    def __init__(self, cors: Cors) -> None:
        self.cors = cors

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = scope["headers"]
        if (
            scope["method"] != "OPTIONS"
            or header(headers, b"access-control-request-method") is None
            or not await self.cors.allows(header(headers, b"origin"), scope)
        ):
            await next_app(scope, receive, send)
            return
        answer = [
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", ALLOW_HEADERS),
            (b"access-control-max-age", MAX_AGE),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": answer})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
