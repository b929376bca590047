"""Bad input over HTTP against the real app: every refusal is exact and writes nothing.

Each case takes a snapshot of everything a request could write (orders, stock, prices,
points, members, idempotency keys, jobs) before and after, and the two must be equal.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import httpx
import msgspec
import pytest
import pytest_asyncio

from yutang.app import create_app
from yutang.core.contract import TenantInfo
from yutang.core.models import (
    IdempotencyRecord,
    Job,
    Member,
    Order,
    OrderLine,
    Payment,
    PointsEntry,
    Product,
    Refund,
    Sku,
)
from yutang.core.runtime import Runtime
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, create_member

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id status total { amount } pointsUsed }
    quote { total { amount } hash }
    errors { code field message }
  }
}"""
QUOTE = """
query($input: CheckoutInput!) {
  quote(input: $input) {
    quote { total { amount } pointsUsed hash }
    errors { code field message }
  }
}"""
REGISTER = """
mutation($phone: String!, $password: String!, $referrer: ID, $ext: RegisterExtensionsInput) {
  register(phone: $phone, password: $password, referrerId: $referrer, extensions: $ext) {
    token member { phone } errors { code field message }
  }
}"""


class Shop(NamedTuple):
    """A member with 10,000 points and the SKUs the cases order."""

    member: Member
    me: GraphQLClient
    tea: str  # 5800, stock 3
    cup: str  # 1200, stock 10
    tea_pk: int
    tea_product: str
    hidden: str  # unpublished product
    foreign: str  # a SKU of another tenant


@pytest_asyncio.fixture
async def shop(member, make_product, make_tenant) -> Shop:
    row, me = member
    product = await make_product("Tea", [(5800, 3), (1200, 10)])
    tea, cup = await Sku.filter(product_id=product.id).order_by("id")
    hidden = await make_product("Hidden", [(100, 5)], published=False)
    other = await make_tenant("other")
    foreign = await make_product("Foreign", [(100, 5)], on=other)
    return Shop(
        member=row,
        me=me,
        tea=to_global("Sku", tea.id),
        cup=to_global("Sku", cup.id),
        tea_pk=tea.id,
        tea_product=to_global("Product", product.id),
        hidden=to_global("Sku", (await Sku.get(product_id=hidden.id)).id),
        foreign=to_global("Sku", (await Sku.get(product_id=foreign.id)).id),
    )


async def snapshot() -> dict[str, Any]:
    """Everything a storefront or admin request could write."""
    return {
        "orders": await Order.all()
        .order_by("id")
        .values("id", "status", "total", "paid_amount", "refunded_amount"),
        "order_lines": await OrderLine.all()
        .order_by("id")
        .values("id", "refunded_quantity", "refunded_amount", "refunded_points"),
        "payments": await Payment.all().count(),
        "refunds": await Refund.all().count(),
        "skus": await Sku.all().order_by("id").values("id", "price", "stock", "specs"),
        "products": await Product.all().count(),
        "members": await Member.all().order_by("id").values("id", "phone", "points", "paid_spend"),
        "points_entries": await PointsEntry.all().count(),
        "idempotency": await IdempotencyRecord.all().count(),
        "jobs": await Job.all().count(),
    }


async def refused(client: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The response body of a request that must leave the database exactly as it was."""
    before = await snapshot()
    body = await client.raw(query, variables)
    assert await snapshot() == before
    return body


def err(code: str, field: str | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


async def place_refused(client: GraphQLClient, input: dict[str, Any]) -> list[dict[str, Any]]:
    """placeOrder's payload errors for an input that must be refused with nothing written."""
    body = await refused(client, PLACE, {"input": input})
    assert "errors" not in body, body
    payload = body["data"]["placeOrder"]
    assert payload["order"] is None and payload["quote"] is None
    errors: list[dict[str, Any]] = payload["errors"]
    return errors


async def quote_refused(client: GraphQLClient, input: dict[str, Any]) -> list[dict[str, Any]]:
    body = await refused(client, QUOTE, {"input": input})
    assert "errors" not in body, body
    assert body["data"]["quote"]["quote"] is None
    errors: list[dict[str, Any]] = body["data"]["quote"]["errors"]
    return errors


def gql_messages(body: dict[str, Any]) -> list[str]:
    """Top-level GraphQL error messages of a request refused before execution."""
    assert body["data"] is None, body
    return [e["message"] for e in body["errors"]]


def line(sku: str, quantity: Any = 1) -> dict[str, Any]:
    return {"skuId": sku, "quantity": quantity}


def raw_id(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- malformed requests ------------------------------------------------------------------


MALFORMED = [
    (b'{"query": "mutation { placeOrder(', "Unable to parse request body as JSON"),
    (b"\xff\xfe{}", "Unable to parse request body as JSON"),
    (b"{}", "No GraphQL query found in the request"),
    (b'{"query": 5}', "The GraphQL operation's `query` must be a string or null, if provided."),
    (
        b'{"query": "{ categories { name } }", "variables": "x"}',
        "The GraphQL operation's `variables` must be an object or null, if provided.",
    ),
    (b"[]", "Batching is not enabled"),
]


async def test_malformed_requests_write_nothing(http: httpx.AsyncClient, shop: Shop) -> None:
    # A GraphQL syntax error is a GraphQL error.
    cut = 'mutation { placeOrder(input: {lines: [{skuId: "SKU", quantity: 1}], idempo'
    body = await refused(shop.me, cut.replace("SKU", shop.tea), {})
    assert gql_messages(body) == ["Syntax Error: Expected ':', found <EOF>."]
    body = await refused(shop.me, "mutation { placeOrder(input: {}) { order { id } } ", {})
    assert gql_messages(body) == ["Syntax Error: Expected Name, found <EOF>."]
    # A body that is not a GraphQL request is a 400.
    headers = {
        "X-Tenant": "shop",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {shop.me.token}",
    }
    before = await snapshot()
    for content, message in MALFORMED:
        response = await http.post("/graphql", content=content, headers=headers)
        assert (response.status_code, response.text) == (400, message), content
    # A body over 1 MiB is refused before anything reads it as GraphQL.
    huge = b'{"query": "{ categories { name } }", "variables": {"x": "' + b"x" * (1 << 20) + b'"}}'
    response = await http.post("/graphql", content=huge, headers=headers)
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"
    # An unknown tenant is a 404.
    response = await http.post(
        "/graphql", json={"query": "{ categories { name } }"}, headers={"X-Tenant": "nope"}
    )
    assert response.status_code == 404
    assert response.json() == {"errors": [err("NOT_FOUND", "X-Tenant", "tenant 'nope' not found")]}
    assert await snapshot() == before


# -- wrong types -------------------------------------------------------------------------


async def test_quantity_of_the_wrong_type_is_refused_by_graphql(shop: Shop) -> None:
    inline = """mutation { placeOrder(input: {lines: [{skuId: "SKU", quantity: "two"}],
      idempotencyKey: "k"}) { order { id } errors { code } } }""".replace("SKU", shop.tea)
    assert gql_messages(await refused(shop.me, inline, {})) == [
        'Int cannot represent non-integer value: "two"'
    ]
    body = await refused(
        shop.me, PLACE, {"input": {"lines": [line(shop.tea, "two")], "idempotencyKey": "k"}}
    )
    assert gql_messages(body) == [
        "Variable '$input' has invalid value at .lines[0].quantity: "
        "Int cannot represent non-integer value: 'two'"
    ]
    body = await refused(
        shop.me, PLACE, {"input": {"lines": [line(shop.tea, 2**31)], "idempotencyKey": "k"}}
    )
    assert gql_messages(body) == [
        "Variable '$input' has invalid value at .lines[0].quantity: "
        "Int cannot represent non 32-bit signed integer value: 2147483648"
    ]


async def test_sku_id_of_the_wrong_type_names_the_line(shop: Shop) -> None:
    cases = [
        (shop.tea_product, "expected a Sku ID"),
        (to_global("Order", 1), "expected a Sku ID"),
        ("@@@", "not a valid ID"),
        (raw_id("Sku:abc"), "not a valid ID"),
        ("5", "not a valid ID"),
        (raw_id("Sku:0"), "not a valid ID"),
        (raw_id("Sku:-5"), "not a valid ID"),
    ]
    for value, message in cases:
        lines = [line(shop.cup), line(value)]
        expected = [err("INVALID", "lines[1].skuId", message)]
        assert await place_refused(shop.me, {"lines": lines, "idempotencyKey": "k"}) == expected
        assert await quote_refused(shop.me, {"lines": lines}) == expected


async def test_ids_beyond_64_bits_are_invalid_not_a_crash(shop: Shop) -> None:
    """An ID whose number does not fit a BIGINT is refused before it reaches the database
    (SQLite raised OverflowError and asyncpg a DataError, both surfacing as bare errors)."""
    for huge in ("Sku:9223372036854775808", "Sku:99999999999999999999999999"):
        assert await quote_refused(shop.me, {"lines": [line(raw_id(huge))]}) == [
            err("INVALID", "lines[0].skuId", "not a valid ID")
        ]
    body = await refused(
        shop.me,
        'mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "p"}) '
        "{ errors { code field message } } }",
        {"id": raw_id("Order:99999999999999999999")},
    )
    assert body == {"data": {"payOrder": {"errors": [err("INVALID", "orderId", "not a valid ID")]}}}
    # the largest BIGINT is a valid ID, of no SKU
    largest = raw_id(f"Sku:{2**63 - 1}")
    assert await quote_refused(shop.me, {"lines": [line(largest)]}) == [
        err("NOT_FOUND", "lines[0].skuId", "SKU not found")
    ]


# -- quantities, lines, SKUs -------------------------------------------------------------


async def test_bad_quantity_names_the_line(shop: Shop) -> None:
    cases = [
        (0, "不能小于 1 / at least 1"),
        (-1, "不能小于 1 / at least 1"),
        (10000, "不能大于 9999 / at most 9999"),
    ]
    for quantity, message in cases:
        expected = [err("INVALID", "lines[0].quantity", message)]
        lines = [line(shop.tea, quantity), line(shop.cup)]
        assert await place_refused(shop.me, {"lines": lines, "idempotencyKey": "k"}) == expected
        assert await quote_refused(shop.me, {"lines": lines}) == expected
        second = [line(shop.cup), line(shop.tea, quantity)]
        assert await place_refused(shop.me, {"lines": second, "idempotencyKey": "k"}) == [
            err("INVALID", "lines[1].quantity", message)
        ]

    assert await place_refused(shop.me, {"lines": [], "idempotencyKey": "k"}) == [
        err("INVALID", "lines", "至少 1 项 / at least 1 item")
    ]
    many = [line(shop.cup)] * 101
    assert await place_refused(shop.me, {"lines": many, "idempotencyKey": "k"}) == [
        err("INVALID", "lines", "最多 100 项 / at most 100 items")
    ]


async def test_unknown_or_foreign_sku_is_not_found(shop: Shop) -> None:
    for sku in (to_global("Sku", 999_999), shop.foreign):
        assert await place_refused(shop.me, {"lines": [line(sku)], "idempotencyKey": "k"}) == [
            err("NOT_FOUND", "lines[0].skuId", "SKU not found")
        ]
        assert await quote_refused(shop.me, {"lines": [line(shop.cup), line(sku)]}) == [
            err("NOT_FOUND", "lines[1].skuId", "SKU not found")
        ]

    # an unpublished product's SKU is not for sale
    expected = [err("UNAVAILABLE", "lines[0].skuId", "this product is not on sale")]
    assert await place_refused(shop.me, {"lines": [line(shop.hidden)], "idempotencyKey": "k"}) == (
        expected
    )
    assert await quote_refused(shop.me, {"lines": [line(shop.hidden)]}) == expected


async def test_quantity_above_stock(shop: Shop) -> None:
    expected = [err("INSUFFICIENT_STOCK", "lines[0].quantity", "only 3 left")]
    assert await place_refused(shop.me, {"lines": [line(shop.tea, 4)], "idempotencyKey": "k"}) == (
        expected
    )
    assert await quote_refused(shop.me, {"lines": [line(shop.tea, 4)]}) == expected
    # The key of a refused order was not used up: exactly the stock goes through with it.
    placed = await shop.me(PLACE, {"input": {"lines": [line(shop.tea, 3)], "idempotencyKey": "k"}})
    assert placed["placeOrder"]["errors"] == []
    assert placed["placeOrder"]["order"]["total"] == {"amount": 3 * 5800}
    assert (await Sku.get(id=shop.tea_pk)).stock == 0
    assert await place_refused(shop.me, {"lines": [line(shop.tea)], "idempotencyKey": "k2"}) == [
        err("INSUFFICIENT_STOCK", "lines[0].quantity", "only 0 left")
    ]


async def test_lines_of_one_sku_together_above_stock(shop: Shop) -> None:
    """Two lines of one SKU that fit alone but not together (2 + 2 of 3 in stock) are
    refused at quote time, naming the line that goes over."""
    lines = [line(shop.tea, 2), line(shop.tea, 2)]
    expected = [err("INSUFFICIENT_STOCK", "lines[1].quantity", "only 3 left")]
    assert await place_refused(shop.me, {"lines": lines, "idempotencyKey": "k"}) == expected
    assert await quote_refused(shop.me, {"lines": lines}) == expected
    fits = await shop.me(QUOTE, {"input": {"lines": [line(shop.tea, 2), line(shop.tea, 1)]}})
    assert fits["quote"]["errors"] == []
    assert fits["quote"]["quote"]["total"] == {"amount": 3 * 5800}


# -- price manipulation ------------------------------------------------------------------


async def test_there_is_no_price_input(shop: Shop) -> None:
    inline = """mutation { placeOrder(input: {lines: [{skuId: "SKU", quantity: 1, unitPrice: 1}],
      idempotencyKey: "k"}) { order { id } errors { code } } }""".replace("SKU", shop.tea)
    assert gql_messages(await refused(shop.me, inline, {})) == [
        "Expected value of type 'LineInput' not to include unknown field 'unitPrice', "
        f'found: {{ skuId: "{shop.tea}", quantity: 1, unitPrice: 1 }}.'
    ]
    total = """mutation { placeOrder(input: {lines: [{skuId: "SKU", quantity: 1}], total: 1,
      idempotencyKey: "k"}) { order { id } errors { code } } }""".replace("SKU", shop.tea)
    assert gql_messages(await refused(shop.me, total, {})) == [
        "Expected value of type 'PlaceOrderInput' not to include unknown field 'total', "
        f'found: {{ lines: [{{ skuId: "{shop.tea}", quantity: 1 }}], total: 1, '
        'idempotencyKey: "k" }.'
    ]
    cheap = {"skuId": shop.tea, "quantity": 1, "unitPrice": 1}
    body = await refused(shop.me, PLACE, {"input": {"lines": [cheap], "idempotencyKey": "k"}})
    assert gql_messages(body) == [
        "Variable '$input' has invalid value at .lines[0]: Expected value of type 'LineInput' "
        f"not to include unknown field 'unitPrice', found: {{'skuId': '{shop.tea}', "
        "'quantity': 1, 'unitPrice': 1}."
    ]


async def test_stale_quote_hash_after_price_change_is_price_changed(
    shop: Shop, admin: GraphQLClient
) -> None:
    lines = [line(shop.tea, 2)]
    old = (await shop.me(QUOTE, {"input": {"lines": lines}}))["quote"]["quote"]
    assert old["total"] == {"amount": 11600}
    changed = await admin(
        "mutation($id: ID!) { updateSku(id: $id, price: 6800) { sku { price { amount } } "
        "errors { code } } }",
        {"id": shop.tea},
    )
    assert changed["updateSku"] == {"sku": {"price": {"amount": 6800}}, "errors": []}
    new = (await shop.me(QUOTE, {"input": {"lines": lines}}))["quote"]["quote"]
    assert new["total"] == {"amount": 13600} and new["hash"] != old["hash"]

    for stale in (old["hash"], "0" * 64):
        body = await refused(
            shop.me,
            PLACE,
            {"input": {"lines": lines, "idempotencyKey": "o-1", "quoteHash": stale}},
        )
        assert body["data"]["placeOrder"] == {
            "order": None,
            "quote": {"total": {"amount": 13600}, "hash": new["hash"]},
            "errors": [
                err("PRICE_CHANGED", "quoteHash", "the price changed; review the new quote")
            ],
        }
    assert (await Sku.get(id=shop.tea_pk)).stock == 3
    # The same key with the hash of the new price places the order at the new price.
    placed = await shop.me(
        PLACE, {"input": {"lines": lines, "idempotencyKey": "o-1", "quoteHash": new["hash"]}}
    )
    assert placed["placeOrder"]["order"]["total"] == {"amount": 13600}
    assert await Order.all().count() == 1
    assert (await Sku.get(id=shop.tea_pk)).stock == 1


# -- points and extensions ---------------------------------------------------------------


async def test_points_beyond_the_balance(shop: Shop) -> None:
    lines = [line(shop.tea)]
    expected = [err("INSUFFICIENT_POINTS", "usePoints", "you have 10000 points")]
    assert (
        await place_refused(shop.me, {"lines": lines, "usePoints": 10_001, "idempotencyKey": "k"})
        == expected
    )
    assert await quote_refused(shop.me, {"lines": lines, "usePoints": 10_001}) == expected
    assert await place_refused(
        shop.me, {"lines": lines, "usePoints": -1, "idempotencyKey": "k"}
    ) == [err("INVALID", "usePoints", "不能小于 0 / at least 0")]
    # The whole balance is allowed; the 50% cap decides what is used.
    whole = await shop.me(QUOTE, {"input": {"lines": lines, "usePoints": 10_000}})
    assert whole["quote"]["errors"] == []
    assert whole["quote"]["quote"]["pointsUsed"] == 2900
    assert whole["quote"]["quote"]["total"] == {"amount": 2900}


async def test_points_and_orders_need_a_member(shop: Shop, storefront: GraphQLClient) -> None:
    lines = [line(shop.tea)]
    assert await quote_refused(storefront, {"lines": lines, "usePoints": 100}) == [
        err("UNAUTHENTICATED", "usePoints", "log in to spend points")
    ]
    assert await place_refused(storefront, {"lines": lines, "idempotencyKey": "k"}) == [
        err("UNAUTHENTICATED", None, "log in as a member first")
    ]
    # Points cannot be smuggled in as the core's extension input either: it has none.
    smuggled = {"lines": lines, "extensions": {"core": {"points": 100}}}
    for client, query, input in (
        (storefront, QUOTE, smuggled),
        (shop.me, PLACE, {**smuggled, "idempotencyKey": "k"}),
    ):
        [message] = gql_messages(await refused(client, query, {"input": input}))
        assert "not to include unknown field 'core'" in message


async def test_bad_extensions(shop: Shop) -> None:
    """Input for an installed plugin the tenant does not enable is refused by the core,
    naming it; a shape no plugin's input type has is refused by GraphQL."""
    input = {"lines": [line(shop.tea)], "extensions": {"example": {"extra_off": 1}}}
    expected = err("PLUGIN_DISABLED", "extensions.example", "example is not enabled for this shop")
    assert await place_refused(shop.me, {**input, "idempotencyKey": "k"}) == [expected]
    assert await quote_refused(shop.me, input) == [expected]
    # null is no input: nothing for the disabled plugin to refuse
    given_null = {"lines": [line(shop.tea)], "extensions": {"example": None}}
    assert (await shop.me(QUOTE, {"input": given_null}))["quote"]["errors"] == []
    cases: list[tuple[Any, str]] = [
        ({"x": {}}, "not to include unknown field 'x'"),
        ([1, 2], "to be an object"),
        ("x", "to be an object"),
    ]
    for extensions, message in cases:
        input = {"lines": [line(shop.tea)], "extensions": extensions}
        for query, variables in ((PLACE, {**input, "idempotencyKey": "k"}), (QUOTE, input)):
            [refusal] = gql_messages(await refused(shop.me, query, {"input": variables}))
            assert message in refusal, refusal


# -- idempotency -------------------------------------------------------------------------


async def test_idempotency_key_replays_and_refuses_reuse(shop: Shop, tenant: TenantInfo) -> None:
    input = {"lines": [line(shop.tea, 2)], "usePoints": 1000, "idempotencyKey": "same"}
    first = await shop.me(PLACE, {"input": input})
    order = first["placeOrder"]["order"]
    assert order["total"] == {"amount": 11600 - 1000} and order["pointsUsed"] == 1000
    after_first = await snapshot()
    assert len(after_first["orders"]) == 1 and after_first["points_entries"] == 2
    assert (await Sku.get(id=shop.tea_pk)).stock == 1

    again = await refused(shop.me, PLACE, {"input": input})
    assert again["data"]["placeOrder"] == {"order": order, "quote": None, "errors": []}

    for changed in (
        {**input, "lines": [line(shop.tea, 1)]},
        {**input, "usePoints": 0},
        {**input, "quoteHash": "0" * 64},
    ):
        assert await place_refused(shop.me, changed) == [
            err(
                "IDEMPOTENCY_KEY_REUSED",
                "idempotencyKey",
                "this idempotency key was used for a different request",
            )
        ]
    assert await place_refused(shop.me, {**input, "idempotencyKey": ""}) == [
        err("INVALID", "idempotencyKey", "至少 1 个字符 / at least 1 character")
    ]
    assert await place_refused(shop.me, {**input, "idempotencyKey": "k" * 129}) == [
        err("INVALID", "idempotencyKey", "最多 128 个字符 / at most 128 characters")
    ]
    # Keys belong to their member: another member's "same" is a new order.
    _, token = await create_member(tenant, "13900000002", points=1000)
    other = await shop.me.as_(token)(PLACE, {"input": {**input, "lines": [line(shop.tea, 1)]}})
    assert other["placeOrder"]["errors"] == []
    assert other["placeOrder"]["order"]["id"] != order["id"]
    assert await Order.all().count() == 2


# -- query limits ------------------------------------------------------------------------


def nested(levels: int) -> str:
    """``levels`` nested fields ``f0 { f1 { ... } }`` (depth ``levels - 1``)."""
    fields = [f"f{i}" for i in range(levels)]
    return " { ".join(fields) + " }" * (levels - 1)


async def test_depth_limit(shop: Shop) -> None:
    ok = await refused(shop.me, "{ " + nested(13) + " }", {})
    assert gql_messages(ok) == ["Cannot query field 'f0' on type 'Query'."]
    deep = await refused(shop.me, "query Deep { " + nested(14) + " }", {})
    assert gql_messages(deep) == [
        "'Deep' exceeds maximum operation depth of 12",
        "Cannot query field 'f0' on type 'Query'.",
    ]
    via_fragment = "{ ...A } fragment A on Query { " + nested(14) + " }"
    assert gql_messages(await refused(shop.me, via_fragment, {})) == [
        "'anonymous' exceeds maximum operation depth of 12",
        "Cannot query field 'f0' on type 'Query'.",
    ]
    # A real mutation whose selection is too deep does not run at all.
    mutation = (
        (
            'mutation { placeOrder(input: {lines: [{skuId: "SKU", quantity: 1}], '
            'idempotencyKey: "deep"}) { order { DEEP } } }'
        )
        .replace("SKU", shop.tea)
        .replace("DEEP", nested(13))
    )
    assert gql_messages(await refused(shop.me, mutation, {})) == [
        "'anonymous' exceeds maximum operation depth of 12",
        "Cannot query field 'f0' on type 'Order'.",
    ]


async def test_alias_and_token_limits(shop: Shop) -> None:
    thirty = "{ " + " ".join(f"a{i}: categories {{ name }}" for i in range(30)) + " }"
    assert await shop.me(thirty) == {f"a{i}": [] for i in range(30)}
    many = "{ " + " ".join(f"a{i}: categories {{ name }}" for i in range(31)) + " }"
    assert gql_messages(await refused(shop.me, many, {})) == ["31 aliases found. Allowed: 30"]

    def orders(n: int) -> str:
        return (
            "mutation($lines: [LineInput!]!) { "
            + " ".join(
                f'o{i}: placeOrder(input: {{lines: $lines, idempotencyKey: "a{i}"}}) '
                "{ order { id } }"
                for i in range(n)
            )
            + " }"
        )

    lines = [line(shop.cup)]
    assert gql_messages(await refused(shop.me, orders(31), {"lines": lines})) == [
        "31 aliases found. Allowed: 30"
    ]
    # Aliases themselves work: two aliased orders are two orders.
    both = await shop.me(orders(2), {"lines": lines})
    assert both["o0"]["order"]["id"] != both["o1"]["order"]["id"]
    assert await Order.all().count() == 2

    huge = "{ " + "categories { name } " * 2000 + "}"
    assert gql_messages(await refused(shop.me, huge, {})) == [
        "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."
    ]


async def test_undefined_fragment_is_a_validation_error(shop: Shop) -> None:
    """graphql-core reports "Unknown fragment"; today the depth limiter crashes first.

    strawberry's depth rule looks fragments up with ``fragments[name]`` while the rules
    are instantiated, so the request fails with a bare ``KeyError`` message.
    """
    body = await refused(shop.me, "{ ...Missing }", {})
    assert gql_messages(body) == ["Unknown fragment 'Missing'."]


@pytest_asyncio.fixture
async def production(yutang_db: Runtime, tenant: TenantInfo) -> AsyncIterator[GraphQLClient]:
    """The storefront of an app running with ``YUTANG_ENV=production`` (errors masked)."""
    settings = msgspec.structs.replace(yutang_db.settings, production=True)
    runtime = dataclasses.replace(yutang_db, settings=settings)
    app = create_app(runtime, worker=False, manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as client:
        yield GraphQLClient(client, "/graphql", tenant.slug)


async def test_client_mistakes_are_not_masked_in_production(
    production: GraphQLClient, shop: Shop
) -> None:
    """A bad variable is the client's mistake: production must still say what is wrong.

    graphql-core gives variable-coercion errors an ``original_error`` (the scalar's
    GraphQLError), which ``_is_bug`` in yutang/graphql/schema.py takes for a bug.
    """
    body = await refused(
        production, PLACE, {"input": {"lines": [line(shop.tea, "two")], "idempotencyKey": "k"}}
    )
    assert gql_messages(body) == [
        "Variable '$input' has invalid value at .lines[0].quantity: "
        "Int cannot represent non-integer value: 'two'"
    ]


async def test_client_mistakes_are_not_logged_as_bugs(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad input is logged by nobody as an ERROR (``process_errors`` is for bugs); same
    cause as the masking above."""
    with caplog.at_level(logging.ERROR):
        await refused(shop.me, "{ quote(input: {lines: []}) { errors { code } } }", {})
        await refused(shop.me, "{ nope }", {})
        await refused(shop.me, QUOTE, {"input": {"lines": [line(shop.tea, "two")]}})
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# -- registration ------------------------------------------------------------------------


async def test_register_bad_input(shop: Shop, storefront: GraphQLClient) -> None:
    ok = {"phone": "13800000009", "password": "secret-1"}
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (
            {"password": "12345"},
            err("INVALID", "password", "至少 6 个字符 / at least 6 characters"),
        ),
        ({"phone": "1234"}, err("INVALID", "phone", "至少 5 个字符 / at least 5 characters")),
        (
            {"phone": "138-abc-0000"},
            err("INVALID", "phone", "格式不正确 / not in the expected format"),
        ),
        (
            {"referrer": shop.tea_product},
            err("INVALID", "referrerId", "expected a Member ID"),
        ),
        (
            {"referrer": to_global("Member", 999_999)},
            err("NOT_FOUND", "referrerId", "referrer not found"),
        ),
        (
            {"ext": {"distributor": {"code": "ABC"}}},
            err(
                "PLUGIN_DISABLED",
                "extensions.distributor",
                "distributor is not enabled for this shop",
            ),
        ),
    ]
    for changes, expected in cases:
        body = await refused(storefront, REGISTER, {**ok, **changes})
        assert body == {
            "data": {"register": {"token": None, "member": None, "errors": [expected]}}
        }, changes


async def test_duplicate_phone_is_phone_taken(shop: Shop, storefront: GraphQLClient) -> None:
    """The member fixture's phone, registered again in the same tenant.

    Needs the UNIQUE (tenant_id, phone) constraint of ``member``: ``register`` relies on the
    IntegrityError to answer PHONE_TAKEN.
    """
    body = await refused(storefront, REGISTER, {"phone": "13900000001", "password": "secret-1"})
    assert body == {
        "data": {
            "register": {
                "token": None,
                "member": None,
                "errors": [err("PHONE_TAKEN", "phone", "this phone is already registered")],
            }
        }
    }


async def test_phones_are_unique_per_tenant_only(shop: Shop, http: httpx.AsyncClient) -> None:
    other = GraphQLClient(http, "/graphql", "other")
    done = await other(REGISTER, {"phone": "13900000001", "password": "secret-1"})
    assert done["register"]["errors"] == [] and done["register"]["member"] == {
        "phone": "13900000001"
    }
    assert await Member.filter(phone="13900000001").count() == 2


# -- admin input -------------------------------------------------------------------------

CREATE = """
mutation($input: ProductInput!) {
  createProduct(input: $input) { product { id } errors { code field message } }
}"""


async def test_create_product_bad_input(shop: Shop, admin: GraphQLClient) -> None:
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (
            {"name": "X", "specNames": ["size"], "skus": [{"price": -1, "specs": {"size": "L"}}]},
            err("INVALID", "skus[0].price", "不能小于 0 / at least 0"),
        ),
        (
            {"name": "X", "specNames": ["size"], "skus": [{"price": 1, "specs": {"color": "L"}}]},
            err("INVALID", "skus[0].specs", "spec 'color' is not one of specNames"),
        ),
        (
            {"name": "X", "specNames": ["size"], "skus": [{"price": 1, "specs": "L"}]},
            err("INVALID", "skus[0].specs", "应为对象 / expected an object"),
        ),
        (
            {"name": "X", "skus": [{"price": 1}, {"price": 1, "stock": -1}]},
            err("INVALID", "skus[1].stock", "不能小于 0 / at least 0"),
        ),
        (
            {"name": "", "skus": [{"price": 1}]},
            err("INVALID", "name", "至少 1 个字符 / at least 1 character"),
        ),
        (
            {"name": "X", "categoryId": to_global("Category", 999_999)},
            err("NOT_FOUND", "categoryId", "category not found"),
        ),
    ]
    for input, expected in cases:
        body = await refused(admin, CREATE, {"input": input})
        assert body == {"data": {"createProduct": {"product": None, "errors": [expected]}}}, input


async def test_sku_stock_price_and_specs_bad_input(shop: Shop, admin: GraphQLClient) -> None:
    adjust = """mutation($id: ID!, $d: Int!) { adjustStock(skuId: $id, delta: $d) {
      sku { stock } errors { code field message } } }"""
    cases: list[tuple[str, int, dict[str, Any]]] = [
        (shop.tea, -4, err("INVALID", "delta", "stock cannot go below zero")),
        (to_global("Sku", 999_999), 1, err("NOT_FOUND", "skuId", "SKU not found")),
        (shop.foreign, 1, err("NOT_FOUND", "skuId", "SKU not found")),
        # Stock is capped at 10**9 as on create (SQLite once stored 2147483650 and
        # PostgreSQL raised "integer out of range").
        (shop.tea, 2**31 - 1, err("INVALID", "delta", "at most 1,000,000,000 at a time")),
        (shop.tea, 10**9 - 2, err("INVALID", "delta", "stock cannot exceed 1,000,000,000")),
    ]
    for sku, delta, expected in cases:
        body = await refused(admin, adjust, {"id": sku, "d": delta})
        assert body == {"data": {"adjustStock": {"sku": None, "errors": [expected]}}}, delta
    # exactly up to the cap and exactly down to zero are allowed
    done = await admin(adjust, {"id": shop.tea, "d": 10**9 - 3})
    assert done["adjustStock"] == {"sku": {"stock": 10**9}, "errors": []}
    done = await admin(adjust, {"id": shop.tea, "d": -(10**9)})
    assert done["adjustStock"] == {"sku": {"stock": 0}, "errors": []}

    update = """mutation($id: ID!, $p: Int, $s: JSON) { updateSku(id: $id, price: $p, specs: $s) {
      sku { price { amount } } errors { code field message } } }"""
    updates: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"p": -1}, err("INVALID", "price", "a price cannot be negative")),
        # specs outside the product's specNames, as createProduct refuses them
        ({"s": {"color": "red"}}, err("INVALID", "specs", "spec 'color' is not one of specNames")),
        ({"s": [1, 2]}, err("INVALID", "specs", "应为对象 / expected an object")),
        # a valid price with invalid specs changes neither
        (
            {"p": 1, "s": {"color": "red"}},
            err("INVALID", "specs", "spec 'color' is not one of specNames"),
        ),
    ]
    for changes, expected in updates:
        body = await refused(admin, update, {"id": shop.tea, **changes})
        assert body == {"data": {"updateSku": {"sku": None, "errors": [expected]}}}, changes
    member_try = await refused(admin.as_(shop.me.token), update, {"id": shop.tea, "p": 1})
    assert member_try["data"]["updateSku"] == {
        "sku": None,
        "errors": [err("UNAUTHENTICATED", None, "log in as staff first")],
    }


# -- refunds -----------------------------------------------------------------------------

REFUND = """
mutation($input: RefundRequestInput!) {
  refundOrder(input: $input) {
    refund { id status amount { amount } } errors { code field message }
  }
}"""
REQUEST = """
mutation($input: RefundRequestInput!) {
  requestRefund(input: $input) {
    refund { id status amount { amount } } errors { code field message }
  }
}"""


async def paid_order(shop: Shop, lines: list[dict[str, Any]], points: int = 0) -> dict[str, Any]:
    """A paid order of the shop's member: its id and line ids and amounts."""
    query = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
      order { id lines { id quantity amount { amount } points } } errors { code } } }"""
    placed = await shop.me(
        query, {"input": {"lines": lines, "usePoints": points, "idempotencyKey": "paid"}}
    )
    order: dict[str, Any] = placed["placeOrder"]["order"]
    paid = await shop.me(
        'mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "pay"}) '
        "{ order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert paid["payOrder"] == {"order": {"status": "PAID"}, "errors": []}
    return order


async def test_refund_bad_input(shop: Shop, admin: GraphQLClient) -> None:
    order = await paid_order(shop, [line(shop.tea, 2), line(shop.cup, 1)], points=1000)
    tea_line, cup_line = order["lines"]

    def refund(lines: list[dict[str, Any]], order_id: str = order["id"]) -> dict[str, Any]:
        return {"input": {"orderId": order_id, "idempotencyKey": "bad", "lines": lines}}

    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (
            refund([{"lineId": tea_line["id"], "quantity": 3}]),
            err("INVALID", "lines[0].quantity", "only 2 left to refund"),
        ),
        (
            refund([{"lineId": tea_line["id"], "quantity": 0}]),
            err("INVALID", "lines[0].quantity", "不能小于 1 / at least 1"),
        ),
        (
            refund(
                [
                    {"lineId": cup_line["id"], "quantity": 1},
                    {"lineId": tea_line["id"], "quantity": -1},
                ]
            ),
            err("INVALID", "lines[1].quantity", "不能小于 1 / at least 1"),
        ),
        (
            refund([{"lineId": to_global("OrderLine", 999_999), "quantity": 1}]),
            err("NOT_FOUND", "lines[0].lineId", "no such line in this order"),
        ),
        (
            refund([{"lineId": tea_line["id"], "quantity": 1}], shop.tea),
            err("INVALID", "orderId", "expected a Order ID"),
        ),
        (
            refund([], to_global("Order", 999_999)),
            err("NOT_FOUND", "orderId", "order not found"),
        ),
        (
            {"input": {"orderId": order["id"], "idempotencyKey": ""}},
            err("INVALID", "idempotencyKey", "至少 1 个字符 / at least 1 character"),
        ),
    ]
    for variables, expected in cases:
        body = await refused(admin, REFUND, variables)
        assert body == {"data": {"refundOrder": {"refund": None, "errors": [expected]}}}, variables
        body = await refused(shop.me, REQUEST, variables)
        assert body == {"data": {"requestRefund": {"refund": None, "errors": [expected]}}}, (
            variables
        )

    # [{line, 2}, {line, 2}] of a 2-unit line once booked 4 refunded units and returned
    # the line's amount and points twice; each line may be named once.
    expected = [err("DUPLICATE", "lines[1].lineId", "each line at most once")]
    for twice in (
        [{"lineId": tea_line["id"], "quantity": 2}] * 2,
        [{"lineId": tea_line["id"], "quantity": 1}] * 2,
    ):
        variables = {"input": {"orderId": order["id"], "idempotencyKey": "twice", "lines": twice}}
        body = await refused(admin, REFUND, variables)
        assert body == {"data": {"refundOrder": {"refund": None, "errors": expected}}}
        body = await refused(shop.me, REQUEST, variables)
        assert body == {"data": {"requestRefund": {"refund": None, "errors": expected}}}
