"""The per-request GraphQL context: tenant, caller, and DataLoaders made per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

import msgspec
from litestar.types import Scope
from strawberry.dataloader import DataLoader
from strawberry.litestar.controller import BaseContext

from yutang.core.accounts import Gate
from yutang.core.auth import Principal
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.proxies import Network, client_address, trusted_networks
from yutang.core.runtime import Runtime
from yutang.core.throttle import Throttle
from yutang.edge.identity import identity_of, tenant_principal
from yutang.edge.operation import operation_of

LoadFn = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]


def request_client(scope: Scope, trusted: Sequence[Network]) -> str:
    """The client address of a request (``X-Forwarded-For`` only from ``trusted``)."""
    peer = scope.get("client")
    forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
    return client_address(peer[0] if peer else None, forwarded, trusted)


class Context(BaseContext, kw_only=True):
    """What every resolver gets as ``info.context``."""

    runtime: Runtime
    tenant: TenantInfo
    throttle: Throttle
    client: str
    token: str | None = None
    admitted: bool = False
    loaders: dict[Hashable, DataLoader[Any, Any]] = msgspec.field(default_factory=dict)
    cache: dict[str, Any] = msgspec.field(default_factory=dict)

    def loader(self, key: Hashable, load: LoadFn) -> DataLoader[Any, Any]:
        """The request's DataLoader for ``key`` (created on first use; never shared
        across requests, so nothing leaks between tenants)."""
        found = self.loaders.get(key)
        if found is None:
            found = self.loaders[key] = DataLoader(load_fn=load)
        return found

    def no_store(self) -> None:
        """Keep this response out of every cache: it is for one visitor although it has no
        member token (a guest's cart by its token)."""
        if self.response is not None:
            self.response.headers["Cache-Control"] = "no-store"

    @property
    def gate(self) -> Gate:
        """How this request's logins are held (its client address, the app's counters)."""
        return Gate(self.throttle, self.client, self.runtime.settings.token_days)

    async def principal(self) -> Principal | None:
        """The caller behind the bearer token, if any (looked up once per request)."""
        if "principal" not in self.cache:
            self.cache["principal"] = await tenant_principal(self.token, self.tenant)
        principal: Principal | None = self.cache["principal"]
        return principal

    async def member_id(self) -> int:
        """The logged-in member of this tenant; UNAUTHENTICATED otherwise."""
        p = await self.principal()
        if p is None or p.kind != "member":
            raise DomainError("UNAUTHENTICATED", "log in as a member first")
        return p.id

    async def optional_member_id(self) -> int | None:
        """The logged-in member, or None for anonymous callers."""
        p = await self.principal()
        return p.id if p is not None and p.kind == "member" else None


def context_getter_for(
    runtime: Runtime, throttle: Throttle
) -> Callable[[Scope], Awaitable[Context]]:
    """A litestar dependency building the context from what the edge resolved: the
    tenant and caller (``yutang.edge.identity``), whether placeOrder was admitted.

    It takes the ASGI scope rather than the request so it serves websockets too.
    """
    trusted = trusted_networks(runtime.settings.trusted_proxies)

    async def get_context(scope: Scope) -> Context:
        identity = identity_of(scope)
        if identity is None:
            raise RuntimeError("the identity layer did not run")
        operation = operation_of(scope)
        return Context(
            runtime=runtime,
            tenant=identity.tenant,
            throttle=throttle,
            client=request_client(scope, trusted),
            token=identity.token,
            admitted=operation is not None and operation.admitted,
            cache={"principal": identity.principal},
        )

    return get_context
