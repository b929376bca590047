"""Plain ASGI types and the request-body helpers the edge layers share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, overload

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
