"""Security headers on every HTTP response, and ``Cache-Control: no-store`` by default.

A hook on ``send`` in the edge's front (``front.Front``), which wraps the connection's
``send`` before any layer, litestar's router and its exception handler, so error
responses, litestar's own 404/405, ``/health``, payment callbacks, GraphiQL and whatever
an edge layer answers itself get the headers too. The header list is built once.

A response that does not say how it may be cached (a cache hit does, ``Cache-Control:
public, no-cache``) gets ``no-store``: nothing but the response cache's own answers may be
kept by a browser or a proxy.
"""

from __future__ import annotations

from yutang.core.settings import AppSettings
from yutang.edge.asgi import NO_STORE, Message, Scope, header


def security_headers(settings: AppSettings) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response carries; HSTS when ``hsts_seconds`` is set."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if settings.hsts_seconds:
        value = f"max-age={settings.hsts_seconds}".encode()
        headers.append((b"strict-transport-security", value))
    return tuple(headers)


class SecurityHeaders:
    """Adds :func:`security_headers` (and the default ``no-store``) to every response."""

    def __init__(self, settings: AppSettings) -> None:
        self.headers = security_headers(settings)

    async def __call__(self, message: Message, scope: Scope) -> None:
        headers = message.get("headers", ())
        if header(headers, NO_STORE[0]) is not None:  # ASGI header names are lower-case
            message["headers"] = [*headers, *self.headers]
        else:
            message["headers"] = [*headers, NO_STORE, *self.headers]
