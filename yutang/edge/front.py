"""The edge's front: the layers that answer before routing, as plain ASGI around the app.

A cache hit, a refused body and a preflight need no route, no dependency injection and
no exception handler, so they are answered here, in front of litestar's router: an
``ASGI`` application wrapping another is how ASGI composes, and litestar is that inner
application untouched. The response hooks (security headers, CORS) wrap ``send`` here,
so whatever answers — a front layer, a litestar middleware, GraphQL, litestar's own
404/405 — passes them. Lifespan and websocket scopes go straight to litestar.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, cast

from litestar import Litestar

from yutang.edge.asgi import ASGIApp, Hook, Layer, Message, Scope, Send


class Front:
    """``app`` behind ``layers`` (outermost first), every response through ``hooks``.

    It is the application servers and tests call; ``app`` and ``state`` are litestar's."""

    def __init__(self, app: Litestar, layers: Sequence[Layer], hooks: Sequence[Hook]) -> None:
        self.app = app
        self.state = app.state
        self._hooks = tuple(hooks)
        handler = cast(ASGIApp, app)
        for layer in reversed(layers):
            handler = partial(layer.serve, next_app=handler)  # no frame of its own
        self._http = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # the hooks change only HTTP responses
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        await self._http(scope, receive, self._hooked(send, scope))

    def _hooked(self, send: Send, scope: Scope) -> Send:
        hooks = self._hooks

        async def hooked(message: Message) -> None:
            if message["type"] == "http.response.start":
                for hook in hooks:
                    await hook(message, scope)
            await send(message)

        return hooked
