"""Fields of installed plugins a shop does not enable: refused with the plugin's name.

Disabled means absent, so a document asking for ``pickupStores`` of a shop without
pickup is invalid. graphql-core would say only "Cannot query field"; a frontend serving
many shops needs to know it asked a shop for a plugin it does not run. The schema knows
which installed plugin would add each missing field (:func:`absent_fields`), and
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

Absent = Mapping[tuple[str, str], str]
"""``(type name, field name) -> plugin`` of the fields disabled plugins would add."""


def absent_fields(plugins: PluginSet, hook: str) -> Absent:
    """What every installed plugin outside ``plugins`` contributes through ``hook`` (a
    surface's GraphQL hook), by GraphQL type and field name."""
    found: dict[tuple[str, str], str] = {}
    for plugin, contribution in plugins.registry.everything().collect(hook):
        if plugin in plugins.names or not isinstance(contribution, GraphQLContribution):
            continue
        targets = {"Query": contribution.query, "Mutation": contribution.mutation}
        targets.update(contribution.extend)
        for type_name, fields in targets.items():
            for f in fields:
                found[(type_name, f.graphql_name or to_camel_case(f.python_name))] = plugin
    return MappingProxyType(found)


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
            strawberry_schema = getattr(self.context.schema, "_strawberry_schema", None)
            absent: Absent = getattr(strawberry_schema, "absent_fields", {})
            plugin = absent.get((parent.name, node.name.value))
            if plugin is not None:
                self.report_error(disabled_error(node, parent.name, plugin))
                return
        super().enter_field(node, *args)
