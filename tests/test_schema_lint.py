"""Both schemas, with every first-party plugin, keep the conventions frontends rely on
(:mod:`yutang.graphql.lint`); the linter catches a type that breaks them, so a new plugin
cannot slip one in."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import strawberry
from test_schema_sdl import first_party_plugins

from yutang import api
from yutang.core.errors import ConfigError
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.graphql.lint import problems
from yutang.graphql.nodes import NodeRegistry
from yutang.graphql.schema import SURFACES, PluginSchema, build_schema


def _schema(surface: str, tmp_path: Path, extra: list[tuple[str, object]]) -> PluginSchema:
    empty = tmp_path / "plugins.toml"
    empty.write_text("", encoding="utf-8")
    settings = AppSettings(database_url="sqlite://:memory:", plugins_file=str(empty))
    plugins = [*first_party_plugins(), *extra]
    runtime = build_runtime(settings, entry_points=False, extra_plugins=plugins)
    return build_schema(surface, runtime.registry.everything())


def _lint(schema: PluginSchema, surface: str) -> list[str]:
    return problems(schema._schema, schema.nodes if surface == "storefront" else None)


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_every_first_party_schema_keeps_the_conventions(surface: str, tmp_path: Path) -> None:
    assert _lint(_schema(surface, tmp_path, []), surface) == []


@strawberry.type(name="ThrowawayWidget")
class Widget:
    id: strawberry.ID
    price: int
    status: str


@strawberry.type(name="ThrowawayPart")
class Part(api.Node):
    name: str


@strawberry.input(name="ThrowawayInput")
class WidgetIn:
    cart_token: str
    idempotency: str


async def my_widgets(info: api.Info) -> list[Widget]:
    return []


async def widget_parts(info: api.Info) -> list[Part]:
    return []


async def save_widget(info: api.Info, input: WidgetIn, token: str) -> Widget | None:
    return None


def _throwaway() -> types.ModuleType:
    module = types.ModuleType("throwaway")

    @api.hookimpl
    def yutang_graphql_storefront() -> api.GraphQLContribution:
        return api.GraphQLContribution(
            query=[api.field(my_widgets), api.field(widget_parts)],
            mutation=[api.mutation(save_widget)],
        )

    module.yutang_graphql_storefront = yutang_graphql_storefront  # type: ignore[attr-defined]
    return module


def test_a_plugin_breaking_every_convention_is_caught(tmp_path: Path) -> None:
    schema = _schema("storefront", tmp_path, [("throwaway", _throwaway())])
    assert sorted(_lint(schema, "storefront")) == sorted(
        [
            "Mutation.saveWidget(token): a cart token argument is named `cartToken`",
            "Query.myWidgets: a list that grows is a connection with `first`/`after`",
            "Query.widgetParts: a list that grows is a connection with `first`/`after`",
            "ThrowawayInput.cartToken: a cart token is the `cartToken` argument",
            "ThrowawayInput.idempotency: an idempotency key is named `idempotencyKey`",
            "ThrowawayPart: implements Node but `node(id:)` cannot resolve it",
            "ThrowawayWidget: has `id: ID!` but does not implement Node",
            "ThrowawayWidget.price: money is the `Money` type, not an Int",
            "ThrowawayWidget.status: a status is an enum, not a String",
        ]
    )


def test_an_idempotency_key_outside_input_and_a_string_status_filter_are_caught() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def orders(self, status: str | None = None) -> int:
            return 0

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def pay(self, idempotency_key: str) -> int:
            return 0

    schema = strawberry.Schema(query=Query, mutation=Mutation)
    assert problems(schema._schema, NodeRegistry([])) == [
        "Mutation.pay(idempotencyKey): an idempotency key is the `idempotencyKey` of `input`",
        "Query.orders(status): a status is an enum, not a String",
    ]


async def _nothing(info: api.Info, pk: int) -> None:
    return None


def test_a_node_type_must_implement_node_and_be_registered_once() -> None:
    with pytest.raises(ConfigError, match="must implement Node"):
        NodeRegistry([("throwaway", api.NodeType(Widget, _nothing))])
    with pytest.raises(ConfigError, match="already registered"):
        NodeRegistry([("one", api.NodeType(Part, _nothing)), ("two", api.NodeType(Part, _nothing))])


def test_node_types_belong_to_the_storefront(tmp_path: Path) -> None:
    module = types.ModuleType("adminnodes")

    @api.hookimpl
    def yutang_graphql_admin() -> api.GraphQLContribution:
        return api.GraphQLContribution(nodes=[api.NodeType(Part, _nothing)])

    module.yutang_graphql_admin = yutang_graphql_admin  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="storefront"):
        _schema("admin", tmp_path, [("adminnodes", module)])
