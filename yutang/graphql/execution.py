"""GraphQL execution that completes plain object trees without per-field machinery.

A catalogue page is a tree of objects built by the top-level resolver (products, their
SKUs, prices, images): hundreds of fields that are plain attributes. graphql-core completes
each field generically (a path, a resolve-info object, the resolver, value completion),
about 5 µs a field, which is most of a product list's cost. For an object whose selected
fields are all plain attributes — scalars, enums, or objects and lists of objects that are
plain in turn — this executor builds a small plan once per request and selection, and
completes the object by running it. Plans are shared by every request that runs the same
parsed operation (the parse cache hands out one document per query text), unless its
directives read variables (``@include(if: $x)``), which makes the selection per request.
Anything else (a resolver, arguments, an abstract
type, deferred fragments) takes graphql-core's path, and so does an object whose values
don't fit the plan (a null in a non-null field, a value its scalar refuses): its plan
raises and graphql-core completes it again, reporting errors as usual. Plans
have no side effects, so completing an object twice is safe.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    BREAK,
    DirectiveNode,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    get_operation_ast,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from yutang.graphql.input_bounds import variable_errors

Plan = Callable[[Any], Any]
PlanKey = tuple[GraphQLObjectType, tuple[int, ...]]


class SharedPlans:
    """One operation's plans, with its fragments kept alive so node ids stay unique."""

    def __init__(self, fragments: Iterable[FragmentDefinitionNode]) -> None:
        self.fragments = tuple(fragments)
        self.plans: dict[PlanKey, Plan | None] = {}


# By the operation node's identity: graphql-core nodes compare by content, and two
# documents with the same operation but other fragments must not share plans. An entry
# goes when its operation node does.
_SHARED: dict[int, SharedPlans | None] = {}


class _VariableDirectiveFinder(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
        if any(isinstance(arg.value, VariableNode) for arg in node.arguments or ()):
            self.found = True
            return BREAK
        return None


def _directives_read_variables(nodes: Iterable[Node]) -> bool:
    for node in nodes:
        finder = _VariableDirectiveFinder()
        visit(node, finder)
        if finder.found:
            return True
    return False


def _plans_for(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
) -> dict[PlanKey, Plan | None]:
    """The operation's shared plans, or a fresh dict when they must be per request."""
    key = id(operation)
    if key not in _SHARED:
        definitions = [f.definition for f in fragments.values()]
        per_request = _directives_read_variables([operation, *definitions])
        _SHARED[key] = None if per_request else SharedPlans(definitions)
        weakref.finalize(operation, _SHARED.pop, key, None)
    shared = _SHARED[key]
    return shared.plans if shared is not None else {}


class NotPlain(Exception):
    """A value does not fit its plan: complete the object the generic way."""


def _strawberry_field(field_def: Any) -> StrawberryField | None:
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition if isinstance(definition, StrawberryField) else None


class CheckedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, refusing variables that hold a NUL character before they
    are coerced (:mod:`yutang.graphql.input_bounds`)."""

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | CheckedExecutor:
        """graphql-core's build, after the variables' NUL check."""
        operation = get_operation_ast(document, operation_name)
        if operation is not None and raw_variable_values:
            errors = variable_errors(operation.variable_definitions or (), raw_variable_values)
            if errors:
                return errors
        built = super().build(
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )
        assert isinstance(built, list | CheckedExecutor)
        return built


class Executor(CheckedExecutor):
    """:class:`CheckedExecutor` with plans for plain object trees (``YUTANG_PLAN_EXECUTOR``,
    on by default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans = _plans_for(self.operation, self.fragments)

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Run the object's plan if it has one; otherwise graphql-core's completion."""
        plan = None if position_context else self._object_plan(return_type, field_details_list)
        if plan is not None:
            try:
                return plan(result)
            except Exception:
                pass
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )

    def _object_plan(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Plan | None:
        """The plan for this selection on this type, built once per operation."""
        key = (object_type, tuple(id(details.node) for details in field_details_list))
        if key in self._plans:
            return self._plans[key]
        self._plans[key] = None  # a recursive selection is not plain
        grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        steps: list[tuple[str, Plan]] = []
        for response_name, details in grouped.items():
            step = self._field_plan(object_type, details) if not defer_usages else None
            if step is None:
                return None
            steps.append((response_name, step))
        plan = _object(steps)
        self._plans[key] = plan
        return plan

    def _field_plan(self, parent: GraphQLObjectType, details: FieldDetailsList) -> Plan | None:
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return _constant(parent.name)
        field_def = parent.fields.get(name)
        if field_def is None or field_def.args or node.arguments:
            return None
        definition = _strawberry_field(field_def)
        if definition is None or not definition.is_basic_field:
            return None
        value_plan = self._value_plan(field_def.type, details)
        if value_plan is None:
            return None
        return _attribute(definition.python_name, value_plan)

    def _value_plan(self, output: GraphQLOutputType, details: FieldDetailsList) -> Plan | None:
        if isinstance(output, GraphQLNonNull):
            inner = self._value_plan(output.of_type, details)
            return _non_null(inner) if inner is not None else None
        if isinstance(output, GraphQLScalarType | GraphQLEnumType):
            return _nullable(_leaf(output))
        if isinstance(output, GraphQLList):
            item = output.of_type
            if isinstance(item, GraphQLList) or (
                isinstance(item, GraphQLNonNull) and isinstance(item.of_type, GraphQLList)
            ):
                return None
            item_plan = self._value_plan(item, details)
            return _nullable(_list(item_plan)) if item_plan is not None else None
        if isinstance(output, GraphQLObjectType):
            object_plan = self._object_plan(output, details)
            if object_plan is None:
                return None
            return _nullable(_typed(output, object_plan))
        return None


def _object(steps: list[tuple[str, Plan]]) -> Plan:
    def complete(source: Any) -> dict[str, Any]:
        return {name: step(source) for name, step in steps}

    return complete


def _attribute(attribute: str, value_plan: Plan) -> Plan:
    def read(source: Any) -> Any:
        return value_plan(getattr(source, attribute))

    return read


def _constant(value: str) -> Plan:
    def complete(_source: Any) -> str:
        return value

    return complete


def _leaf(leaf_type: GraphQLScalarType | GraphQLEnumType) -> Plan:
    coerce = leaf_type.coerce_output_value

    def complete(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise NotPlain
        return coerced

    return complete


def _nullable(plan: Plan) -> Plan:
    def complete(value: Any) -> Any:
        return None if value is None else plan(value)

    return complete


def _non_null(nullable_plan: Plan) -> Plan:
    def complete(value: Any) -> Any:
        if value is None:
            raise NotPlain
        return nullable_plan(value)

    return complete


def _list(item_plan: Plan) -> Plan:
    def complete(value: Any) -> list[Any]:
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise NotPlain
        return [item_plan(item) for item in value]

    return complete


def _typed(object_type: GraphQLObjectType, object_plan: Plan) -> Plan:
    """An object's plan behind its ``is_type_of`` check, as graphql-core checks it
    (strawberry's checks look at the value only, so no resolve info is built)."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return object_plan

    def complete(value: Any) -> Any:
        if is_type_of(value, None) is not True:  # type: ignore[arg-type]
            raise NotPlain
        return object_plan(value)

    return complete
