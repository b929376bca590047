"""Document limits: no GraphQL text is parsed past the token or length limit.

graphql-core's parser spends about 10 µs per token building the AST, and a text it parses
without ``max_tokens`` costs that for every token: a 1 MB body of 480,000 tokens held the
event loop for seconds. Every parse in Yutang goes through :func:`parse_document`, and
the :class:`DocumentLimit` layer refuses an over-limit document (and a body over the
endpoint's size, with 413) on both GraphQL endpoints before anything reads or parses
it. It counts tokens with one regular expression that stops at the limit, so a refusal
costs about as much as reading the body.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from graphql import DocumentNode, GraphQLError, parse

from yutang.edge.asgi import ASGIApp, Layer, Receive, Scope, Send, read_body, replay, send_json
from yutang.graphql.json_nesting import nesting_error

MAX_TOKENS = 5000
"""Tokens a document may hold, comments included (graphql-core counts them too)."""
MAX_LENGTH = 100_000
"""Characters a document may hold: long comments and strings are lexed character by
character, so length is bounded as well as tokens."""
GRAPHQL_PATHS = MappingProxyType({"/graphql": 1, "/admin/graphql": 8})
"""Each GraphQL endpoint and the largest request body it takes, in MiB (the admin API's
is larger for allowlist uploads). The layers behind read only bodies within it."""

# What lies between tokens (whitespace, commas, characters no token starts with), then one
# token: a comment, a block string, a string, a spread, a name, a number or a punctuator.
# Each token matched here is at least one of graphql-core's, so counting them never
# exceeds the parser's count. Atomic groups and possessive quantifiers keep the scan
# linear on any input; the whole count runs inside the regular expression engine.
_SKIP = r'[^_A-Za-z0-9"#.!$&()\[\]{}:=@|-]++'
_TOKEN = (
    r"(?:#[^\n\r]*+"
    r'|"""(?:\\"""|[^"\\]|\\|"(?!""))*+"""'
    r'|"(?:[^"\\\n\r]|\\.)*+"'
    r"|\.\.\."
    r"|[_A-Za-z][_0-9A-Za-z]*+"
    r"|-?[0-9](?:[_0-9A-Za-z.]|(?<=[eE])[+-])*+"
    r"|[!$&()\[\]{}:=@|])"
)
_OVER_LIMIT = re.compile(f"(?>(?:{_SKIP})?{_TOKEN}){{{MAX_TOKENS + 1}}}")

TOO_MANY_TOKENS = f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."
TOO_LONG = f"Syntax Error: Document is longer than {MAX_LENGTH} characters. Parsing aborted."


def refusal(text: str) -> tuple[str, str] | None:
    """``(code, message)`` when ``text`` is over a limit, else None. A text that breaks off
    before the limit (a character no token may start with) goes on to the parser, which
    stops there."""
    if len(text) <= MAX_TOKENS:  # every token is at least one character
        return None
    if len(text) > MAX_LENGTH:
        return "QUERY_TOO_LONG", TOO_LONG
    if _OVER_LIMIT.match(text):
        return "TOO_MANY_TOKENS", TOO_MANY_TOKENS
    return None


def parse_document(text: str, *, no_location: bool = False) -> DocumentNode:
    """``text`` parsed within the limits; a GraphQLError for an over-limit document too."""
    refused = refusal(text)
    if refused is not None:
        raise GraphQLError(refused[1], extensions={"code": refused[0]})
    return parse(text, no_location=no_location, max_tokens=MAX_TOKENS, max_source_length=MAX_LENGTH)


class _Query(msgspec.Struct):
    """The one member of a GraphQL request body this layer reads."""

    query: str | None = None


_query_decoder = msgspec.json.Decoder(_Query)


class DocumentLimit(Layer):
    """Refuses an over-limit body or document on the GraphQL endpoints before any parse.

    A request whose body (or query string) is no longer than the token limit cannot hold
    more tokens, so it goes on unread: the product list's POST costs a header lookup."""

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        limit = GRAPHQL_PATHS.get(scope["path"])
        if limit is None:
            await next_app(scope, receive, send)
            return
        text: str | None = None
        if scope["method"] == "GET":
            raw: bytes = scope["query_string"]
            if len(raw) > MAX_TOKENS:
                text = dict(parse_qsl(raw.decode("latin-1"))).get("query")
        elif scope["method"] == "POST" and _may_be_long(scope["headers"]):
            body = await read_body(receive, limit << 20)
            if body is None:
                error = _error("TOO_LARGE", f"the request body is over {limit} MiB")
                await send_json(send, 413, msgspec.json.encode({"errors": [error]}))
                return
            receive = replay(body, receive)
            try:  # the app answers a body that is not a request, or nests too deep
                long = len(body) > MAX_TOKENS and nesting_error(body) is None
                text = _query_decoder.decode(body).query if long else None
            except msgspec.DecodeError:
                text = None
        refused = None if text is None else refusal(text)
        if refused is not None:  # as the GraphQL view answers a syntax error
            body = msgspec.json.encode({"data": None, "errors": [_error(*refused)]})
            await send_json(send, 200, body)
            return
        await next_app(scope, receive, send)


def _may_be_long(headers: list[tuple[bytes, bytes]]) -> bool:
    """False when ``Content-Length`` says the body is within the token limit."""
    for name, value in headers:
        if name == b"content-length":
            return not value.isdigit() or int(value) > MAX_TOKENS
    return True


def _error(code: str, message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}
