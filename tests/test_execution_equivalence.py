"""The plan executor answers every storefront query exactly as graphql-core's own.

Random query operations over the full storefront schema (every first-party plugin
enabled: the exported SDL) — hypothesis-graphql's, with literal arguments, and selections
of fields without required arguments (aliased, repeated, in inline fragments, through
interfaces and unions), which return data and so reach the plans — are each sent over
HTTP to two real apps on one database seeded as the demo shop (catalogue, levels, store,
members; a member's paid order): one with ``YUTANG_PLAN_EXECUTOR`` on, one with it off.
The two response bodies and statuses must be equal, data and errors alike. The clock is
frozen, so fields that read the time agree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import httpx
import pytest
import pytest_asyncio
from graphql import (
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries
from test_fuzz import SCHEMAS, _ids

from yutang.core.auth import issue_token
from yutang.core.clock import FrozenClock
from yutang.core.demo import load_demo
from yutang.core.models import Address, Member, Sku
from yutang.core.runtime import Runtime
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, MakeTenant, app_with, client_of

pytestmark = pytest.mark.fuzz

SLUG = "demo"
EXAMPLES = 150

SAME = settings(
    max_examples=EXAMPLES,
    derandomize=True,
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


class Apps(NamedTuple):
    """The app with plans, the app without, and the member's token."""

    plans: httpx.AsyncClient
    generic: httpx.AsyncClient
    member: str


@pytest_asyncio.fixture
async def apps(
    yutang_db: Runtime, make_tenant: MakeTenant, frozen_clock: FrozenClock
) -> AsyncIterator[Apps]:
    from test_fuzz import PLUGIN_NAMES

    await make_tenant(SLUG, plugins=PLUGIN_NAMES)
    await load_demo(yutang_db, SLUG, lambda _: None)
    tenant = await yutang_db.tenants.by_slug(SLUG)
    demo_member = await Member.get(tenant_id=tenant.id, phone="13800000000")
    token = await issue_token("member", demo_member.id, tenant.id)
    address = await Address.get(member_id=demo_member.id)
    async with (
        client_of(app_with(yutang_db)) as plans,
        client_of(app_with(yutang_db, plan_executor=False)) as generic,
    ):
        me = GraphQLClient(plans, "/graphql", SLUG, token)
        sku = await Sku.filter(tenant_id=tenant.id).order_by("id").first()
        assert sku is not None and await Member.filter(tenant_id=tenant.id).count() > 1
        placed = await me(
            "mutation($sku: ID!, $address: ID!) { placeOrder(input: {lines: [{skuId: $sku, "
            'quantity: 1}], idempotencyKey: "seed", address: {addressId: $address}}) '
            "{ order { id } errors { code } } }",
            {"sku": to_global("Sku", sku.id), "address": to_global("Address", address.id)},
        )
        assert placed["placeOrder"]["order"], placed
        order = placed["placeOrder"]["order"]["id"]
        await me(
            'mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "seed"}) '
            "{ errors { code } } }",
            {"id": order},
        )
        yield Apps(plans, generic, token)


MAX_DEPTH = 5


@st.composite
def _selection(draw: st.DrawFn, parent: GraphQLNamedType, depth: int) -> str:
    """A random selection on ``parent``: fields whose arguments all have defaults (so
    they return data, where plans run), some aliased, some twice, some in fragments."""
    if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
        possible = sorted(t.name for t in SCHEMAS["storefront"].get_possible_types(parent))
        chosen = draw(st.lists(st.sampled_from(possible), min_size=1, max_size=2, unique=True))
        typed = [f"... on {name} {{ {draw(_selection(_type(name), depth))} }}" for name in chosen]
        return " ".join(["__typename", *typed])
    assert isinstance(parent, GraphQLObjectType)
    usable = sorted(
        name
        for name, field in parent.fields.items()
        if not any(is_required_argument(a) for a in field.args.values())
        and (depth < MAX_DEPTH or is_leaf_type(get_named_type(field.type)))
    )
    if not usable:
        return "__typename"
    picked = draw(st.lists(st.sampled_from(usable), min_size=1, max_size=6))
    parts = []
    for n, name in enumerate(picked):
        inner = get_named_type(parent.fields[name].type)
        text = name if is_leaf_type(inner) else f"{name} {{ {draw(_selection(inner, depth + 1))} }}"
        if draw(st.booleans()):
            text = f"a{n}_{name}: {text}"
        if draw(st.integers(0, 5)) == 0:
            text = f"... on {parent.name} {{ {text} }}"
        parts.append(text)
    return " ".join(parts)


def _type(name: str) -> GraphQLNamedType:
    found = SCHEMAS["storefront"].get_type(name)
    assert found is not None
    return found


def _selections(schema: GraphQLSchema) -> st.SearchStrategy[str]:
    assert schema.query_type is not None
    return _selection(schema.query_type, 1).map(lambda s: f"{{ {s} }}")


def _operations(schema: GraphQLSchema) -> st.SearchStrategy[str]:
    """One root query field at a time, each as likely as any other, with literal
    arguments (hypothesis-graphql); or a random selection of argument-free fields."""
    scalars: dict[str, Any] = {
        "ID": _ids(schema),
        "JSON": st.just(nodes.Null),
        "MinorUnits": st.integers(0, 10**6).map(nodes.Int),
        "DateTime": st.just(nodes.String("2026-06-01T10:00:00+08:00")),
    }
    assert schema.query_type is not None
    roots = sorted(schema.query_type.fields)
    written = st.sampled_from(roots).flatmap(
        lambda root: queries(schema, fields=[root], custom_scalars=scalars)
    )
    return written | _selections(schema) | _selections(schema)


OPERATIONS = _operations(SCHEMAS["storefront"])


@pytest.mark.parametrize("role", ["anonymous", "member"])
@SAME
@given(data=st.data())
async def test_plans_answer_as_graphql_core_does(
    apps: Apps, role: str, data: st.DataObject
) -> None:
    query = data.draw(OPERATIONS, label="operation")
    headers = {"X-Tenant": SLUG, "Content-Type": "application/json"}
    if role == "member":
        headers["Authorization"] = f"Bearer {apps.member}"
    planned = await apps.plans.post("/graphql", json={"query": query}, headers=headers)
    generic = await apps.generic.post("/graphql", json={"query": query}, headers=headers)
    assert (planned.status_code, planned.json()) == (generic.status_code, generic.json())


async def test_the_comparison_reaches_plain_trees(apps: Apps) -> None:
    """A product page, the plans' case, answers alike and with data: the property above
    compares answers that exercise plans, not only errors."""
    query = (
        "{ products(first: 20) { edges { node { id name skus { id price { amount formatted }"
        " stock } } } pageInfo { hasNextPage } } }"
    )
    headers = {"X-Tenant": SLUG, "Content-Type": "application/json"}
    planned = await apps.plans.post("/graphql", json={"query": query}, headers=headers)
    generic = await apps.generic.post("/graphql", json={"query": query}, headers=headers)
    assert planned.json() == generic.json()
    assert len(planned.json()["data"]["products"]["edges"]) == 6


def test_the_switch_chooses_the_executor(yutang_db: Runtime) -> None:
    from yutang.core.settings import AppSettings
    from yutang.graphql.execution import CheckedExecutor, Executor
    from yutang.graphql.schema import build_schema

    plugins = yutang_db.registry.plugin_set([])
    on = build_schema("storefront", plugins, settings=AppSettings())
    off = build_schema("storefront", plugins, settings=AppSettings(plan_executor=False))
    assert on.execution_context_class is Executor
    assert off.execution_context_class is CheckedExecutor
