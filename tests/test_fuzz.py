"""Fuzzing both schemas through the real app: no input makes the server fail.

hypothesis-graphql writes queries and mutations, one root field each, from the schema of a
tenant with every first-party plugin enabled (the exported SDL): random selections and
literal arguments — strings longer than any column, NUL characters, numbers outside 64
bits, JSON values, IDs that often name rows of the seed. Each one is sent over HTTP to the
app running as in production (unexpected errors masked), anonymously or as a member on
the storefront, as the owner or a member on the admin API, and must get an answer that is
not a bug:

- no HTTP 5xx,
- no ``Unexpected error.`` (a masked exception) anywhere in the body,
- no record at ERROR or above in the log (strawberry logs every unexpected error).

Examples are derandomized (the same ones every run) and run against one seeded database
whose rows the mutations add to; leftover rows are expected. ``YUTANG_FUZZ_EXAMPLES``
sets the number of examples per case (default below); run more locally with e.g.
``YUTANG_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import httpx
import msgspec
import pytest
import pytest_asyncio
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    NameNode,
    ObjectFieldNode,
    ObjectValueNode,
    ValueNode,
    build_schema,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries
from test_schema_sdl import SCHEMA_DIR, first_party_plugins

from yutang.app import create_app
from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.runtime import Runtime
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("YUTANG_FUZZ_EXAMPLES", "800"))
SLUG = "fuzz"
PLUGIN_NAMES = [name for name, _ in first_party_plugins()]
MASKED = "Unexpected error."

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    # No shrinking: the database keeps what earlier examples wrote, so a smaller example
    # may not fail again; the failing operation is printed as it was sent.
    phases=[Phase.explicit, Phase.generate],
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


class World(NamedTuple):
    """The app and the bearer token of each caller."""

    http: httpx.AsyncClient
    callers: dict[str, str | None]  # role -> bearer token


@pytest_asyncio.fixture
async def world(yutang_db: Runtime, make_tenant: MakeTenant) -> AsyncIterator[World]:
    """A tenant with every first-party plugin, a member with points and a paid order, the
    owner, a store, a category and a product; the app as in production."""
    tenant = await make_tenant(SLUG, plugins=PLUGIN_NAMES)
    _, member = await create_member(tenant, "13900000001", points=10_000)
    _, owner = await create_staff(tenant, "owner", "owner")
    settings_ = msgspec.structs.replace(yutang_db.settings, production=True)
    app = create_app(
        dataclasses.replace(yutang_db, settings=settings_), worker=False, manage_db=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as http:
        admin = GraphQLClient(http, "/admin/graphql", SLUG, owner)
        await admin('mutation { saveCategory(name: "Tea") { errors { code } } }')
        await admin('mutation { createStore(name: "Main", address: "1 Road") { errors { code } } }')
        await save_product(
            tenant,
            ProductInput(
                name="Tea",
                published=True,
                spec_names=["size"],
                skus=[SkuInput(price=5800, stock=100, specs={"size": s}) for s in "SML"],
            ),
        )
        me = GraphQLClient(http, "/graphql", SLUG, member)
        placed = await me(
            "mutation($sku: ID!) { placeOrder(input: {lines: [{skuId: $sku, quantity: 1}], "
            'idempotencyKey: "seed"}) { order { id } errors { code } } }',
            {"sku": to_global("Sku", 1)},
        )
        order = placed["placeOrder"]["order"]["id"]
        await me(
            'mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "seed"}) '
            "{ errors { code } } }",
            {"id": order},
        )
        yield World(http, {"anonymous": None, "member": member, "owner": owner})


# -- values for scalars hypothesis-graphql cannot make up -----------------------------------

_NAMES = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}", fullmatch=True)
_KEYS = st.sampled_from(PLUGIN_NAMES) | _NAMES
_CHARS = st.characters(min_codepoint=1, blacklist_categories=["Cs"])  # NUL only when asked
_TEXT = st.text(_CHARS, max_size=12)
_NUMBERS = st.integers(-5, 5) | st.integers(-(2**65), 2**65)


def _object(fields: list[tuple[str, ValueNode]]) -> ObjectValueNode:
    unique = dict(fields)
    return ObjectValueNode(
        fields=tuple(ObjectFieldNode(name=NameNode(value=k), value=v) for k, v in unique.items())
    )


def _containers(inner: st.SearchStrategy[ValueNode]) -> st.SearchStrategy[ValueNode]:
    lists = st.lists(inner, max_size=3).map(nodes.List)
    return lists | st.lists(st.tuples(_KEYS, inner), max_size=3).map(_object)


_JSON: st.SearchStrategy[ValueNode] = st.recursive(
    st.just(nodes.Null)
    | st.booleans().map(nodes.Boolean)
    | _NUMBERS.map(nodes.Int)
    | _TEXT.map(nodes.String),
    _containers,
    max_leaves=8,
)


def _ids(schema: GraphQLSchema) -> st.SearchStrategy[ValueNode]:
    """Mostly IDs of real rows' types with small numbers (rows of the seed), sometimes
    out-of-range numbers or junk."""
    types = sorted(
        name
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    )
    known = st.builds(to_global, st.sampled_from(["Sku", "Order", *types]), st.integers(1, 4))
    odd = st.builds(to_global, st.sampled_from(types), _NUMBERS)
    return (known | known | odd | _TEXT).map(nodes.String)


# Words the API knows (statuses, roles, methods, plugins), so filters and enums-as-strings
# match; and strings longer than any column, which lookups must refuse, not crash on.
_WORDS = st.sampled_from(
    [
        *PLUGIN_NAMES,
        *("delivery", "dev", "paid", "pending_payment", "completed", "cancelled", "pending"),
        *("applied", "active", "requested", "frozen", "owner", "manager", "clerk", "default"),
        *("CNY", "Asia/Shanghai", "13900000001", "password", "secret-1", "percent", "fixed"),
    ]
)
_LONG = st.text(_CHARS, min_size=33, max_size=300) | st.just("9" * 5000)


def _strings(allow_x00: bool) -> st.SearchStrategy[ValueNode]:
    text = _TEXT | _WORDS | _LONG
    if allow_x00:
        text |= _TEXT.map(lambda t: t + "\x00")
    return text.map(nodes.String)


def _scalars(schema: GraphQLSchema, allow_x00: bool) -> dict[str, st.SearchStrategy[ValueNode]]:
    times = st.datetimes().map(lambda d: d.isoformat() + "+08:00") | _TEXT
    return {
        "String": _strings(allow_x00),
        "ID": _ids(schema),
        "JSON": _JSON,
        "MinorUnits": _NUMBERS.map(nodes.Int),
        "DateTime": times.map(nodes.String),
    }


def _operations(schema: GraphQLSchema, allow_x00: bool) -> st.SearchStrategy[str]:
    """One root field at a time, each as likely as any other (an operation selecting many
    root fields takes hypothesis-graphql ten times longer to write, and a bug is a field's)."""
    options: dict[str, Any] = {
        "custom_scalars": _scalars(schema, allow_x00),
        "allow_x00": allow_x00,
        "codec": None if allow_x00 else "utf-8",
    }
    assert schema.query_type is not None and schema.mutation_type is not None
    roots = [(queries, name) for name in sorted(schema.query_type.fields)]
    roots += [(mutations, name) for name in sorted(schema.mutation_type.fields)]
    return st.sampled_from(roots).flatmap(lambda root: root[0](schema, fields=[root[1]], **options))


# -- the cases ------------------------------------------------------------------------------

# The exported SDL is the schema of a tenant with every first-party plugin (test_schema_sdl).
SCHEMAS = {
    surface: build_schema((SCHEMA_DIR / f"{surface}.graphql").read_text(encoding="utf-8"))
    for surface in ("storefront", "admin")
}
CASES = [
    ("storefront", "/graphql", "anonymous", True),
    ("storefront", "/graphql", "member", False),
    ("admin", "/admin/graphql", "owner", False),
    ("admin", "/admin/graphql", "member", True),
]
OPERATIONS = {
    (surface, allow_x00): _operations(SCHEMAS[surface], allow_x00)
    for surface, _, _, allow_x00 in CASES
}


@pytest.mark.parametrize(
    ("surface", "path", "role", "allow_x00"),
    CASES,
    ids=[f"{surface}-{role}" for surface, _, role, _ in CASES],
)
@FUZZ
@given(data=st.data())
async def test_no_input_makes_the_server_fail(
    world: World,
    surface: str,
    path: str,
    role: str,
    allow_x00: bool,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    query = data.draw(OPERATIONS[surface, allow_x00], label="operation")
    headers = {"X-Tenant": SLUG, "Content-Type": "application/json"}
    token = world.callers[role]
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        response = await world.http.post(path, json={"query": query}, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text)
    assert MASKED not in response.text, response.text
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not logged, logged
