"""Query cost: how much an operation asks for, computed from its selection before it runs.

Saleor's idea (``query_cost_map``: multiply by ``first``), with one default rule for
every field, so a plugin's fields are costed without declaring anything:

* every selected field costs 1;
* what is selected under a field is counted once per item the field may return: a list or
  a connection (a type with ``pageInfo``) taking ``first`` or ``last`` returns that many
  (a variable's value; the argument's default when not given; :data:`MAX_PAGE` when
  null; the larger if both); a connection's ``edges`` are that page, counted once; any
  other list is taken to hold :data:`LIST_SIZE` items;
* so ``cost(field) = 1 + items(field) × Σ cost(subfields)``, multiplied through nesting;
* fragments count where they are spread, each time; ``@skip``/``@include`` are ignored
  (the cost is what the operation could ask for); introspection is costed the same way.

``products(first: 100) { edges { node { name skus { id } } } }`` costs
1 + 100 × (1 + 1 × (1 + 1 + 1 + 10 × 1)) = 1,401.

An operation's cost is planned once per parsed document (the parse cache hands out one
document per text): a plan is a number, or, when a page size comes from a variable, a
function of the variables. A request then costs a dictionary lookup.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    value_from_ast_untyped,
)
from graphql.pyutils import Undefined

from yutang.graphql.types import MAX_PAGE

PAGE_ARGUMENTS = ("first", "last")
COMPOSITE = (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)
LIST_SIZE = 10
"""Items assumed in a list that takes no page size (a product's SKUs and images, an
order's lines, a tenant's categories)."""

Variables = Mapping[str, Any]
Cost = int | Callable[[Variables], int]
Size = int | None | Callable[[Variables], int | None]
"""A page argument's value: a number, None (null, or absent without a default), or
either from the variables."""


class QueryCost:
    """The costs of operations on one schema (one instance per schema), planned once per
    parsed document."""

    def __init__(self) -> None:
        # By the document's identity (nodes compare by content); an entry goes with it.
        self._plans: dict[int, dict[str | None, Cost | None]] = {}

    def of(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Variables | None,
    ) -> int | None:
        """The cost of the operation the request runs; None if it names no operation
        (GraphQL reports that)."""
        key = id(document)
        plans = self._plans.get(key)
        if plans is None:
            plans = self._plans[key] = {}
            weakref.finalize(document, self._plans.pop, key, None)
        if operation_name in plans:
            plan = plans[operation_name]
        else:
            plan = plans[operation_name] = _plan(schema, document, operation_name)
        if plan is None or isinstance(plan, int):
            return plan
        return plan(variables or {})


def _plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Cost | None:
    operation = get_operation_ast(document, operation_name)
    root = None if operation is None else schema.get_root_type(operation.operation)
    if operation is None or root is None:
        return None
    return _Planner(schema, document, operation).selections(root, operation.selection_set)


class _Planner:
    """Walks one operation; fragments are planned once each."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.defaults = {
            v.variable.name.value: v.default_value for v in operation.variable_definitions or ()
        }
        self.planned: dict[str, Cost] = {}

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode) -> Cost:
        terms: list[Cost] = []
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                terms.append(self.field(parent, node))
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = parent if condition is None else self.schema.get_type(condition.name.value)
                if inner is not None:
                    terms.append(self.selections(inner, node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                terms.append(self.fragment(node.name.value))
        return _sum(terms)

    def fragment(self, name: str) -> Cost:
        if name not in self.planned:
            self.planned[name] = 0  # a cycle (refused by validation) counts nothing
            definition = self.fragments.get(name)
            if definition is not None:
                inner = self.schema.get_type(definition.type_condition.name.value)
                if inner is not None:
                    self.planned[name] = self.selections(inner, definition.selection_set)
        return self.planned[name]

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> Cost:
        if node.selection_set is None or not isinstance(parent, COMPOSITE):
            return 1
        definition = self.schema.get_field(parent, node.name.value)
        if definition is None:
            return 1
        children = self.selections(get_named_type(definition.type), node.selection_set)
        return _field(self.items(parent, node, definition), children)

    def items(self, parent: GraphQLNamedType, node: FieldNode, definition: GraphQLField) -> Cost:
        """How many times the field's selection is counted."""
        output = get_nullable_type(definition.type)
        listed = isinstance(output, GraphQLList)
        connection = isinstance(output, GraphQLObjectType) and "pageInfo" in output.fields
        pages = [name for name in PAGE_ARGUMENTS if name in definition.args]
        if pages and (listed or connection):
            given = {a.name.value: a.value for a in node.arguments or ()}
            return _page([self.size(given.get(n), definition.args[n].default_value) for n in pages])
        if not listed:
            return 1
        edges = isinstance(parent, GraphQLObjectType) and "pageInfo" in parent.fields
        return 1 if edges and node.name.value == "edges" else LIST_SIZE

    def size(self, value: ValueNode | None, default: Any) -> Size:
        if value is None:
            return _number(default)
        if not isinstance(value, VariableNode):
            return _number(int(value.value)) if isinstance(value, IntValueNode) else None
        name = value.name.value
        declared = self.defaults.get(name)
        fallback = _number(default if declared is None else value_from_ast_untyped(declared))

        def from_variables(variables: Variables) -> int | None:
            given = variables.get(name, Undefined)
            return fallback if given is Undefined else _number(given)

        return from_variables


def _number(value: Any) -> int | None:
    """A page size as GraphQL's Int coerces it (an integral float too), at least 1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return max(value, 1) if isinstance(value, int) else None


def _page(sizes: list[Size]) -> Cost:
    """The largest page asked for; :data:`MAX_PAGE` when none is set."""
    fixed = [s for s in sizes if not callable(s)]
    varying = [s for s in sizes if callable(s)]
    if not varying:
        return max((s for s in fixed if s is not None), default=MAX_PAGE)

    def largest(variables: Variables) -> int:
        values = [*fixed, *(s(variables) for s in varying)]
        return max((v for v in values if v is not None), default=MAX_PAGE)

    return largest


def _sum(terms: list[Cost]) -> Cost:
    fixed = sum(t for t in terms if isinstance(t, int))
    varying = [t for t in terms if not isinstance(t, int)]
    if not varying:
        return fixed
    return lambda variables: fixed + sum(t(variables) for t in varying)


def _field(items: Cost, children: Cost) -> Cost:
    if isinstance(items, int) and isinstance(children, int):
        return 1 + items * children

    def cost(variables: Variables) -> int:
        count = items if isinstance(items, int) else items(variables)
        inner = children if isinstance(children, int) else children(variables)
        return 1 + count * inner

    return cost
