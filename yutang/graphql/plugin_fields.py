"""Fields of installed plugins a shop does not enable: refused with the plugin's name.

Disabled means absent, so a document asking for ``pickupStores`` of a shop without
pickup is invalid. graphql-core would say only "Cannot query field"; a frontend serving
many shops needs to know it asked a shop for a plugin it does not run. The schema knows
which installed plugin would add each missing field (:func:`contributed_fields`), and
:class:`PluginFieldsRule` — graphql-core's rule for unknown fields, in its place —
answers ``PLUGIN_DISABLED`` with the plugin for those.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from graphql import FieldNode, FieldsOnCorrectTypeRule, GraphQLError
from strawberry.utils.str_converters import to_camel_case

from yutang.core.contract import GraphQLContribution
from yutang.core.plugins import PluginSet


def contributed_fields(plugins: PluginSet, hook: str) -> Mapping[tuple[str, str], str]:
    """``(type name, field name) -> plugin`` of what every installed plugin contributes
    through ``hook`` (a surface's GraphQL hook), read once per process and only when a
    document first asks for a field a schema lacks: building a tenant's schema calls
    no plugin outside its set."""
    everything = plugins.registry.everything()
    key = ("contributed_fields", hook)
    if key not in everything.memo:
        found: dict[tuple[str, str], str] = {}
        for plugin, contribution in everything.collect(hook):
            if not isinstance(contribution, GraphQLContribution):
                continue
            targets = {"Query": contribution.query, "Mutation": contribution.mutation}
            targets.update(contribution.extend)
            for type_name, fields in targets.items():
                for f in fields:
                    found[(type_name, f.graphql_name or to_camel_case(f.python_name))] = plugin
        everything.memo[key] = MappingProxyType(found)
    known: Mapping[tuple[str, str], str] = everything.memo[key]
    return known


def disabled_error(node: FieldNode, type_name: str, plugin: str) -> GraphQLError:
    """The refusal of a field that ``plugin`` adds where the shop does not enable it."""
    name = node.name.value
    return GraphQLError(
        f"`{type_name}.{name}` 属于 {plugin} 插件，本店未启用 / "
        f"`{type_name}.{name}` belongs to the {plugin} plugin, which this shop does not enable",
        node,
        extensions={"code": "PLUGIN_DISABLED", "plugin": plugin},
    )


class PluginFieldsRule(FieldsOnCorrectTypeRule):
    """graphql-core's unknown-field rule, naming the disabled plugin a field belongs to."""

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        """A disabled plugin's field gets PLUGIN_DISABLED; others as graphql-core says."""
        parent = self.context.get_parent_type()
        if parent is not None and self.context.get_field_def() is None:
            plugin = self._disabled_owner(parent.name, node.name.value)
            if plugin is not None:
                self.report_error(disabled_error(node, parent.name, plugin))
                return
        super().enter_field(node, *args)

    def _disabled_owner(self, type_name: str, field: str) -> str | None:
        """The installed plugin outside the schema's set that adds ``type_name.field``."""
        schema = getattr(self.context.schema, "_strawberry_schema", None)
        source: tuple[PluginSet, str] | None = getattr(schema, "plugin_fields", None)
        if source is None:
            return None
        plugins, hook = source
        plugin = contributed_fields(plugins, hook).get((type_name, field))
        return plugin if plugin is not None and plugin not in plugins.names else None
