"""Persisted queries: the automatic persisted query protocol and the tenant allowlist.

A client sends ``extensions.persistedQuery.sha256Hash``; when the server does not know
the hash it answers ``PersistedQueryNotFound`` and the client resends the full text once
with the hash. Texts learned that way are kept in a bounded in-process LRU (a worker
that does not know a hash just asks for the text again). Operations a frontend team
uploads through the admin API (``uploadPersistedOperations``) are stored per tenant in
the database: every worker resolves their hashes, and with
``YUTANG_PERSISTED_QUERIES=allowlist`` they are the only operations anonymous storefront
callers may run.

The :class:`PersistedQueries` layer resolves the storefront operation's document (after
the identity layer: registered operations are the tenant's) and hands it on; a request
sent by hash reaches the GraphQL view rewritten with its text.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import msgspec
from cachetools import LRUCache
from graphql import GraphQLError, OperationDefinitionNode

from yutang.core.contract import TenantInfo
from yutang.core.models import PersistedOperation
from yutang.core.settings import AppSettings
from yutang.edge.asgi import ASGIApp, Layer, Receive, Scope, Send, read_body, replay, send_json
from yutang.edge.documents import parse_document
from yutang.edge.identity import identity_of
from yutang.edge.operation import GraphQLRequest, hand_on, operation_of, sha256_hex

_SHA256 = re.compile(r"[0-9a-f]{64}")
_encoder = msgspec.json.Encoder(order="sorted")


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


class LearntQueries:
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


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return status, msgspec.json.encode(body)


class PersistedQueries(Layer):
    """Resolves the storefront operation's document, or answers why it cannot."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self.learnt = LearntQueries()

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        operation = operation_of(scope)
        identity = identity_of(scope)
        if operation is None or identity is None:
            await next_app(scope, receive, send)
            return
        request = operation.request
        resolved = await self.resolve(identity.tenant, request, identity.anonymous)
        if isinstance(resolved, tuple):
            await send_json(send, *resolved)
            return
        hand_on(scope, dataclasses.replace(operation, text=resolved))
        if resolved != request.query:
            scope, receive = await _rewritten(scope, receive, request, resolved)
        await next_app(scope, receive, send)

    async def resolve(
        self, tenant: TenantInfo, request: GraphQLRequest, anonymous: bool
    ) -> str | tuple[int, bytes]:
        """The query text to run, or an error response (status, body)."""
        sha = request.persisted_hash()
        text = request.query
        if sha is not None and text is not None and sha256_hex(text) != sha:
            return _error(400, "BAD_REQUEST", "provided sha does not match query")
        allowlist = anonymous and self.settings.persisted_queries == "allowlist"
        if text is not None and not allowlist:
            if sha is not None:
                self.learnt.remember(sha, text)
            return text
        sha = sha or (sha256_hex(text) if text else None)
        if sha is None:
            return _error(400, "BAD_REQUEST", "no query")
        found = None if allowlist else self.learnt.text(sha)
        found = found or await registered(tenant.id, sha)
        if found is not None:
            return found
        if allowlist and text is not None:
            return _error(403, "PERSISTED_QUERY_NOT_ALLOWED", "operation not registered")
        return _error(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


async def _rewritten(
    scope: Scope, receive: Receive, request: GraphQLRequest, text: str
) -> tuple[Scope, Receive]:
    """The request with the query text in place of a persisted hash."""
    if scope["method"] == "GET":
        params = {"query": text, "operationName": request.operation_name or ""}
        if request.variables:
            params["variables"] = _encoder.encode(request.variables).decode()
        query_string = urlencode({k: v for k, v in params.items() if v}).encode()
        rewritten: Any = {**scope, "query_string": query_string}
        return rewritten, receive
    await read_body(receive)  # the body as sent, replayed by the layer that read it
    body = _encoder.encode(
        {"query": text, "variables": request.variables, "operationName": request.operation_name}
    )
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    rewritten = {**scope, "headers": headers}
    return rewritten, replay(body, receive)
