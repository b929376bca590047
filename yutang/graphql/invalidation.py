"""Admin mutations drop the tenant's cached storefront responses before they answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

Invalidate = Callable[[str | None], Awaitable[None]]
"""Drops a tenant's cached responses (every tenant's for None)."""


class InvalidateOnWrite(SchemaExtension):
    """Admin schema extension: after a mutation, drop the tenant's cached responses (a
    platform operator's: every tenant's) before the response is returned."""

    def __init__(self, invalidate: Invalidate) -> None:
        super().__init__()
        self.invalidate = invalidate

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        ec = self.execution_context
        if ec.operation_type is not OperationType.MUTATION:
            return
        principal = ec.context.cache.get("principal")
        operator = principal is not None and principal.kind == "operator"
        await self.invalidate(None if operator else ec.context.tenant.slug)
