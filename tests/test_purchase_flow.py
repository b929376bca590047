"""The whole purchase flow over HTTP against the real app, checking stock and money."""

from __future__ import annotations

from datetime import timedelta

from yutang.core.clock import FrozenClock
from yutang.core.models import Member, Order, PointsEntry, Sku
from yutang.core.worker import Worker
from yutang.testing import GraphQLClient

PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $hash: String, $points: Int! = 0) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, quoteHash: $hash, usePoints: $points}) {
    order { id status total { amount } pointsUsed lines { id quantity amount { amount } points } }
    quote { total { amount } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status paidAmount { amount } } paymentStatus errors { code field message }
  }
}"""
QUOTE = """
query($lines: [LineInput!]!, $points: Int! = 0) {
  quote(input: {lines: $lines, usePoints: $points}) {
    quote { total { amount formatted } subtotal { amount } pointsUsed hash
            lines { amount { amount } } adjustments { source label amount { amount } } }
    errors { code field message }
  }
}"""
PRODUCTS = "{ products { edges { node { id name skus { id price { amount } stock } } } } }"


async def sku_ids(client: GraphQLClient) -> list[str]:
    data = await client(PRODUCTS)
    return [s["id"] for e in data["products"]["edges"] for s in e["node"]["skus"]]


async def stock(sku_pk: int) -> int:
    return (await Sku.get(id=sku_pk)).stock


async def test_register_browse_quote_place_pay_fulfil_complete(
    storefront, admin, make_product, worker: Worker
) -> None:
    product = await make_product("Longjing", [(5800, 10), (12800, 3)])
    reg = await storefront(
        'mutation { register(phone: "13812345678", password: "secret-1", nickname: "A") '
        "{ token errors { code } } }"
    )
    token = reg["register"]["token"]
    assert token and reg["register"]["errors"] == []
    login = await storefront(
        'mutation { login(phone: "13812345678", password: "secret-1") { token errors { code } } }'
    )
    assert login["login"]["token"]
    me = storefront.as_(token)
    skus = await sku_ids(me)
    lines = [{"skuId": skus[0], "quantity": 2}, {"skuId": skus[1], "quantity": 1}]

    quote = (await me(QUOTE, {"lines": lines}))["quote"]
    assert quote["errors"] == []
    assert quote["quote"]["total"] == {"amount": 2 * 5800 + 12800, "formatted": "¥244.00"}

    placed = await me(PLACE, {"lines": lines, "key": "o-1", "hash": quote["quote"]["hash"]})
    order = placed["placeOrder"]["order"]
    assert placed["placeOrder"]["errors"] == []
    assert order["status"] == "PENDING_PAYMENT"
    assert order["total"]["amount"] == 24400
    skus_db = await Sku.filter(product_id=product.id).order_by("id")
    assert [s.stock for s in skus_db] == [8, 2]

    paid = (await me(PAY, {"id": order["id"], "key": "p-1"}))["payOrder"]
    assert paid["errors"] == [] and paid["paymentStatus"] == "CAPTURED"
    assert paid["order"] == {"status": "PAID", "paidAmount": {"amount": 24400}}
    member = await Member.get(phone="13812345678")
    assert member.paid_spend == 24400

    fulfilled = await admin(
        "mutation($id: ID!) { fulfilOrder(orderId: $id) { order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert fulfilled["fulfilOrder"]["order"]["status"] == "FULFILLED"
    done = await me(
        "mutation($id: ID!) { confirmReceipt(orderId: $id) { order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert done["confirmReceipt"]["order"]["status"] == "COMPLETED"
    mine = await me("{ myOrders { edges { node { status total { amount } } } } }")
    assert mine["myOrders"]["edges"] == [
        {"node": {"status": "COMPLETED", "total": {"amount": 24400}}}
    ]


async def test_cancel_returns_stock_and_points(member, make_product) -> None:
    row, me = member
    product = await make_product("Tea", [(10000, 5)])
    skus = await sku_ids(me)
    placed = await me(
        PLACE, {"lines": [{"skuId": skus[0], "quantity": 3}], "key": "c-1", "points": 2000}
    )
    order = placed["placeOrder"]["order"]
    assert order["total"]["amount"] == 30000 - 2000 and order["pointsUsed"] == 2000
    assert (await Member.get(id=row.id)).points == 8000
    assert await stock((await Sku.get(product_id=product.id)).id) == 2
    cancelled = await me(
        "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert cancelled["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert await stock((await Sku.get(product_id=product.id)).id) == 5
    assert (await Member.get(id=row.id)).points == 10000
    again = await me(
        "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }",
        {"id": order["id"]},
    )
    assert again["cancelOrder"]["errors"] == [{"code": "ILLEGAL_TRANSITION"}]


async def test_payment_timeout_cancels_through_the_job(
    member, make_product, worker: Worker, frozen_clock: FrozenClock
) -> None:
    _, me = member
    product = await make_product("Tea", [(5000, 4)])
    skus = await sku_ids(me)
    placed = await me(PLACE, {"lines": [{"skuId": skus[0], "quantity": 4}], "key": "t-1"})
    order_id = placed["placeOrder"]["order"]["id"]
    assert await worker.run_until_idle() >= 0
    assert (await Order.first()).status == "pending_payment"
    frozen_clock.advance(timedelta(minutes=31))
    await worker.run_until_idle()
    assert (await Order.first()).status == "cancelled"
    assert (await Sku.get(product_id=product.id)).stock == 4
    late = await me(PAY, {"id": order_id, "key": "late"})
    assert late["payOrder"]["errors"][0]["code"] == "ILLEGAL_TRANSITION"


async def test_partial_then_full_refund_returns_exactly_what_lines_paid(
    member, admin, make_product, worker: Worker
) -> None:
    row, me = member
    await make_product("Tea", [(3333, 10)])
    skus = await sku_ids(me)
    placed = await me(
        PLACE, {"lines": [{"skuId": skus[0], "quantity": 3}], "key": "r-1", "points": 1000}
    )
    order = placed["placeOrder"]["order"]
    assert order["total"]["amount"] == 3 * 3333 - 1000
    await me(PAY, {"id": order["id"], "key": "rp-1"})
    line = order["lines"][0]
    refund = """mutation($o: ID!, $l: ID!, $q: Int!, $k: String!) {
      refundOrder(input: {orderId: $o, idempotencyKey: $k, lines: [{lineId: $l, quantity: $q}]}) {
        refund { status amount { amount } } errors { code field message } } }"""
    first = await admin(refund, {"o": order["id"], "l": line["id"], "q": 1, "k": "rf-1"})
    assert first["refundOrder"]["errors"] == []
    paid_line = line["amount"]["amount"]
    assert first["refundOrder"]["refund"]["amount"]["amount"] == paid_line * 1 // 3
    assert (await Sku.get(id=(await Sku.first()).id)).stock == 8
    rest = await admin(refund, {"o": order["id"], "l": line["id"], "q": 2, "k": "rf-2"})
    assert rest["refundOrder"]["errors"] == []
    total_back = (
        first["refundOrder"]["refund"]["amount"]["amount"]
        + rest["refundOrder"]["refund"]["amount"]["amount"]
    )
    assert total_back == order["total"]["amount"]
    too_much = await admin(refund, {"o": order["id"], "l": line["id"], "q": 1, "k": "rf-3"})
    assert too_much["refundOrder"]["errors"][0]["code"] == "NOT_REFUNDABLE"
    db_order = await Order.first()
    assert db_order.status == "refunded" and db_order.refunded_amount == db_order.paid_amount
    assert (await Sku.first()).stock == 10
    assert (await Member.get(id=row.id)).points == 10_000
    assert sum(e.delta for e in await PointsEntry.filter(member_id=row.id)) == 10_000
    await worker.run_until_idle()
    statuses = await me("{ myOrders { edges { node { status } } } }")
    assert statuses["myOrders"]["edges"][0]["node"]["status"] == "REFUNDED"


async def test_free_lines_go_back_with_the_last_paid_line_a_free_order_unit_by_unit(
    member, admin, make_product
) -> None:
    """A line that cost nothing never keeps an order from being refunded: it goes back with
    the last line that cost something; an order that cost nothing is refunded once each of
    its lines went back."""
    _, me = member
    for name, price in (("Tea", 1000), ("Sample", 0), ("Leaflet", 0)):
        await make_product(name, [(price, 10)])
    tea, sample, leaflet = await sku_ids(me)
    refund = """mutation($o: ID!, $l: ID!, $k: String!) {
      refundOrder(input: {orderId: $o, idempotencyKey: $k, lines: [{lineId: $l, quantity: 1}]}) {
        refund { amount { amount } } errors { code field message } } }"""

    async def order_of(key: str, *skus: str) -> tuple[str, list[str]]:
        wanted = [{"skuId": s, "quantity": 1} for s in skus]
        placed = (await me(PLACE, {"lines": wanted, "key": key}))["placeOrder"]["order"]
        await me(PAY, {"id": placed["id"], "key": f"p-{key}"})
        return placed["id"], [ln["id"] for ln in placed["lines"]]

    async def refunded(order: str, line: str, key: str) -> int:
        done = (await admin(refund, {"o": order, "l": line, "k": key}))["refundOrder"]
        assert done["errors"] == [], done["errors"]
        amount: int = done["refund"]["amount"]["amount"]
        return amount

    bought, (paid, _) = await order_of("o-1", tea, sample)
    assert await refunded(bought, paid, "r-1") == 1000
    first = await Order.first()
    assert first is not None and first.status == "refunded"
    assert [s.stock for s in await Sku.all().order_by("id")] == [10, 10, 10]

    gift, (one, other) = await order_of("o-2", sample, leaflet)
    assert (await Order.all().order_by("id"))[1].status == "paid"
    assert await refunded(gift, one, "r-2") == 0
    assert (await Order.all().order_by("id"))[1].status == "paid"
    assert [s.stock for s in await Sku.all().order_by("id")] == [10, 10, 9]
    assert await refunded(gift, other, "r-3") == 0
    assert (await Order.all().order_by("id"))[1].status == "refunded"
    assert [s.stock for s in await Sku.all().order_by("id")] == [10, 10, 10]
