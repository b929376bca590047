"""Persisted queries: the automatic persisted query protocol and the tenant allowlist.

A client sends ``extensions.persistedQuery.sha256Hash``; when the server does not know
the hash it answers ``PersistedQueryNotFound`` and the client resends the full text once
with the hash. Texts learned that way are kept in a bounded in-process LRU (a worker
that does not know a hash just asks for the text again). Operations a frontend team
uploads through the admin API (``uploadPersistedOperations``) are stored per tenant in
the database: every worker resolves their hashes, and with
``YUTANG_PERSISTED_QUERIES=allowlist`` they are the only operations anonymous storefront
callers may run.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import cast

import strawberry
from cachetools import LRUCache
from graphql import GraphQLError, OperationDefinitionNode
from strawberry.types.field import StrawberryField
from tortoise.transactions import in_transaction

from yutang.core.contract import GraphQLContribution
from yutang.core.errors import DomainError
from yutang.core.models import PersistedOperation
from yutang.edge.documents import parse_document
from yutang.graphql.context import Context
from yutang.graphql.permissions import Requires
from yutang.graphql.types import UserError

Info = strawberry.Info[Context, None]
MAX_UPLOAD = 1000
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_hex(text: str) -> str:
    """The hash the protocol uses: sha256 of the UTF-8 text, lower-case hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def operation_type(query: str, operation_name: str | None) -> str | None:
    """``query``, ``mutation`` or ``subscription`` for the operation a request runs;
    None when the text does not parse (within the document limits) or names no single
    operation (GraphQL reports it). Failures are not cached: junk cannot fill memory."""
    try:
        return _operation_type(query, operation_name)
    except GraphQLError:
        return None


@lru_cache(maxsize=1024)
def _operation_type(query: str, operation_name: str | None) -> str | None:
    document = parse_document(query, no_location=True)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    return operations[0].operation.value


class PersistedQueries:
    """Texts learned through the automatic protocol, by hash (bounded LRU)."""

    def __init__(self, maxsize: int = 4096) -> None:
        self._texts: LRUCache[str, str] = LRUCache(maxsize)

    def remember(self, sha256: str, query: str) -> None:
        """Keep ``query`` under its (already verified) hash."""
        self._texts[sha256] = query

    def text(self, sha256: str) -> str | None:
        """The text for ``sha256``, if this process learned it."""
        return self._texts.get(sha256)


async def registered(tenant_id: int, sha256: str) -> str | None:
    """The text of an operation the tenant registered under ``sha256``, if any (a value
    that is no sha256 is never looked up: it could not fit the column)."""
    if not _SHA256.fullmatch(sha256):
        return None
    row = await PersistedOperation.get_or_none(tenant_id=tenant_id, sha256=sha256)
    return None if row is None else row.query


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
