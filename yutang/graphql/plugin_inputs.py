"""What the tenant's plugins take in ``extensions``, written into the schema.

A plugin declares its input for a checkout or a sign-up as a msgspec Struct
(``yutang_input_schema``), and the core validates ``extensions: {plugin: {...}}`` with it,
naming the field of any error. The GraphQL type stays ``JSON`` on purpose: a storefront
that serves many tenants sends one document to all of them, and a typed input object
could not exist for a tenant whose plugins take no input. What each enabled plugin
accepts is instead spelled out in the field's description, per plugin set, so
introspection and the GraphiQL docs show the exact shape.
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi

from yutang.core.plugins import PluginSet

LEAVES: dict[type[mi.Type], str] = {
    mi.StrType: "String",
    mi.IntType: "Int",
    mi.BoolType: "Boolean",
    mi.FloatType: "Float",
    mi.DateTimeType: "DateTime",
    mi.DateType: "Date",
}


def shape(info: mi.Type) -> str:
    """A GraphQL-like rendering of a msgspec type: ``{storeId: String!, slot: String}``."""
    if isinstance(info, mi.UnionType):
        others = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return " | ".join(shape(t) for t in others)
    if isinstance(info, mi.LiteralType):
        return " | ".join(repr(v) for v in info.values)
    if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        return f"[{shape(info.item_type)}]"
    if isinstance(info, mi.StructType):
        fields = (
            f"{f.encode_name}: {shape(f.type)}{'!' if f.required else ''}" for f in info.fields
        )
        return "{" + ", ".join(fields) + "}"
    return LEAVES.get(type(info), "JSON")


def describe(plugins: PluginSet, operation: str, base: str) -> str:
    """``base`` followed by the shape of each enabled plugin's input, built once per set."""
    key = ("extensions_description", operation)
    if key not in plugins.memo:
        inputs: list[tuple[str, Any]] = plugins.collect("yutang_input_schema", operation=operation)
        if inputs:
            lines = [
                f"`{plugin}`: `{shape(mi.type_info(struct))}`" for plugin, struct in sorted(inputs)
            ]
            plugins.memo[key] = f"{base} Enabled here: " + "; ".join(lines) + "."
        else:
            plugins.memo[key] = f"{base} No plugin enabled here takes any."
    text: str = plugins.memo[key]
    return text
