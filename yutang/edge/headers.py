"""Security headers on every HTTP response, and one ``X-Tenant`` per request.

The outermost layer, so error responses, ``/health``, payment callbacks, GraphiQL and
whatever the inner layers answer themselves get the headers too. The header list is
built once; a response costs one copied message and list.

Two ``X-Tenant`` headers are refused with 400: the tenant middleware read the first and
the response cache the last, so such a request could be cached under one tenant and
answered as another.
"""

from __future__ import annotations

import msgspec

from yutang.core.settings import AppSettings
from yutang.edge.asgi import ASGIApp, Message, Receive, Scope, Send

TENANT_HEADER = b"x-tenant"
_TWO_TENANTS = msgspec.json.encode(
    {
        "errors": [
            {
                "code": "BAD_REQUEST",
                "field": "X-Tenant",
                "message": "send one X-Tenant header, not several",
            }
        ]
    }
)


def security_headers(settings: AppSettings) -> list[tuple[bytes, bytes]]:
    """The headers every response carries; HSTS when ``hsts_seconds`` is set."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if settings.hsts_seconds:
        value = f"max-age={settings.hsts_seconds}".encode()
        headers.append((b"strict-transport-security", value))
    return headers


class SecurityHeaders:
    """Adds :func:`security_headers` to every HTTP response; refuses two ``X-Tenant``."""

    def __init__(self, app: ASGIApp, settings: AppSettings) -> None:
        self.app = app
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        if _several_tenants(scope["headers"]):
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TWO_TENANTS)).encode()),
                (b"cache-control", b"no-store"),
            ]
            await with_headers({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": _TWO_TENANTS, "more_body": False})
            return
        await self.app(scope, receive, with_headers)


def _several_tenants(headers: list[tuple[bytes, bytes]]) -> bool:
    seen = False
    for name, _ in headers:
        if name == TENANT_HEADER:
            if seen:
                return True
            seen = True
    return False
