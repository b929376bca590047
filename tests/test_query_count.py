"""A storefront product page, and a page of orders, cost the same few SQL statements
whatever their size.

Statements are counted on tortoise's ``tortoise.db_client`` logger, which logs every
statement at DEBUG on SQLite and PostgreSQL alike; a handler is attached for the duration
of one request only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from yutang.core.catalog import save_category
from yutang.core.contract import TenantInfo
from yutang.core.models import Member, Product, ProductImage, Sku
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient

PAGE = """
query($first: Int!) {
  products(first: $first) {
    edges { node {
      id name
      category { id name parentId }
      images { url position }
      skus { id specs { name value } price { amount formatted } stock }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
PRODUCTS = 40
MAX_STATEMENTS = 6  # tenant lookup, products (+ category join), SKUs, images, and slack
MAX_ORDER_STATEMENTS = 6  # tenant, caller, orders, lines, payments, refunds


class StatementCounter(logging.Handler):
    """Collects the statements tortoise logs, leaving out connection open/close notes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(("Created connection", "Closed connection")):
            return
        self.statements.append(message)


@asynccontextmanager
async def counting() -> AsyncIterator[StatementCounter]:
    """Count the statements run inside the block."""
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


async def test_product_page_queries_do_not_grow_with_page_size(
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Callable[..., Awaitable[Product]],
) -> None:
    category = await save_category(tenant, "Green tea", None)
    for i in range(PRODUCTS):
        await make_product(f"Tea {i:02d}", [(5800 + i, 10), (12800 + i, 3)])
    await Product.filter(tenant_id=tenant.id).update(category_id=category.id)
    await ProductImage.bulk_create(
        [
            ProductImage(tenant_id=tenant.id, product_id=p.id, url=f"/img/{p.id}.jpg")
            for p in await Product.filter(tenant_id=tenant.id)
        ]
    )

    counts: dict[int, int] = {}
    logged: dict[int, list[str]] = {}
    await storefront(PAGE, {"first": 1})  # a worker's first request also looks up its host
    for first in (2, 10, PRODUCTS):
        async with counting() as counter:
            data = await storefront(PAGE, {"first": first})
        edges = data["products"]["edges"]
        assert len(edges) == first
        for edge in edges:
            node = edge["node"]
            assert len(node["skus"]) == 2
            assert node["category"]["name"] == "Green tea"
            assert len(node["images"]) == 1
        counts[first] = len(counter.statements)
        logged[first] = counter.statements

    assert len(set(counts.values())) == 1, (counts, logged)
    assert 0 < counts[PRODUCTS] <= MAX_STATEMENTS, logged[PRODUCTS]


ORDERS_PAGE = """
query($first: Int!) {
  myOrders(first: $first) {
    edges { node {
      id status lines { id quantity }
      payments { id status amount { amount } refundedAmount { amount } }
      refunds { id status amount { amount } lines { lineId quantity } order { id } }
    } }
  }
}"""
ORDERS = 20


async def test_an_order_page_with_refunds_and_payments_costs_the_same_whatever_its_size(
    member: tuple[Member, GraphQLClient], make_product: Callable[..., Awaitable[Product]]
) -> None:
    _, me = member
    product = await make_product("Tea", [(1000, 100)])
    sku = to_global("Sku", (await Sku.get(product_id=product.id)).id)
    for i in range(ORDERS):
        placed = await me(
            """mutation($sku: ID!, $key: String!) { placeOrder(input: {
              lines: [{skuId: $sku, quantity: 2}], idempotencyKey: $key}) {
              order { id lines { id } } } }""",
            {"sku": sku, "key": f"o-{i}"},
        )
        order = placed["placeOrder"]["order"]
        await me(
            "mutation($id: ID!, $k: String!) { payOrder(input: {orderId: $id, idempotencyKey: $k}) "
            "{ paymentStatus } }",
            {"id": order["id"], "k": f"p-{i}"},
        )
        asked = await me(
            """mutation($o: ID!, $l: ID!, $k: String!) { requestRefund(input: {orderId: $o,
              idempotencyKey: $k, lines: [{lineId: $l, quantity: 1}]}) { errors { code } } }""",
            {"o": order["id"], "l": order["lines"][0]["id"], "k": f"r-{i}"},
        )
        assert asked["requestRefund"]["errors"] == []

    counts: dict[int, int] = {}
    logged: dict[int, list[str]] = {}
    for first in (2, 10, ORDERS):
        async with counting() as counter:
            data = await me(ORDERS_PAGE, {"first": first})
        edges = data["myOrders"]["edges"]
        assert len(edges) == first
        for edge in edges:
            node = edge["node"]
            assert [p["status"] for p in node["payments"]] == ["CAPTURED"]
            assert [r["status"] for r in node["refunds"]] == ["OPEN"]
            assert node["refunds"][0]["order"]["id"] == node["id"]
        counts[first] = len(counter.statements)
        logged[first] = counter.statements

    assert len(set(counts.values())) == 1, (counts, logged)
    assert 0 < counts[ORDERS] <= MAX_ORDER_STATEMENTS, logged[ORDERS]
