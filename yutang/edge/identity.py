"""Who a request is for and from, resolved once before anything else looks.

The tenant is the one the request names (``naming``: ``X-Tenant``, a payment callback's
path or a tenant's own domain; none: the deployment's default tenant). The caller: a
request to a GraphQL endpoint without ``Authorization`` is anonymous; one with it must
carry ``Bearer`` and a live token of this tenant's (or a platform operator's). Anything
else — unknown, expired, revoked at logout or by a password change, a deactivated staff
member's, another tenant's, another scheme — is answered ``401`` with the GraphQL error
code ``UNAUTHENTICATED``, so a frontend learns its session ended, and a made-up header is
an error rather than a way around the anonymous response cache. An unknown tenant is
answered 404, a suspended one 403; names that disagree 400 (``naming``, in front; here
for a websocket, which no front layer sees).

What is found is one :class:`RequestIdentity` in the scope's state, which every layer
behind and the GraphQL context read; the tenant is also set in ``current_tenant`` here, in
the handler's task, so schema selection and every resolver see it. ``/health`` and
``OPTIONS`` (answered by litestar, or by the CORS preflight) belong to no tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec
from litestar.enums import ScopeType

from yutang.core.auth import Principal, principal_for
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.runtime import Runtime
from yutang.core.tenancy import current_tenant
from yutang.edge.asgi import ASGIApp, Layer, Receive, Scope, Send, send_json
from yutang.edge.naming import TWO_TENANTS, slug_of, tenant_named

IDENTITY = "yutang.identity"
"""The scope's state key of the request's :class:`RequestIdentity`."""
GRAPHQL_PATHS = frozenset({"/graphql", "/admin/graphql"})
UNAUTHENTICATED = msgspec.json.encode(
    {
        "errors": [
            {
                "message": "the session has ended or the token is not valid; log in again",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
)


@dataclass(frozen=True)
class RequestIdentity:
    """The request's tenant and caller (None: anonymous), and the bearer token sent."""

    tenant: TenantInfo
    principal: Principal | None = None
    token: str | None = None

    @property
    def anonymous(self) -> bool:
        """No caller: what the response cache may answer for."""
        return self.principal is None


def identity_of(scope: Mapping[str, object]) -> RequestIdentity | None:
    """The identity the :class:`Identity` layer resolved for this request, if it ran."""
    state = scope.get("state")
    found = state.get(IDENTITY) if isinstance(state, dict) else None
    return found if isinstance(found, RequestIdentity) else None


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    for key, value in headers:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


async def tenant_principal(token: str | None, tenant: TenantInfo) -> Principal | None:
    """The caller behind ``token`` if it may act for ``tenant``: one of its members or
    staff, or a platform operator."""
    found = await principal_for(token) if token else None
    if found is not None and found.kind != "operator" and found.tenant_id != tenant.id:
        return None
    return found


class Identity(Layer):
    """Resolves the tenant and the caller into the scope's :class:`RequestIdentity`."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"] == "/health" or scope.get("method") == "OPTIONS":
            await next_app(scope, receive, send)  # no tenant's: litestar answers OPTIONS
            return
        slug = slug_of(scope) or await tenant_named(scope, self.runtime)  # a websocket: here
        if slug is None:
            await send_json(send, 400, TWO_TENANTS)
            return
        try:
            tenant = await self.runtime.tenants.by_slug(slug)
        except DomainError as err:
            body = {"errors": [{"code": err.code, "field": err.field, "message": err.message}]}
            await send_json(
                send, 404 if err.code == "NOT_FOUND" else 403, msgspec.json.encode(body)
            )
            return
        identity = RequestIdentity(tenant)
        if scope["path"] in GRAPHQL_PATHS:
            token = bearer_token(scope["headers"])
            principal = await tenant_principal(token, tenant) if token else None
            sent = any(key == b"authorization" for key, _ in scope["headers"])
            if sent and principal is None and scope["type"] == ScopeType.HTTP:
                await send_json(
                    send,
                    401,
                    UNAUTHENTICATED,
                    (b"www-authenticate", b'Bearer error="invalid_token"'),
                )
                return
            identity = RequestIdentity(tenant, principal, token)
        scope.setdefault("state", {})[IDENTITY] = identity
        reset = current_tenant.set(tenant)
        try:
            await next_app(scope, receive, send)
        finally:
            current_tenant.reset(reset)
