"""placeOrder refused in front of GraphQL: a storm's doomed orders cost no execution.

When thousands of members tap "buy" as a seckill session opens, all but a few hundred
orders are refused (sold out, limit reached). The plugins that know it without a
transaction say so in their activity's ``admit``; this layer asks them before the request
reaches the router, and answers a refusal itself, so such a request costs the tenant and
caller lookups, the hook and an idempotency-key check: no routing, no GraphQL execution,
no checkout reads.

It acts only on what it can answer as GraphQL would: a JSON POST of a valid storefront
document whose operation is a mutation of one ``placeOrder`` field, sent by a member of
the tenant, whose input converts as the resolver converts it (lines given, not the
cart's). The refusal is rendered from the field's selection with GraphQL's field
collection (aliases, fragments, ``@skip``/``@include``); a selection it cannot render
goes on to GraphQL. A request the plugins let through goes on marked as admitted,
so the resolver does not ask them again.

The layer is on unless ``YUTANG_FRONT_ADMISSION=0``; without it the resolver's own
admission (the same hook, inside GraphQL) refuses the same orders with the same answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from cachetools import LRUCache
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    get_nullable_type,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from yutang.core import activities, orders
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.orders import PlaceOrderInput as CorePlaceOrderInput
from yutang.core.plugins import hooks_of
from yutang.edge.asgi import ASGIApp, Layer, Receive, Scope, Send, send_json
from yutang.edge.documents import parse_document
from yutang.edge.identity import bearer_token, identity_of, tenant_principal
from yutang.edge.operation import hand_on, operation_of
from yutang.graphql.input_bounds import variable_errors
from yutang.graphql.inputs import order_lines_data, place_order_data
from yutang.graphql.schema import RULES, PluginSchema, SchemaCache

FIELD = "placeOrder"
LINES_ONLY = ("lines", "idempotencyKey", "fromCart")  # what order_lines_data converts

_encoder = msgspec.json.Encoder()
ADMITTED: Literal["admitted"] = "admitted"
Verdict = bytes | Literal["admitted"] | None
"""A refusal's response body, ``ADMITTED``, or None: not one for this layer."""


@dataclass(frozen=True)
class _Shape:
    """A valid document's ``placeOrder`` field, ready to read arguments from."""

    node: FieldNode
    definition: GraphQLField
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]

    @property
    def input_fields(self) -> dict[str, GraphQLInputField]:
        """The fields of the ``input`` argument's type."""
        input_type = get_nullable_type(self.definition.args["input"].type)
        assert isinstance(input_type, GraphQLInputObjectType)
        fields: dict[str, GraphQLInputField] = input_type.fields
        return fields


MAX_SHAPES = 256


def _new_shape(schema: GraphQLSchema, text: str, operation_name: str | None) -> _Shape | None:
    try:
        document = parse_document(text, no_location=True)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return None
    roots = operation.selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or roots[0].directives:
        return None
    if roots[0].name.value != FIELD or schema.mutation_type is None:
        return None
    if validate(schema, document, [*specified_rules, *RULES]):
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    definition = schema.mutation_type.fields[FIELD]
    return _Shape(roots[0], definition, operation, fragments)


class Admission(Layer):
    """Asks the tenant's activities about a placeOrder before GraphQL runs it.

    Valid documents' shapes are kept by (schema, sha256 of the text, operation name), the
    most recently used ``MAX_SHAPES``; only valid ones, without their source text, so junk
    cannot fill memory.
    """

    def __init__(self, schemas: SchemaCache) -> None:
        self.schemas = schemas
        self._shapes: LRUCache[tuple[GraphQLSchema, str, str | None], _Shape] = LRUCache(MAX_SHAPES)

    async def serve(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        operation = operation_of(scope)
        identity = identity_of(scope)
        if operation is not None and operation.text is not None and identity is not None:
            request = operation.request
            verdict = await self.verdict(
                scope, identity.tenant, operation.text, request.variables, request.operation_name
            )
            if isinstance(verdict, bytes):
                await send_json(send, 200, verdict)
                return
            if verdict == ADMITTED:
                hand_on(scope, dataclasses.replace(operation, admitted=True))
        await next_app(scope, receive, send)

    def _shape(self, schema: GraphQLSchema, text: str, operation_name: str | None) -> _Shape | None:
        """The ``placeOrder`` field of a valid document whose operation is that one mutation."""
        key = (schema, hashlib.sha256(text.encode()).hexdigest(), operation_name)
        found = self._shapes.get(key)
        if found is None:
            found = _new_shape(schema, text, operation_name)
            if found is not None:
                self._shapes[key] = found
        return found

    async def refusal(
        self,
        scope: dict[str, Any],
        tenant: TenantInfo,
        text: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> bytes | None:
        """The response body refusing this request, or None to let it go on to GraphQL."""
        verdict = await self.verdict(scope, tenant, text, variables, operation_name)
        return verdict if isinstance(verdict, bytes) else None

    async def verdict(
        self,
        scope: dict[str, Any],
        tenant: TenantInfo,
        text: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> Verdict:
        """Refused (the response body), admitted, or None: GraphQL decides. The caller is
        the identity layer's; asked outside the edge, it is looked up from the token."""
        if FIELD not in text or not _json_post(scope) or not activities.admits(hooks_of(tenant)):
            return None
        schema = self.schemas.get("storefront", hooks_of(tenant))
        shape = self._shape(schema._schema, text, operation_name)
        if shape is None:
            return None
        identity = identity_of(scope)
        principal = (
            identity.principal
            if identity is not None
            else await tenant_principal(bearer_token(scope["headers"]), tenant)
        )
        definitions = shape.operation.variable_definitions or ()
        if variable_errors(definitions, variables):
            return None  # GraphQL refuses them
        values = get_variable_values(schema._schema, definitions, variables or {})
        if principal is None or principal.kind != "member" or isinstance(values, list):
            return None
        try:
            raw = get_argument_values(shape.definition, shape.node, values)["input"]
            data = _order_data(schema, shape, raw)
        except (DomainError, GraphQLError):
            return None
        try:
            await orders.admit(tenant, principal.id, data)
        except DomainError as refused:
            return _render(shape, values, refused)
        return ADMITTED


def _json_post(scope: dict[str, Any]) -> bool:
    """A POST of JSON: what strawberry executes mutations for (a GET or another body type
    gets its own error there)."""
    if scope["method"] != "POST":
        return False
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False


def _order_data(schema: PluginSchema, shape: _Shape, raw: dict[str, Any]) -> CorePlaceOrderInput:
    """The core input the resolver would get: straight from GraphQL's coerced values when
    the input holds nothing but lines, key and the cart flag (a storm's orders), else
    through strawberry's conversion and the resolver's own function, so any other field's
    error is the one GraphQL reports."""
    fields = shape.input_fields
    if all(
        name in LINES_ONLY or value == fields[name].default_value for name, value in raw.items()
    ):
        return order_lines_data(raw)
    field = shape.definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert isinstance(field, StrawberryField)
    converted = convert_arguments(
        {"input": raw},
        field.arguments,
        scalar_registry=schema.schema_converter.scalar_registry,
        config=schema.config,
    )
    return place_order_data(converted["input"])


class _NotPlain(Exception):
    """The selection needs GraphQL itself (an abstract fragment, another directive)."""


def _render(shape: _Shape, values: VariableValues, refused: DomainError) -> bytes | None:
    """``{"data": {<placeOrder's key>: <OrderPayload with the error>}}`` as GraphQL
    would send it, or None if the selection is not one this module renders."""
    payload = {
        "__typename": "OrderPayload",
        "order": None,
        "quote": None,
        "errors": [
            {
                "__typename": "UserError",
                "code": refused.code,
                "field": refused.field,
                "message": refused.message,
                "retryAfter": None,
            }
        ],
    }
    key = (shape.node.alias or shape.node.name).value
    selection = shape.node.selection_set
    try:
        if selection is None:
            raise _NotPlain(FIELD)
        body = _complete(selection.selections, payload, shape, values)
    except _NotPlain:
        return None
    return _encoder.encode({"data": {key: body}})


def _complete(
    selections: tuple[SelectionNode, ...] | list[SelectionNode],
    value: dict[str, Any],
    shape: _Shape,
    values: VariableValues,
) -> dict[str, Any]:
    """``value`` completed for ``selections``, fields merged by response key."""
    fields: dict[str, list[FieldNode]] = {}
    _collect(selections, value["__typename"], shape, values, fields)
    out: dict[str, Any] = {}
    for key, nodes in fields.items():
        name = nodes[0].name.value
        if name not in value:  # a field a plugin added to the payload
            raise _NotPlain(name)
        item = value[name]
        sub = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
        if item is None or not sub:
            out[key] = item
        elif isinstance(item, list):
            out[key] = [_complete(sub, v, shape, values) for v in item]
        else:
            out[key] = _complete(sub, item, shape, values)
    return out


def _collect(
    selections: tuple[SelectionNode, ...] | list[SelectionNode],
    type_name: str,
    shape: _Shape,
    values: VariableValues,
    fields: dict[str, list[FieldNode]],
) -> None:
    for node in selections:
        if not _included(node, values):
            continue
        if isinstance(node, FieldNode):
            fields.setdefault((node.alias or node.name).value, []).append(node)
            continue
        if isinstance(node, InlineFragmentNode):
            condition, inner = node.type_condition, node.selection_set
        elif isinstance(node, FragmentSpreadNode):
            fragment = shape.fragments[node.name.value]
            condition, inner = fragment.type_condition, fragment.selection_set
        else:
            raise _NotPlain(type(node).__name__)
        if condition is not None and condition.name.value != type_name:
            raise _NotPlain(condition.name.value)
        _collect(inner.selections, type_name, shape, values, fields)


def _included(node: SelectionNode, values: VariableValues) -> bool:
    """``@skip``/``@include`` as GraphQL applies them; any other directive is not plain."""
    for directive in node.directives or ():
        if directive.name.value not in ("skip", "include"):
            raise _NotPlain(directive.name.value)
    skip = get_directive_values(GraphQLSkipDirective, node, values)
    if skip is not None and skip["if"] is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, values)
    return include is None or include["if"] is True
