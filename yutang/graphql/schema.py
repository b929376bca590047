"""Schema assembly: core roots plus the contributions of a tenant's plugins.

One schema per (surface, plugin set), built on first use and cached; plugin fields are
appended to core types through ``Schema.get_fields``, so a disabled plugin's fields do
not exist in that tenant's schema at all. Its input types do: ``extensions`` is typed
with every installed plugin's input (:mod:`yutang.graphql.plugin_inputs`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, ValidationContext, ValidationRule
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import (
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import (
    StrawberryObjectDefinition,
    StrawberryOptional,
    get_object_definition,
)
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from yutang.core.contract import GraphQLContribution, NodeType
from yutang.core.errors import ConfigError, DomainError
from yutang.core.plugins import CORE_PLUGIN, PluginSet
from yutang.core.settings import AppSettings
from yutang.edge.documents import MAX_TOKENS
from yutang.graphql import persisted
from yutang.graphql.admin import AdminMutation, AdminQuery, admin_contribution
from yutang.graphql.cost import QueryCost
from yutang.graphql.error_codes import code_field
from yutang.graphql.execution import CheckedExecutor, Executor
from yutang.graphql.input_bounds import InputBoundsRule
from yutang.graphql.invalidation import Invalidate, InvalidateOnWrite
from yutang.graphql.limits import Limits, Policy, RuleSets
from yutang.graphql.nodes import CORE_NODES, NodeRegistry
from yutang.graphql.permissions import check_fields
from yutang.graphql.plugin_inputs import describe, extensions_input
from yutang.graphql.scalars import SCALARS
from yutang.graphql.storefront import StorefrontMutation, StorefrontQuery

MAX_DEPTH = 12
MAX_ALIASES = 30
# Built once: limiter rule classes made per request would defeat ValidationCache.
_DepthRule = depth_rule(MAX_DEPTH, None, None)


class DepthRule(_DepthRule):  # type: ignore[valid-type,misc]
    """strawberry's depth rule, tolerant of spreads of undefined fragments (it raises
    KeyError on them); graphql-core's own rule then reports the unknown fragment."""

    def __init__(self, context: ValidationContext) -> None:
        try:
            super().__init__(context)
        except KeyError:
            ValidationRule.__init__(self, context)


RULES: list[type[ASTValidationRule]] = [DepthRule, alias_rule(MAX_ALIASES), InputBoundsRule]
"""The validation rules every document meets beyond the specification's."""
RULE_SETS = RuleSets.of(RULES)

SURFACES: dict[str, tuple[type, type, str]] = {
    "storefront": (StorefrontQuery, StorefrontMutation, "yutang_graphql_storefront"),
    "admin": (AdminQuery, AdminMutation, "yutang_graphql_admin"),
}


def _is_bug(error: GraphQLError) -> bool:
    """Errors raised by code, not client mistakes or domain errors: hidden in production."""
    return error.original_error is not None and not isinstance(
        error.original_error, DomainError | GraphQLError
    )


def _extensions(
    policy: Policy, production: bool, on_write: Invalidate | None
) -> list[Callable[[], SchemaExtension]]:
    cost = QueryCost()
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: Limits(policy, RULE_SETS, cost),
        lambda: MaxTokensLimiter(MAX_TOKENS),
    ]
    if production:
        extensions.append(lambda: MaskErrors(should_mask_error=_is_bug))
    if on_write is not None:
        extensions.append(lambda: InvalidateOnWrite(on_write))
    return extensions


# Where the core takes plugin input: (type, field, argument or None) -> operation.
EXTENSIONS = MappingProxyType(
    {
        ("CheckoutInput", "extensions", None): "checkout",
        ("PlaceOrderInput", "extensions", None): "checkout",
        ("CartQuoteInput", "extensions", None): "checkout",
        ("AddToCartInput", "extensions", None): "checkout",
        ("Mutation", "register", "extensions"): "register",
    }
)


class PluginSchema(strawberry.Schema):
    """A schema whose types carry plugin-contributed fields, whose ``extensions`` inputs
    are typed with every installed plugin's input, and whose error codes are the set's;
    ``nodes`` are the types its ``node(id:)`` resolves (none in the admin schema).

    With ``member_roots`` (the storefront), a root query named ``my…`` — the caller's own
    orders, coupons, prizes, whoever declares it — is nullable whatever its resolver
    says: a guest asking for it among public fields gets the public data, and null with
    ``UNAUTHENTICATED`` for it alone, not ``data: null``. A field the installed plugins
    outside the set add through ``plugin_hook`` is named with its plugin when a document
    asks for it (:mod:`yutang.graphql.plugin_fields`)."""

    def __init__(
        self,
        *,
        extra: dict[str, list[StrawberryField]],
        plugins: PluginSet,
        nodes: NodeRegistry,
        member_roots: bool = False,
        plugin_hook: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.plugin_fields = (plugins, plugin_hook) if plugin_hook else None
        self._extra = extra
        self.nodes = nodes
        self._plugins = plugins
        self._code = code_field(plugins)
        self._member_roots = member_roots
        super().__init__(**kwargs)

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        """Core fields (``extensions`` typed, ``UserError.code`` typed with the set's
        codes), then the plugins' fields."""
        core = [
            typed
            for f in type_definition.fields
            if (typed := self._typed(type_definition.name, f)) is not None
        ]
        if type_definition.name == "UserError":
            core = [self._code if f.python_name == "code" else f for f in core]
        fields = [*core, *self._extra.get(type_definition.name, [])]
        if self._member_roots and type_definition.name == "Query":
            fields = [member_root(f) for f in fields]
        return fields

    def _typed(self, type_name: str, f: StrawberryField) -> StrawberryField | None:
        """``f`` with its ``extensions`` (the field or an argument) typed with the plugins'
        ``<Operation>ExtensionsInput``, or without it when no installed plugin takes input
        for the operation (a GraphQL input object cannot be empty)."""
        for (owner, name, argument), operation in EXTENSIONS.items():
            if owner != type_name or f.python_name != name:
                continue
            kind = extensions_input(self._plugins, operation)
            text = describe(self._plugins, operation)
            if argument is None:
                if kind is None:
                    return None
                f = copy.copy(f)
                f.type = kind | None
                f.description = text
            else:
                f = copy.copy(f)
                f.arguments = [
                    typed
                    for a in f.arguments
                    if (typed := _typed_argument(a, argument, kind, text)) is not None
                ]
        return f

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only errors that are bugs, not client mistakes (bad queries, limits)."""
        bugs = [e for e in errors if _is_bug(e)]
        if bugs:
            super().process_errors(bugs, execution_context)


def _typed_argument(
    arg: StrawberryArgument, name: str, kind: type | None, text: str
) -> StrawberryArgument | None:
    if arg.python_name != name:
        return arg
    if kind is None:
        return None
    arg = copy.copy(arg)
    arg.type_annotation = StrawberryAnnotation(kind | None)
    arg.description = text
    return arg


def _field_name(field: StrawberryField) -> str:
    return field.graphql_name or field.python_name


def is_member_root(name: str) -> bool:
    """Whether a storefront root query is the caller's own (``myOrders``, ``myCoupons``)."""
    return name.startswith("my") and name[2:3].isupper()


def member_root(f: StrawberryField) -> StrawberryField:
    """``f`` nullable if it is a member's root query (see :class:`PluginSchema`)."""
    name = f.graphql_name or to_camel_case(f.python_name)
    if not is_member_root(name) or isinstance(f.type, StrawberryOptional):
        return f
    f = copy.copy(f)
    f.type = StrawberryOptional(f.type)
    return f


def build_schema(
    surface: str,
    plugins: PluginSet,
    *,
    settings: AppSettings | None = None,
    on_write: Invalidate | None = None,
) -> PluginSchema:
    """Assemble one surface's schema for a plugin set; duplicate fields fail loudly.

    ``settings`` (default: development's) give its limits and error masking. The admin
    schema also gets the core's allowlist fields; ``on_write`` (admin only) is awaited
    after every mutation with the tenant slug (None: every tenant)."""
    settings = settings or AppSettings()
    query, mutation, hook = SURFACES[surface]
    extra: dict[str, list[StrawberryField]] = {}
    owners: dict[tuple[str, str], str] = {}
    types: list[Any] = []
    nodes: list[tuple[str, NodeType]] = (
        [(CORE_PLUGIN, n) for n in CORE_NODES] if surface == "storefront" else []
    )
    core_names = {
        "Query": {_field_name(f) for f in get_object_definition(query, strict=True).fields},
        "Mutation": {_field_name(f) for f in get_object_definition(mutation, strict=True).fields},
    }
    contributions = plugins.collect(hook)
    if surface == "admin":
        contributions.insert(0, (CORE_PLUGIN, persisted.admin_contribution()))
        contributions.insert(0, (CORE_PLUGIN, admin_contribution()))
        for root, kind in (("Query", query), ("Mutation", mutation)):
            check_fields(CORE_PLUGIN, root, get_object_definition(kind, strict=True).fields)
    for plugin, contribution in contributions:
        if not isinstance(contribution, GraphQLContribution):
            raise ConfigError(f"plugin {plugin!r}: {hook} must return a GraphQLContribution")
        targets = {"Query": contribution.query, "Mutation": contribution.mutation}
        if {"Query", "Mutation"} & contribution.extend.keys():
            raise ConfigError(
                f"plugin {plugin!r}: root fields go in query= and mutation=, not extend="
            )
        if surface == "admin":
            check_fields(plugin, "Query", contribution.query)
            check_fields(plugin, "Mutation", contribution.mutation)
        targets.update(contribution.extend)
        for type_name, fields in targets.items():
            for f in fields:
                name = _field_name(f)
                key = (type_name, name)
                if key in owners or name in core_names.get(type_name, ()):
                    other = owners.get(key, "core")
                    raise ConfigError(
                        f"plugin {plugin!r} adds {type_name}.{name}, already added by {other!r}"
                    )
                owners[key] = plugin
                extra.setdefault(type_name, []).append(f)
        types.extend(contribution.types)
        if contribution.nodes and surface != "storefront":
            raise ConfigError(f"plugin {plugin!r}: node types belong to the storefront schema")
        nodes.extend((plugin, n) for n in contribution.nodes)
    registry = NodeRegistry(nodes)
    return PluginSchema(
        query=query,
        mutation=mutation,
        types=[*types, *registry.types],
        extra=extra,
        plugins=plugins,
        nodes=registry,
        member_roots=surface == "storefront",
        plugin_hook=hook,
        extensions=_extensions(
            Policy.of(surface, settings),
            settings.production,
            on_write if surface == "admin" else None,
        ),
        execution_context_class=Executor if settings.plan_executor else CheckedExecutor,
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALARS),
    )


class SchemaCache:
    """Schemas per (surface, plugin set), built once each; ``settings`` and ``on_write``
    as in :func:`build_schema`."""

    def __init__(self, settings: AppSettings, *, on_write: Invalidate | None = None) -> None:
        self.settings = settings
        self.on_write = on_write
        self._schemas: dict[tuple[str, frozenset[str]], PluginSchema] = {}

    def get(self, surface: str, plugins: PluginSet) -> PluginSchema:
        """The schema for ``surface`` and this plugin set."""
        key = (surface, plugins.names)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._schemas[key] = build_schema(
                surface, plugins, settings=self.settings, on_write=self.on_write
            )
        return schema
