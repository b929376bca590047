"""The tenant a request names, read once in front of every layer that asks.

A request names its tenant by ``X-Tenant``, by a payment gateway's callback path
(``/payments/{tenant}/…``: gateways cannot send our headers) or by its host, when the
host is one of a tenant's own domains (``yutang.core.domains``); a request that names
none is the deployment's default tenant's. Names that disagree — two ``X-Tenant``
headers, or a header naming another tenant than the host's domain — are answered 400:
one layer reading one name and another layer the other could answer one tenant's
request as another's.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from yutang.core.runtime import Runtime
from yutang.edge.asgi import ASGIApp, Layer, Receive, Scope, Send, send_json

SLUG = "yutang.slug"
"""The scope's state key of the slug the request names."""
TENANT_HEADER = b"x-tenant"
TWO_TENANTS = msgspec.json.encode(
    {
        "errors": [
            {
                "code": "BAD_REQUEST",
                "field": "X-Tenant",
                "message": "the request names two tenants: send one X-Tenant header, and on a "
                "tenant's own domain only that tenant's",
            }
        ]
    }
)


async def tenant_named(scope: Scope, runtime: Runtime) -> str | None:
    """The slug the request names (the default tenant's if none); None when its names
    disagree."""
    header: bytes | None = None
    host: bytes | None = None
    for key, value in scope["headers"]:
        if key == TENANT_HEADER:
            if header is not None:
                return None
            header = value
        elif key == b"host":
            host = value
    named = None if header is None else header.decode("latin-1").strip()
    path: str = scope["path"]
    if path.startswith("/payments/"):
        in_path = path.split("/")[2]
        if named is not None and named != in_path:
            return None
        named = in_path
    if host is not None:
        remembered = runtime.domains.remembered_host(host)
        owner = (
            remembered[1] if remembered is not None else await runtime.domains.tenant_of_host(host)
        )
        if owner is not None:
            if named is not None and named != owner:
                return None
            named = owner
    return runtime.settings.default_tenant if named is None else named


def slug_of(scope: Mapping[str, object]) -> str | None:
    """The slug :class:`NameTenant` found for this request, if it ran."""
    state = scope.get("state")
    found = state.get(SLUG) if isinstance(state, dict) else None
    return found if isinstance(found, str) else None


class NameTenant(Layer):
    """Finds the tenant a request names for every layer behind; 400 when its names
    disagree. ``/health`` belongs to no tenant and goes on unread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"] != "/health":
            slug = await tenant_named(scope, self.runtime)
            if slug is None:
                await send_json(send, 400, TWO_TENANTS)
                return
            scope.setdefault("state", {})[SLUG] = slug
        await next_app(scope, receive, send)
