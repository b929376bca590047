"""Plugins' input as GraphQL input types: ``extensions: {groupbuy: {team: "..."}}`` typed.

A plugin declares its input for a checkout or a sign-up as a msgspec Struct
(``yutang_input_schema``); the core read it as an input type when the plugin was
registered (:mod:`yutang.core.plugin_inputs`). Here each becomes a strawberry input type,
gathered in ``CheckoutExtensionsInput`` and ``RegisterExtensionsInput``, one field per
plugin. Every installed plugin's field is in every tenant's schema — the one exception
to "disabled means absent" — so that a storefront serving many tenants sends one
document to all of them; the core refuses input for a plugin the tenant does not enable
(``PLUGIN_DISABLED``). The types only shape what GraphQL accepts: the value reaches the
core as the plain dictionary GraphQL coerced, keyed by the Structs' encoded names, and
the Struct validates it as before, so errors still name ``extensions.<plugin>.<field>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from yutang.core.plugin_inputs import InputObject, Kind, ListOf, PluginInput, pascal
from yutang.core.plugins import PluginSet

OPERATIONS = MappingProxyType(
    {"checkout": "checkout (quote, placeOrder, the cart)", "register": "sign-up (register)"}
)
EXTENSIONS_DESCRIPTION = (
    "Input for plugins at {operation}, one field per installed plugin that takes any. "
    "Every shop's schema has every field, so one document serves every shop: input for a "
    "plugin the shop does not enable is refused with `PLUGIN_DISABLED` naming "
    "`extensions.<plugin>`, and a field left out or null gives that plugin no input."
)


def extensions_input(plugins: PluginSet, operation: str) -> type | None:
    """``<Operation>ExtensionsInput``: a field per installed plugin taking input for
    ``operation`` (None when none does), built once per plugin set."""
    key = ("extensions_input", operation)
    if key not in plugins.memo:
        registry = plugins.registry
        declared = [
            registry.plugins[name].inputs[operation]
            for name in sorted(registry.plugins)
            if operation in registry.plugins[name].inputs
        ]
        plugins.memo[key] = _extensions_type(operation, declared) if declared else None
    built: type | None = plugins.memo[key]
    return built


def describe(plugins: PluginSet, operation: str) -> str:
    """What an ``extensions`` field says in this plugin set's schema."""
    enabled = sorted(
        name for name in plugins.names if operation in plugins.registry.plugins[name].inputs
    )
    here = ", ".join(enabled) if enabled else "none"
    return f"Input for plugins by plugin name (see the type). Enabled here: {here}."


def _extensions_type(operation: str, declared: list[PluginInput]) -> type:
    fields = {
        d.plugin: (_object_type(d.shape) | None, strawberry.field(name=d.plugin)) for d in declared
    }
    text = EXTENSIONS_DESCRIPTION.format(operation=OPERATIONS.get(operation, operation))
    return _input_type(pascal(operation) + "ExtensionsInput", text, fields)


def _object_type(shape: InputObject) -> type:
    fields = {
        f.name: (
            _annotation(f.kind, f.nullable),
            strawberry.field(name=f.key, description=f.description),
        )
        for f in shape.fields
    }
    return _input_type(shape.name, shape.description, fields)


def _annotation(kind: Kind, nullable: bool) -> Any:
    if isinstance(kind, ListOf):
        inner: Any = list[_annotation(kind.item, kind.nullable)]  # type: ignore[misc]
    elif isinstance(kind, InputObject):
        inner = _object_type(kind)
    else:
        inner = kind
    return inner | None if nullable else inner


def _input_type(name: str, description: str | None, fields: Mapping[str, Any]) -> type:
    """A strawberry input type whose value is the mapping GraphQL coerced, as given."""
    namespace: dict[str, Any] = {"__annotations__": {n: t for n, (t, _) in fields.items()}}
    namespace.update((n, f) for n, (_, f) in fields.items())
    cls = strawberry.input(type(name, (), namespace), name=name, description=description)
    get_object_definition(cls, strict=True).from_input = _as_coerced
    return cls


def _as_coerced(_cls: type, value: Mapping[str, Any], _context: InputContext) -> dict[str, Any]:
    """The input as GraphQL coerced it: plain values keyed by the Structs' encoded names."""
    return dict(value)
