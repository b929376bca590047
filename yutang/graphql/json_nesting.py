"""How deep a request's JSON nests, found before anything decodes it.

JSON decoders recurse once per level, and msgspec and the standard library both raise
RecursionError near a thousand levels: a 2 KB body of brackets was an HTTP 500. A GraphQL
variable may nest :data:`MAX_NESTING` levels; a request that nests deeper is refused
before it is decoded, with a GraphQL error naming the variable.

Almost every request costs two ``bytes.count`` calls: a body with no more opening
brackets than the limit cannot nest deeper. A body with more has its strings blanked and
its brackets reduced one level per pass, in C; only a body that really nests too deep is
walked token by token, to find which variable does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from graphql import GraphQLError
from litestar import Request, Response
from strawberry.http.types import QueryParams

MAX_NESTING = 32
"""How many levels of lists and objects one variable's value may nest."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

Path = list[str | int]


def _nests_deeper(raw: bytes, levels: int) -> bool:
    """Whether ``raw`` nests more than ``levels`` containers deep (or is unbalanced)."""
    if raw.count(b"[") + raw.count(b"{") <= levels:
        return False
    skeleton = _STRING.sub(b"", raw).translate(_AS_BRACKETS, _NOT_BRACKETS)
    for _ in range(levels):  # each pass removes the innermost level
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"[]", b"")
    return bool(skeleton)


def _key(token: bytes) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1].decode("utf-8", "replace")
    return key if isinstance(key, str) else str(key)


def deep_path(raw: bytes, levels: int) -> Path | None:
    """The keys and indexes leading to the first list or object nested more than
    ``levels`` deep in ``raw``, or None if there is none."""
    if not _nests_deeper(raw, levels):
        return None
    # One frame per open container: [is an object, current key or index, expects a key]
    frames: list[list[Any]] = []
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            if len(frames) == levels:
                return [frame[1] for frame in frames]
            frames.append([token == b"{", None if token == b"{" else 0, token == b"{"])
        elif token in (b"]", b"}"):
            if not frames:
                return None
            frames.pop()
        elif not frames:
            continue
        elif token == b",":
            frame = frames[-1]
            if frame[0]:
                frame[2] = True
            else:
                frame[1] += 1
        elif frames[-1][2]:  # a string where an object expects its next key
            frames[-1][1:] = [_key(token), False]
    return None


def nesting_error(raw: str | bytes, within: tuple[str, ...] = ()) -> GraphQLError | None:
    """The error refusing a request body (or its member ``within``, such as a GET
    request's ``variables`` parameter) that nests deeper than a variable may."""
    data = raw.encode() if isinstance(raw, str) else raw
    found = deep_path(data, MAX_NESTING + 2 - len(within))
    if found is None:
        return None
    path = [*within, *found]
    code = {"code": "INVALID"}
    if len(path) >= 2 and path[0] == "variables":
        name = str(path[1])
        message = f"Variable '${name}' nests deeper than {MAX_NESTING} levels."
        return GraphQLError(message, extensions={**code, "field": name})
    message = f"The request nests deeper than a value may ({MAX_NESTING} levels)."
    return GraphQLError(message, extensions={**code, "field": str(path[0]) if path else None})


class TooDeep(Exception):
    """A request refused by :func:`nesting_error`; the view answers it."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


class BoundedJSON:
    """Mixed into strawberry's litestar view (before it): request JSON is checked by
    :func:`nesting_error` before it is decoded (POST bodies, and a GET request's
    ``variables`` and ``extensions``), and a refusal is answered as GraphQL answers a
    variable it cannot coerce: ``{"data": null, "errors": [...]}``, status 200."""

    def decode_json(self, data: str | bytes) -> object:
        """Strawberry's decoding, after the nesting check."""
        error = nesting_error(data)
        if error is not None:
            raise TooDeep(error)
        return json.loads(data)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """Strawberry's parsing, after the nesting check of each JSON parameter."""
        for member in ("variables", "extensions"):
            value = params.get(member)
            error = nesting_error(value, (member,)) if isinstance(value, str) else None
            if error is not None:
                raise TooDeep(error)
        parsed: dict[str, Any] = super().parse_query_params(params)  # type: ignore[misc]
        return parsed

    async def execute_request(
        self, request: Request[Any, Any, Any], context: Any, root_value: Any
    ) -> Response[Any]:
        """The view's answer, or the refusal of a request nesting too deep."""
        try:
            response: Response[Any] = await super().execute_request(  # type: ignore[misc]
                request, context, root_value
            )
        except TooDeep as refused:
            return Response({"data": None, "errors": [refused.error.formatted]})
        return response
