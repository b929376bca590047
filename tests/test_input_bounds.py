"""Bounds on what a request may carry, over HTTP against the real app: each was an HTTP
500 or a bare error, and is now a typed refusal that writes nothing, alike on SQLite and
PostgreSQL.

- JSON nested deeper than 32 levels (decoders recursed until RecursionError),
- strings longer than the column they are looked up in (tortoise's ValidationError),
- a NUL character in any string (PostgreSQL text and jsonb cannot hold it),
- cursors whose number does not fit a signed 64-bit integer.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from test_bad_input import Shop, err, refused, shop, snapshot

from yutang.core.models import Member
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

__all__ = ["shop"]  # the fixture, shared with test_bad_input

DEEP_VARIABLES = [
    (
        "/graphql",
        'mutation($e: RegisterExtensionsInput) { register(phone: "13800000005", '
        'password: "secret-1", extensions: $e) { errors { code field message } } }',
    ),
    (
        "/graphql",
        "query($e: CheckoutExtensionsInput) { quote(input: {lines: [], extensions: $e}) "
        "{ errors { code } } }",
    ),
    ("/admin/graphql", "mutation($e: JSON) { updateSku(id: $sku, specs: $e) { errors { code } } }"),
]
"""Variables of an input object type (plugins' input) and of the JSON scalar: their
nesting is bounded before they are decoded, whatever their type."""


def nested(levels: int) -> str:
    """A JSON list nested ``levels`` deep."""
    return "[" * levels + "1" + "]" * levels


def raw_request(query: str, variables: str) -> str:
    """A request body with ``variables`` written as given."""
    return '{"query": ' + json.dumps(query) + ', "variables": ' + variables + "}"


async def post(
    http: httpx.AsyncClient, client: GraphQLClient, path: str, content: str
) -> tuple[int, dict[str, Any]]:
    """POST raw JSON as ``client`` (the test client's encoder cannot write deep JSON)."""
    headers = {"X-Tenant": client.tenant, "Content-Type": "application/json"}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    response = await http.post(path, content=content.encode(), headers=headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def too_deep(name: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [
            {
                "message": f"Variable '${name}' nests deeper than 32 levels.",
                "extensions": {"code": "INVALID", "field": name},
            }
        ],
    }


async def test_a_variable_nested_too_deep_is_refused_naming_it(
    http: httpx.AsyncClient, shop: Shop, admin: GraphQLClient
) -> None:
    """A 2 KB variable nested 1,000 deep was an HTTP 500 on both APIs (RecursionError in
    the JSON decoders, before GraphQL saw it)."""
    before = await snapshot()
    for path, query in DEEP_VARIABLES:
        client = admin if path.startswith("/admin") else shop.me
        text = query.replace("$sku", json.dumps(shop.tea))
        for levels in (33, 1000, 100_000):
            body = raw_request(text, '{"e": ' + nested(levels) + "}")
            assert await post(http, client, path, body) == (200, too_deep("e")), (path, levels)
        # 32 levels are a value like any other: the JSON scalar takes it, an input
        # object type refuses it as GraphQL refuses any value of the wrong shape
        body = raw_request(text, '{"e": ' + nested(32) + "}")
        status, answer = await post(http, client, path, body)
        if "JSON" in query:
            assert status == 200 and "errors" not in answer, answer
        else:
            assert status == 200 and "to be an object" in answer["errors"][0]["message"]
    assert await snapshot() == before

    # a GET's variables, and a literal nested as deep
    query = DEEP_VARIABLES[1][1]
    response = await http.get(
        "/graphql",
        params={"query": query, "variables": '{"e": ' + nested(1000) + "}"},
        headers={"X-Tenant": "shop"},
    )
    assert (response.status_code, response.json()) == (200, too_deep("e"))
    # a literal argument holds to the same bound: here the object and its list
    literal = "mutation { updateSku(id: SKU, specs: {x: DEEP}) { errors { code field } } }"
    literal = literal.replace("SKU", json.dumps(shop.tea))
    body = await refused(admin, literal.replace("DEEP", nested(32)), {})
    assert body["data"] is None
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        (
            "Argument 'specs' has invalid value at .x"
            + "[0]" * 31
            + ": lists and objects nest at most 32 levels.",
            {"code": "INVALID", "field": "specs.x" + "[0]" * 31},
        )
    ]
    done = await admin(literal.replace("DEEP", nested(31)))
    assert done["updateSku"]["errors"] == [{"code": "INVALID", "field": "specs[...]"}]


async def test_strings_longer_than_their_column_are_invalid(
    make_tenant: MakeTenant, storefront: GraphQLClient, http: httpx.AsyncClient
) -> None:
    """``login(phone:)`` and the pickup code were looked up as given: tortoise refused a
    value longer than the column (32) with a bare ValidationError ("Unexpected error."
    in production). Both are bounded where the input is converted."""
    login = """mutation($phone: String!) { login(phone: $phone, password: "secret-1") {
      token errors { code field message } } }"""
    body = await refused(storefront, login, {"phone": "1" * 33})
    assert body == {
        "data": {
            "login": {
                "token": None,
                "errors": [err("INVALID", "phone", "最多 32 个字符 / at most 32 characters")],
            }
        }
    }
    picking = await make_tenant("pick", plugins=["pickup"])
    _, token = await create_staff(picking, "owner", "owner")
    admin = GraphQLClient(http, "/admin/graphql", "pick", token)
    invalid = [err("INVALID", "code", "最多 32 个字符 / at most 32 characters")]
    verify = "mutation($c: String!) { verifyPickup(code: $c) { errors { code field message } } }"
    look = "query($c: String!) { pickupOrderByCode(code: $c) { errors { code field message } } }"
    for code in ("A" * 33, "A" * 64, "A" * 5000):
        body = await refused(admin, verify, {"c": code})
        assert body == {"data": {"verifyPickup": {"errors": invalid}}}
        body = await refused(admin, look, {"c": code})
        assert body == {"data": {"pickupOrderByCode": {"errors": invalid}}}
    # spaces and dashes a member reads out do not count
    body = await refused(admin, look, {"c": "ABCD-EFGH-" * 4})
    assert body["data"]["pickupOrderByCode"]["errors"] == [
        err("NOT_FOUND", "code", "no pickup order has this code")
    ]


async def test_other_strings_looked_up_or_stored_are_bounded_too(
    make_tenant: MakeTenant, http: httpx.AsyncClient
) -> None:
    """Siblings of the above found by the fuzz test and a sweep of every String argument:
    logins, stores, member levels, a cart line's activity, status filters, a persisted
    query's hash. Each was "Unexpected error." (or an HTTP 500 in front of GraphQL)."""
    shop = await make_tenant("dist", plugins=["distributor"])
    _, owner = await create_staff(shop, "owner", "owner")
    _, member = await create_member(shop, "13900000009")
    admin = GraphQLClient(http, "/admin/graphql", "dist", owner)
    storefront = GraphQLClient(http, "/graphql", "dist", member)
    long = "L" * 300
    cases: list[tuple[GraphQLClient, str, dict[str, Any], str, dict[str, Any]]] = [
        (
            admin,
            'mutation($u: String!) { staffLogin(username: $u, password: "secret-1") '
            "{ errors { code field message } } }",
            {"u": long},
            "staffLogin",
            err("INVALID", "username", "最多 64 个字符 / at most 64 characters"),
        ),
        (
            admin,
            'mutation($u: String!) { operatorLogin(username: $u, password: "secret-1") '
            "{ errors { code field message } } }",
            {"u": long},
            "operatorLogin",
            err("INVALID", "username", "最多 64 个字符 / at most 64 characters"),
        ),
        (
            admin,
            "mutation($n: String!) { createStore(name: $n) { errors { code field message } } }",
            {"n": long},
            "createStore",
            err("INVALID", "name", "最多 200 个字符 / at most 200 characters"),
        ),
        (
            admin,
            "mutation($n: String!) { saveMemberLevel(name: $n, minSpend: 1, discountPercent: 90) "
            "{ errors { code field message } } }",
            {"n": long},
            "saveMemberLevel",
            err("INVALID", "name", "最多 64 个字符 / at most 64 characters"),
        ),
        (
            admin,
            'mutation($u: String!) { createStaff(username: $u, password: "secret-1", '
            'role: "clerk", name: "") { errors { code field message } } }',
            {"u": long},
            "createStaff",
            err("INVALID", "username", "1 to 64 characters, no surrounding spaces"),
        ),
        (
            storefront,
            "mutation($sku: ID!, $p: String!) { addToCart(input: {skuId: $sku, quantity: 1, "
            'activity: {plugin: $p, ref: "1"}}) { errors { code field message } } }',
            {"sku": to_global("Sku", 1), "p": long},
            "addToCart",
            err("INVALID", "activity.plugin", "最多 64 个字符 / at most 64 characters"),
        ),
        (
            storefront,
            'mutation($c: String!) { bindPromoter(code: $c, source: "code") '
            "{ errors { code field message } } }",
            {"c": long},
            "bindPromoter",
            err("INVALID", "code", "最多 16 个字符 / at most 16 characters"),
        ),
    ]
    for client, query, variables, field, expected in cases:
        body = await refused(client, query, variables)
        assert body["data"][field]["errors"] == [expected], field

    # a status filter is an enum: a value outside it is refused before any resolver runs
    for client, field, enum in (
        (admin, "orders", "OrderStatus"),
        (storefront, "myDistributorCommissions", "DistributorCommissionStatus"),
        (admin, "distributorPromoters", "DistributorPromoterStatus"),
        (admin, "distributorWithdrawals", "DistributorWithdrawalStatus"),
    ):
        query = f"query($s: {enum}) {{ {field}(status: $s, first: 1) {{ edges {{ cursor }} }} }}"
        for status in ("nope", long):
            body = await refused(client, query, {"s": status})
            assert body.get("data") is None and len(body["errors"]) == 1, (field, status)

    # a persisted query's hash that is no sha256 is not found, never looked up
    for sha in ("a" * 65, "ab\x00", "x" * 5000):
        response = await http.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}}},
            headers={"X-Tenant": "dist"},
        )
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_FOUND"}


def nul_error(message: str, field: str) -> tuple[str, dict[str, Any]]:
    return message + ": a string cannot contain the NUL character (U+0000).", {
        "code": "INVALID",
        "field": field,
    }


async def test_a_nul_character_is_refused_alike_on_both_databases(
    shop: Shop, storefront: GraphQLClient, admin: GraphQLClient
) -> None:
    """PostgreSQL raised "invalid byte sequence for encoding UTF8: 0x00" (a bare error)
    where SQLite stored the NUL: registering with such a nickname worked on one database
    only. Every string in variables and literals is refused before anything runs."""
    register = """mutation($phone: String!, $nick: String!, $ext: RegisterExtensionsInput) {
      register(phone: $phone, password: "secret-1", nickname: $nick, extensions: $ext) {
      token errors { code field message } } }"""
    place = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
      order { id } errors { code field message } } }"""
    cases: list[tuple[GraphQLClient, str, dict[str, Any], tuple[str, dict[str, Any]]]] = [
        (
            storefront,
            register,
            {"phone": "13800000006", "nick": "a\x00b"},
            nul_error("Variable '$nick' has invalid value", "nick"),
        ),
        (
            storefront,
            register,
            {"phone": "13800000006", "nick": "", "ext": {"x": [{"k\x00": 1}]}},
            nul_error("Variable '$ext' has invalid value at .x[0]", "ext.x[0]"),
        ),
        (
            storefront,
            'mutation { login(phone: "1380000\\u00000006", password: "x") { token } }',
            {},
            nul_error("Argument 'phone' has invalid value", "phone"),
        ),
        (
            shop.me,
            place,
            {"input": {"lines": [{"skuId": shop.tea, "quantity": 1}], "idempotencyKey": "\x00"}},
            nul_error(
                "Variable '$input' has invalid value at .idempotencyKey", "input.idempotencyKey"
            ),
        ),
        (
            shop.me,
            place,
            {
                "input": {
                    "lines": [{"skuId": shop.tea + "\x00", "quantity": 1}],
                    "idempotencyKey": "k",
                }
            },
            nul_error(
                "Variable '$input' has invalid value at .lines[0].skuId", "input.lines[0].skuId"
            ),
        ),
        (
            admin,
            'mutation { createStore(name: "a\\u0000", address: "b") { errors { code } } }',
            {},
            nul_error("Argument 'name' has invalid value", "name"),
        ),
        (
            admin,
            'query($s: String = "\\u0000") { products(first: 1, search: $s) { edges { cursor } } }',
            {},
            nul_error("Variable '$s' default has invalid value", "s"),
        ),
    ]
    for client, query, variables, (message, extensions) in cases:
        body = await refused(client, query, variables)
        assert body["data"] is None, body
        assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
            (message, extensions)
        ], query
    assert await Member.filter(phone="13800000006").count() == 0
    # nor in the tenant's name (an ASGI server may pass it on)
    response = await storefront.http.post(
        "/graphql", json={"query": "{ categories { name } }"}, headers={"X-Tenant": "shop\x00"}
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def cursor(number: int | str) -> str:
    return base64.b64encode(f"c:{number}".encode()).decode()


async def test_cursors_beyond_64_bits_are_invalid(shop: Shop, admin: GraphQLClient) -> None:
    """A cursor decodes to a primary key: one past the largest BIGINT overflowed in the
    database driver (SQLite OverflowError, asyncpg DataError)."""
    pages = [
        (shop.me, "products"),
        (shop.me, "myOrders"),
        (admin, "orders"),
        (admin, "members"),
        (admin, "products"),
    ]
    invalid = {"code": "INVALID", "field": "after"}
    for client, field in pages:
        query = (
            f"query($after: String) {{ {field}(first: 5, after: $after) {{ edges {{ cursor }} }} }}"
        )
        for bad in (cursor(2**63), cursor(10**30), cursor(0), cursor(-1), cursor("1_0"), "@@"):
            body = await refused(client, query, {"after": bad})
            assert not any((body["data"] or {}).values()), (field, bad)  # myOrders: null
            assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
                ("not a valid cursor", invalid)
            ], (field, bad)
        # the largest BIGINT is a cursor like any other
        done = await client(query, {"after": cursor(2**63 - 1)})
        assert isinstance(done[field]["edges"], list)
    # IDs of the same shape hold to the same bounds
    body = await refused(
        shop.me, "query($id: ID!) { node(id: $id) { id } }", {"id": to_global("Order", 2**63)}
    )
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "id"}
