"""No NUL character and bounded nesting in any value a request carries.

PostgreSQL's text and jsonb cannot hold U+0000 (asyncpg raised "invalid byte sequence for
encoding UTF8: 0x00", a bare error) while SQLite stores it, so the same request wrote on
one database and failed on the other. Every string of a request — in its variables,
including JSON values, IDs and object keys, and in its literal arguments — is checked
before anything runs, so both databases refuse it alike, naming the field, and nothing
is written. Literal lists and objects nest at most :data:`MAX_NESTING` levels, as
variables do (:mod:`yutang.graphql.json_nesting`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValidationRule,
    ValueNode,
    VariableDefinitionNode,
)

from yutang.graphql.json_nesting import MAX_NESTING

NUL = "\x00"
HAS_NUL = "a string cannot contain the NUL character (U+0000)"
TOO_DEEP = f"lists and objects nest at most {MAX_NESTING} levels"


def _value_problem(value: object) -> tuple[str, str] | None:
    """(path, reason) of the first NUL in a decoded variable value, in document order."""
    pending: list[tuple[object, str]] = [(value, "")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return path, HAS_NUL
        elif isinstance(item, Mapping):
            children = []
            for key, child in item.items():
                if NUL in str(key):
                    return path, HAS_NUL
                children.append((child, f"{path}.{key}"))
            pending.extend(reversed(children))
        elif isinstance(item, list):
            pending.extend(reversed([(c, f"{path}[{i}]") for i, c in enumerate(item)]))
    return None


def _literal_problem(value: ValueNode) -> tuple[str, str] | None:
    """(path, reason) of the first NUL or too deep list or object in a literal."""
    pending: list[tuple[ValueNode, str, int]] = [(value, "", 0)]
    while pending:
        node, path, depth = pending.pop()
        if isinstance(node, StringValueNode):
            if NUL in node.value:
                return path, HAS_NUL
        elif isinstance(node, ListValueNode | ObjectValueNode):
            if depth == MAX_NESTING:
                return path, TOO_DEEP
            if isinstance(node, ListValueNode):
                items = [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node.values)]
            else:
                items = [(f.value, f"{path}.{f.name.value}", depth + 1) for f in node.fields]
            pending.extend(reversed(items))
    return None


def _error(subject: str, name: str, path: str, reason: str, node: Any) -> GraphQLError:
    at = f" at {path}" if path else ""
    return GraphQLError(
        f"{subject} has invalid value{at}: {reason}.",
        node,
        extensions={"code": "INVALID", "field": name + path},
    )


def variable_errors(
    definitions: Collection[VariableDefinitionNode], values: Mapping[str, Any] | None
) -> list[GraphQLError]:
    """Errors for the operation's variables whose values hold a NUL character; the
    field named is the variable with the path inside it (``input.lines[0].skuId``)."""
    errors = []
    for definition in definitions:
        name = definition.variable.name.value
        if not values or name not in values:
            continue
        problem = _value_problem(values[name])
        if problem is not None:
            errors.append(_error(f"Variable '${name}'", name, *problem, definition))
    return errors


class InputBoundsRule(ValidationRule):
    """Literal arguments and variable defaults: no NUL character, bounded nesting; the
    field named is the argument with the path inside it."""

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        """Check one argument's literal value."""
        problem = _literal_problem(node.value)
        if problem is not None:
            name = node.name.value
            self.report_error(_error(f"Argument '{name}'", name, *problem, node))

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        """Check a variable's default value."""
        problem = None if node.default_value is None else _literal_problem(node.default_value)
        if problem is not None:
            name = node.variable.name.value
            self.report_error(_error(f"Variable '${name}' default", name, *problem, node))
