"""The storefront's GraphQL request, read once and handed to the layers behind.

The response cache, the persisted-query layer and admission each need the request's
text or hash, variables and operation name; :class:`ReadOperation` decodes them once
(a POST's JSON body, a GET's query string) into the scope's :class:`Operation`. Nothing
is answered here: a request that is not one (bad JSON, JSON nesting too deep, neither a
query nor a hash) goes on without an operation to the GraphQL view, which refuses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from yutang.edge.asgi import ASGIApp, Layer, Receive, Scope, Send, read_body, replay
from yutang.graphql.json_nesting import nesting_error

OPERATION = "yutang.operation"
"""The scope's state key of the request's :class:`Operation`."""
STOREFRONT_PATH = "/graphql"


def sha256_hex(text: str) -> str:
    """The hash the persisted-query protocol uses: sha256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


class GraphQLRequest(msgspec.Struct, frozen=True):
    """The parts of a GraphQL-over-HTTP request the edge looks at, as sent."""

    query: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = msgspec.field(default=None, name="operationName")
    extensions: dict[str, Any] | None = None

    def persisted_hash(self) -> str | None:
        """``extensions.persistedQuery.sha256Hash``, if sent."""
        persisted = (self.extensions or {}).get("persistedQuery")
        if isinstance(persisted, dict):
            value = persisted.get("sha256Hash")
            return value if isinstance(value, str) else None
        return None


@dataclass(frozen=True)
class Operation:
    """A storefront request as the edge knows it: as sent, with its hash (:meth:`read`);
    its document once the persisted-query layer resolved it (``text``); ``admitted``
    once the plugins admitted its placeOrder in front of GraphQL (the resolver does not
    ask them again)."""

    request: GraphQLRequest
    sha256: str | None
    """The text's hash, else the persisted hash; None when the two disagree (the
    persisted-query layer answers 400) or neither was sent."""
    text: str | None = None
    admitted: bool = False

    @classmethod
    def read(cls, request: GraphQLRequest) -> Operation:
        """The operation of ``request``, its hash computed once for every layer."""
        sent = request.persisted_hash()
        if request.query is None:
            return cls(request, sent)
        text_sha = sha256_hex(request.query)
        return cls(request, text_sha if sent in (None, text_sha) else None)


def operation_of(scope: Mapping[str, object]) -> Operation | None:
    """The operation :class:`ReadOperation` left for this request, if any."""
    state = scope.get("state")
    found = state.get(OPERATION) if isinstance(state, dict) else None
    return found if isinstance(found, Operation) else None


def hand_on(scope: Scope, operation: Operation) -> None:
    """Leave ``operation`` (resolved, admitted) for the layers behind."""
    scope.setdefault("state", {})[OPERATION] = operation


_request_decoder = msgspec.json.Decoder(GraphQLRequest)
_object_decoder = msgspec.json.Decoder(dict[str, Any])


def from_query_string(raw: bytes) -> GraphQLRequest | None:
    """The request of a GET; the same hot URLs repeat, so short ones are memoised."""
    return _parsed(raw) if len(raw) <= 4096 else _parse(raw)


def _parse(raw: bytes) -> GraphQLRequest | None:
    params = dict(parse_qsl(raw.decode("latin-1")))
    variables = params.get("variables")
    extensions = params.get("extensions")
    if (variables and nesting_error(variables, ("variables",))) or (
        extensions and nesting_error(extensions, ("extensions",))
    ):
        return None  # refused by the controller
    try:
        return GraphQLRequest(
            query=params.get("query"),
            variables=_object_decoder.decode(variables) if variables else None,
            operation_name=params.get("operationName") or None,
            extensions=_object_decoder.decode(extensions) if extensions else None,
        )
    except msgspec.DecodeError:
        return None


_parsed = lru_cache(maxsize=1024)(_parse)


def from_body(body: bytes) -> GraphQLRequest | None:
    """The request of a POST; None for a body that is not one."""
    try:  # a body nesting too deep goes on to its refusal by the controller
        return None if nesting_error(body) else _request_decoder.decode(body)
    except msgspec.DecodeError:
        return None


class ReadOperation(Layer):
    """Decodes a storefront GET or POST into the scope's :class:`Operation`."""

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"] == STOREFRONT_PATH and scope["method"] in ("GET", "POST"):
            if scope["method"] == "GET":
                request = from_query_string(scope["query_string"])
            else:
                body = await read_body(receive)  # bounded by the body limit in front
                receive = replay(body, receive)
                request = from_body(body)
            operation = None if request is None else Operation.read(request)
            if operation is not None and (operation.request.query or operation.sha256):
                hand_on(scope, operation)
        await next_app(scope, receive, send)
