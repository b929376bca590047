"""The admin API's allowlist: the storefront operations a tenant registers.

A frontend team uploads its operations (``uploadPersistedOperations``); they are stored
per tenant in the database, where the edge's persisted-query layer
(:mod:`yutang.edge.persisted`) resolves their hashes on every worker and, with
``YUTANG_PERSISTED_QUERIES=allowlist``, lets anonymous storefront callers run only them.
"""

from __future__ import annotations

from typing import cast

import strawberry
from graphql import GraphQLError
from strawberry.types.field import StrawberryField
from tortoise.transactions import in_transaction

from yutang.core.contract import GraphQLContribution
from yutang.core.errors import DomainError
from yutang.core.models import PersistedOperation
from yutang.edge.documents import parse_document
from yutang.edge.operation import sha256_hex
from yutang.graphql.context import Context
from yutang.graphql.permissions import Requires
from yutang.graphql.types import UserError

Info = strawberry.Info[Context, None]
MAX_UPLOAD = 1000


@strawberry.type
class PersistedOperationNode:
    sha256: str
    name: str
    query: str


@strawberry.input
class PersistedOperationInput:
    query: str
    name: str = ""


@strawberry.type
class PersistedOperationsPayload:
    operations: list[PersistedOperationNode] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _node(row: PersistedOperation) -> PersistedOperationNode:
    return PersistedOperationNode(sha256=row.sha256, name=row.name, query=row.query)


async def persisted_operations(info: Info) -> list[PersistedOperationNode]:
    """The storefront operations this tenant registered (owner or manager)."""
    ctx = info.context
    rows = await PersistedOperation.filter(tenant_id=ctx.tenant.id).order_by("id")
    return [_node(r) for r in rows]


async def upload_persisted_operations(
    info: Info, operations: list[PersistedOperationInput], replace: bool = False
) -> PersistedOperationsPayload:
    """Register storefront operations by their sha256 (owner or manager); ``replace``
    makes the upload the whole allowlist. Cached storefront responses are dropped."""
    ctx = info.context
    try:
        if len(operations) > MAX_UPLOAD:
            raise DomainError("INVALID", f"at most {MAX_UPLOAD} operations", "operations")
        for i, op in enumerate(operations):
            if len(op.name) > 200:
                raise DomainError("INVALID", "at most 200 characters", f"operations[{i}].name")
            if not _parses(op.query):
                raise DomainError("INVALID", "not a GraphQL document", f"operations[{i}].query")
        async with in_transaction():
            if replace:
                await PersistedOperation.filter(tenant_id=ctx.tenant.id).delete()
            for op in operations:
                digest = sha256_hex(op.query)
                updated = await PersistedOperation.filter(
                    tenant_id=ctx.tenant.id, sha256=digest
                ).update(name=op.name)
                if not updated:
                    await PersistedOperation.create(
                        tenant_id=ctx.tenant.id, sha256=digest, name=op.name, query=op.query
                    )
    except DomainError as err:
        return PersistedOperationsPayload(errors=[UserError.of(err)])
    return PersistedOperationsPayload(operations=await persisted_operations(info))


def _parses(query: str) -> bool:
    """True for a syntactically valid document within the document limits (several named
    operations included)."""
    try:
        parse_document(query, no_location=True)
    except GraphQLError:
        return False
    return True


def admin_contribution() -> GraphQLContribution:
    """The admin schema's allowlist fields (added by the core, like a plugin's)."""
    query = cast(
        StrawberryField,
        strawberry.field(
            resolver=persisted_operations,
            extensions=[Requires("core.shop.manage")],
            description="The storefront operations registered for this tenant (the allowlist).",
        ),
    )
    query.python_name = "persisted_operations"
    mutation = cast(
        StrawberryField,
        strawberry.mutation(
            resolver=upload_persisted_operations,
            extensions=[Requires("core.shop.manage", audited=True)],
            description="Register storefront operations by sha256 (owner or manager); "
            "`replace` makes this upload the whole allowlist.",
        ),
    )
    mutation.python_name = "upload_persisted_operations"
    return GraphQLContribution(query=[query], mutation=[mutation])
