"""Plain ASGI types and the request and response helpers the edge layers share."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast, overload

from litestar import types as litestar_types
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = Iterable[tuple[bytes, bytes]]
Hook = Callable[[Message, Scope], Awaitable[None]]
"""A hook on ``send``: may change a response's ``http.response.start`` message (its
status and headers) before it is sent; body messages pass untouched."""

NO_STORE = (b"cache-control", b"no-store")

EDGE_EXEMPT = "edge_exempt"
"""A route handler's ``opt`` key: its requests are no tenant's and no GraphQL (the
IDE's static files), so every edge layer hands them straight on."""


class Layer(ASGIMiddleware):
    """An edge layer: litestar middleware (HTTP only unless ``scopes`` says otherwise)
    written over plain ASGI dicts, as the edge reads and answers them; a route handler
    with :data:`EDGE_EXEMPT` in its ``opt`` passes every layer untouched."""

    scopes: tuple[ScopeType, ...] = (ScopeType.HTTP,)
    exclude_opt_key = EDGE_EXEMPT

    async def handle(
        self,
        scope: litestar_types.Scope,
        receive: litestar_types.Receive,
        send: litestar_types.Send,
        next_app: litestar_types.ASGIApp,
    ) -> None:
        await self.serve(
            cast(Scope, scope), cast(Receive, receive), cast(Send, send), cast(ASGIApp, next_app)
        )

    @abstractmethod
    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Answer the request, or hand it on to ``next_app``."""


@overload
async def read_body(receive: Receive) -> bytes: ...


@overload
async def read_body(receive: Receive, limit: int) -> bytes | None: ...


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The request body; None past ``limit`` bytes, if given."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` giving ``body`` once, then the connection's own messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def header(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case), if sent."""
    for key, value in headers:
        if key == name:
            return value
    return None


async def send_json(send: Send, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    """A complete JSON response; ``Cache-Control: no-store`` unless ``extra`` says otherwise."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra if any(name == NO_STORE[0] for name, _ in extra) else (*extra, NO_STORE)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
