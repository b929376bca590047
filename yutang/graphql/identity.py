"""Who is calling, resolved once per request before GraphQL runs.

A request without ``Authorization`` is anonymous. One with it must carry ``Bearer`` and a
live token of this tenant's (or a platform operator's); anything else — unknown,
expired, revoked at logout or by a password change, a deactivated staff member's,
another tenant's, another scheme — is answered ``401`` with the GraphQL error code
``UNAUTHENTICATED``, so a frontend learns its session ended, and a made-up header is an
error rather than a way around the anonymous response cache. The caller found is left
in the scope's state, where the request's context takes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from yutang.core.contract import TenantInfo
from yutang.core.tenancy import current_tenant
from yutang.graphql.context import PRINCIPAL_STATE, bearer_token, tenant_principal

GRAPHQL_PATHS = frozenset({"/graphql", "/admin/graphql"})
REFUSAL = msgspec.json.encode(
    {
        "errors": [
            {
                "message": "the session has ended or the token is not valid; log in again",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
)


async def identified(
    headers: Iterable[tuple[bytes, bytes]], state: dict[str, Any], tenant: TenantInfo
) -> bool:
    """False when the request sent an ``Authorization`` header that stands for no one of
    ``tenant``'s; the caller (None: anonymous) is left in the scope's ``state`` either way."""
    headers = list(headers)
    if PRINCIPAL_STATE not in state:
        token = bearer_token(headers)
        state[PRINCIPAL_STATE] = await tenant_principal(token, tenant) if token else None
    sent = any(key == b"authorization" for key, _ in headers)
    return not sent or state[PRINCIPAL_STATE] is not None


async def refuse(send: Callable[[Any], Awaitable[None]]) -> None:
    """Answer 401 UNAUTHENTICATED."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(REFUSAL)).encode()),
        (b"www-authenticate", b'Bearer error="invalid_token"'),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": REFUSAL, "more_body": False})


class IdentityMiddleware(ASGIMiddleware):
    """Refuses GraphQL requests whose bearer token stands for no one (after the tenant
    middleware: a token is checked against the request's tenant)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        tenant = current_tenant.get()
        if scope["path"] in GRAPHQL_PATHS and tenant is not None:
            state: dict[str, Any] = scope.setdefault("state", {})
            if not await identified(scope["headers"], state, tenant):
                await refuse(send)
                return
        await next_app(scope, receive, send)
