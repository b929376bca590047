"""The conventions every schema keeps, core and plugins alike, checked on a built schema.

Frontend teams rely on them without reading each plugin's docs: objects with an ``id``
refetch through ``node(id:)``; lists that grow page as Relay connections; money is the
``Money`` type; statuses are enums; a cart token is always the ``cartToken`` argument;
an idempotency key is always the ``idempotencyKey`` field of a mutation's ``input``.
:func:`problems` lists what breaks them; ``tests/test_schema_lint.py`` runs it on both
schemas with every plugin enabled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import MappingProxyType

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    get_named_type,
)

from yutang.graphql.nodes import NodeRegistry

BOUNDED_LISTS = MappingProxyType(
    {
        "Query.categories": "the catalogue's category tree, fetched whole to draw it",
        "Query.myAddresses": "an address book holds at most 20 entries",
        "Query.pickupStores": "a merchant's own stores, nearest first up to `first`",
        "Query.lotteryActivities": "the draws running now or scheduled",
        "Query.fullReductions": "the rules running now (overlapping rules are refused)",
        "Query.couponTemplates": "the templates open to claim now",
        "Query.shippingTemplates": "a merchant's few fee templates",
        "Query.permissions": "the declared permissions",
        "Query.staffRoles": "the built-in roles and the owner's",
        "Query.staff": "a merchant's own staff",
        "Query.stores": "a merchant's own stores",
        "Query.memberLevels": "a merchant's few member levels",
        "Query.plugins": "the installed plugins",
        "Query.persistedOperations": "the operations of the merchant's own frontends",
        "Query.distributorRanking": "the top promoters, up to `first`",
        "Query.webhookEventTypes": "the event types the core declares",
        "Query.jobCounts": "the largest groups of jobs, up to `first`",
        "Query.paymentProviders": "the payment providers installed for the shop",
        "Product.groupbuyTeams": "the teams to join shown on a product page, up to `first`",
    }
)
"""List fields that need no pagination, and why their size stays small."""

INT_NOT_MONEY = MappingProxyType(
    {
        "LotteryPrize.amount": "points, or coupons given, of a prize: a count",
        "LotteryAllowance.drawnTotal": "draws made in all: a count",
        "CouponTemplate.total": "coupons the template issues at most: a count",
    }
)
"""Int fields whose names sound like money but are not amounts of it."""

MONEY_WORDS = frozenset(
    {"price", "amount", "total", "subtotal", "balance", "spend", "fee", "fees", "cost"}
    | {"discount", "deposit", "deduction", "commission", "payout", "net", "basis"}
)
"""The last word of a field's name that says it holds money (``minSpend``, ``total``)."""
STATUS_WORDS = re.compile(r"(^|[a-z])(status|Status|phase|Phase|state|State)$")
CART_TOKEN = "cartToken"
IDEMPOTENCY_KEY = "idempotencyKey"


def problems(schema: GraphQLSchema, nodes: NodeRegistry | None) -> list[str]:
    """Every convention ``schema`` breaks, one line each; ``nodes`` are the types its
    ``node(id:)`` resolves (None: a schema without ``node``, whose ids are not checked)."""
    found: list[str] = []
    for type_ in _own_types(schema):
        if isinstance(type_, GraphQLInputObjectType):
            found.extend(_input_problems(type_))
        elif isinstance(type_, GraphQLObjectType):
            found.extend(_object_problems(type_, nodes))
    return found


def _own_types(schema: GraphQLSchema) -> Iterator[GraphQLType]:
    for name, type_ in sorted(schema.type_map.items()):
        if not name.startswith("__"):
            yield type_


def _input_problems(type_: GraphQLInputObjectType) -> Iterator[str]:
    for name in type_.fields:
        where = f"{type_.name}.{name}"
        if _is_cart_token(name):
            yield f"{where}: a cart token is the `{CART_TOKEN}` argument"
        if _is_idempotency_key(name) and name != IDEMPOTENCY_KEY:
            yield f"{where}: an idempotency key is named `{IDEMPOTENCY_KEY}`"
        if STATUS_WORDS.search(name) and _is_string(type_.fields[name].type):
            yield f"{where}: a status is an enum, not a String"


def _object_problems(type_: GraphQLObjectType, nodes: NodeRegistry | None) -> Iterator[str]:
    is_connection = type_.name.endswith("Connection") and "pageInfo" in type_.fields
    if nodes is not None and _has_id(type_):
        if not any(i.name == "Node" for i in type_.interfaces):
            yield f"{type_.name}: has `id: ID!` but does not implement Node"
        elif type_.name not in nodes.by_type:
            yield f"{type_.name}: implements Node but `node(id:)` cannot resolve it"
    for name, f in type_.fields.items():
        where = f"{type_.name}.{name}"
        yield from _argument_problems(where, f)
        growing = _is_list(f.type) and not is_connection and _grows(type_, f)
        if growing and where not in BOUNDED_LISTS:
            yield f"{where}: a list that grows is a connection with `first`/`after`"
        if _says_money(name) and _is_int(f.type) and where not in INT_NOT_MONEY:
            yield f"{where}: money is the `Money` type, not an Int"
        if STATUS_WORDS.search(name) and _is_string(f.type):
            yield f"{where}: a status is an enum, not a String"


def _argument_problems(where: str, f: GraphQLField) -> Iterator[str]:
    for arg, value in f.args.items():
        if _is_cart_token(arg) and arg != CART_TOKEN:
            yield f"{where}({arg}): a cart token argument is named `{CART_TOKEN}`"
        if _is_idempotency_key(arg):
            yield f"{where}({arg}): an idempotency key is the `{IDEMPOTENCY_KEY}` of `input`"
        if STATUS_WORDS.search(arg) and _is_string(value.type):
            yield f"{where}({arg}): a status is an enum, not a String"


def _grows(owner: GraphQLObjectType, f: GraphQLField) -> bool:
    """Root lists and lists a client pages with ``first`` may grow; a list inside an
    object (an order's lines, a product's SKUs) is bounded by that object."""
    element = get_named_type(f.type)
    if not isinstance(element, GraphQLObjectType | GraphQLInterfaceType):
        return False
    return owner.name in ("Query", "Mutation") or "first" in f.args


def _has_id(type_: GraphQLObjectType) -> bool:
    f = type_.fields.get("id")
    return f is not None and str(f.type) == "ID!"


def _unwrapped(type_: GraphQLType) -> GraphQLType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _is_list(type_: GraphQLType) -> bool:
    return isinstance(_unwrapped(type_), GraphQLList)


def _is_int(type_: GraphQLType) -> bool:
    return str(get_named_type(type_)) == "Int"


def _is_string(type_: GraphQLType) -> bool:
    return str(get_named_type(type_)) == "String"


def _says_money(name: str) -> bool:
    return re.split(r"(?=[A-Z])", name)[-1].lower() in MONEY_WORDS


def _is_cart_token(name: str) -> bool:
    lowered = name.lower()
    return lowered == "token" or ("cart" in lowered and "token" in lowered)


def _is_idempotency_key(name: str) -> bool:
    return "idempotency" in name.lower()
