"""Delivery over HTTP: staff ship lines in parcels with carrier and tracking number, the
last parcel fulfils the order, and receipt is confirmed by the member or by the durable
job after the tenant's days; holds, bad parcels and refunds of unshipped units."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest_asyncio
from tortoise.expressions import F

from yutang import api
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Order, OrderLine, Product, Shipment, Sku, Tenant
from yutang.core.runtime import Runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, HoldingActivity

Make = Callable[..., Awaitable[Product]]

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id lines { id quantity } } errors { code field } }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { errors { code } }
}"""
SHIP = """
mutation($input: ShipInput!) {
  shipOrderLines(input: $input) {
    order { status } shipment { carrier trackingNumber lines { lineId quantity } }
    errors { code field message }
  }
}"""
MY_ORDER = """
query($id: ID!) { order(id: $id) { status completedAt
  lines { quantity shippedQuantity }
  shipments { carrier trackingNumber lines { lineId quantity } } } }"""
CONFIRM = """
mutation($id: ID!) { confirmReceipt(orderId: $id) { order { status } errors { code } } }"""
ADDRESS = {
    "province": "330000",
    "city": "330100",
    "district": "330106",
    "receiver": "王小明",
    "phone": "13800000000",
    "detail": "龙井路1号",
}


async def paid_order(
    me: GraphQLClient,
    make_product: Make,
    lines: list[tuple[str, int]],
    activity: dict[str, str] | None = None,
    **extra: Any,
) -> tuple[str, list[str]]:
    body: dict[str, Any] = {"lines": [], "idempotencyKey": "o", "address": ADDRESS, **extra}
    for name, quantity in lines:
        product = await make_product(name, [(1000, 10)])
        sku = await Sku.get(product_id=product.id)
        line = {"skuId": to_global("Sku", sku.id), "quantity": quantity}
        body["lines"].append({**line, "activity": activity} if activity else line)
    placed = (await me(PLACE, {"input": body}))["placeOrder"]
    assert placed["errors"] == []
    order = placed["order"]
    assert (await me(PAY, {"id": order["id"], "key": order["id"]}))["payOrder"]["errors"] == []
    return order["id"], [ln["id"] for ln in order["lines"]]


async def ship(
    admin: GraphQLClient, order: str, tracking: str, lines: list[tuple[str, int]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"orderId": order, "carrier": "顺丰", "trackingNumber": tracking}
    if lines is not None:
        body["lines"] = [{"lineId": i, "quantity": q} for i, q in lines]
    result: dict[str, Any] = (await admin(SHIP, {"input": body}))["shipOrderLines"]
    return result


async def test_partial_shipment_then_automatic_receipt_through_the_durable_job(
    member: tuple[Any, GraphQLClient],
    admin: GraphQLClient,
    make_product: Make,
    worker: Worker,
    frozen_clock: FrozenClock,
) -> None:
    _, me = member
    order, (tea, cup) = await paid_order(me, make_product, [("Tea", 3), ("Cup", 1)])
    first = await ship(admin, order, "SF001", [(tea, 2)])
    assert first["errors"] == []
    assert first["order"]["status"] == "PAID"
    assert first["shipment"] == {
        "carrier": "顺丰",
        "trackingNumber": "SF001",
        "lines": [{"lineId": tea, "quantity": 2}],
    }
    early = (await me(CONFIRM, {"id": order}))["confirmReceipt"]
    assert early["errors"] == [{"code": "ILLEGAL_TRANSITION"}]

    frozen_clock.advance(timedelta(days=1))
    rest = await ship(admin, order, "SF002")
    assert rest["errors"] == [] and rest["order"]["status"] == "FULFILLED"
    assert rest["shipment"]["lines"] == [
        {"lineId": tea, "quantity": 1},
        {"lineId": cup, "quantity": 1},
    ]
    seen = (await me(MY_ORDER, {"id": order}))["order"]
    assert seen["status"] == "FULFILLED"
    assert seen["lines"] == [
        {"quantity": 3, "shippedQuantity": 3},
        {"quantity": 1, "shippedQuantity": 1},
    ]
    assert [s["trackingNumber"] for s in seen["shipments"]] == ["SF001", "SF002"]
    nothing_left = await ship(admin, order, "SF003")
    assert [(e["code"], e["field"]) for e in nothing_left["errors"]] == [
        ("ILLEGAL_TRANSITION", "orderId")
    ]

    frozen_clock.advance(timedelta(days=10) - timedelta(minutes=1))
    await worker.run_until_idle()
    assert (await Order.get()).status == "fulfilled"
    frozen_clock.advance(timedelta(minutes=1))
    await worker.run_until_idle()
    done = await Order.get()
    assert done.status == "completed" and done.completed_at == frozen_clock()


async def test_the_member_confirms_receipt_and_the_tenant_sets_the_days(
    make_tenant: Callable[..., Awaitable[TenantInfo]],
    http: Any,
    worker: Worker,
    frozen_clock: FrozenClock,
) -> None:
    from yutang.core.catalog import ProductInput, SkuInput, save_product
    from yutang.testing import create_member, create_staff

    shop = await make_tenant("quick", settings={"core": {"auto_complete_days": 3}})
    _, token = await create_member(shop, "13900000009")
    _, staff = await create_staff(shop, "owner", "owner")
    me = GraphQLClient(http, "/graphql", "quick", token)
    admin = GraphQLClient(http, "/admin/graphql", "quick", staff)

    async def make(name: str, skus: list[tuple[int, int]]) -> Product:
        return await save_product(
            shop,
            ProductInput(
                name=name, published=True, skus=[SkuInput(price=p, stock=s) for p, s in skus]
            ),
        )

    first, _ = await paid_order(me, make, [("Tea", 1)])
    assert (await ship(admin, first, "YT1"))["order"]["status"] == "FULFILLED"
    confirmed = (await me(CONFIRM, {"id": first}))["confirmReceipt"]
    assert confirmed == {"order": {"status": "COMPLETED"}, "errors": []}

    second, _ = await paid_order(me, make, [("Cup", 1)], idempotencyKey="o2")
    await ship(admin, second, "YT2")
    frozen_clock.advance(timedelta(days=3))
    await worker.run_until_idle()
    assert (await Order.get(id=api.pk_of(second, "Order"))).status == "completed"


async def test_a_bad_parcel_names_the_line_and_writes_nothing(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    order, (tea, cup) = await paid_order(me, make_product, [("Tea", 2), ("Cup", 1)])
    too_many = await ship(admin, order, "X", [(cup, 1), (tea, 3)])
    assert too_many["errors"] == [
        {"code": "INVALID", "field": "lines[1].quantity", "message": "only 2 left to ship"}
    ]
    twice = await ship(admin, order, "X", [(tea, 1), (tea, 1)])
    assert [(e["code"], e["field"]) for e in twice["errors"]] == [("DUPLICATE", "lines[1].lineId")]
    blank = (
        await admin(SHIP, {"input": {"orderId": order, "carrier": "", "trackingNumber": "X"}})
    )["shipOrderLines"]
    assert [(e["code"], e["field"]) for e in blank["errors"]] == [("INVALID", "carrier")]
    assert await Shipment.all().count() == 0
    assert sorted(await OrderLine.all().values_list("shipped_quantity", flat=True)) == [0, 0]

    unpaid = (
        await me(
            PLACE,
            {
                "input": {
                    "lines": [{"skuId": to_global("Sku", (await Sku.first()).id), "quantity": 1}],
                    "idempotencyKey": "unpaid",
                    "address": ADDRESS,
                }
            },
        )
    )["placeOrder"]["order"]["id"]
    refused = await ship(admin, unpaid, "X")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("ILLEGAL_TRANSITION", "orderId")
    ]


async def test_a_refund_restocks_only_the_units_not_shipped(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    order, (tea,) = await paid_order(me, make_product, [("Tea", 3)])
    await ship(admin, order, "SF1", [(tea, 2)])
    refund = await admin(
        """mutation($o: ID!, $l: ID!) { refundOrder(input: {orderId: $o, idempotencyKey: "r",
           lines: [{lineId: $l, quantity: 3}]}) { errors { code } } }""",
        {"o": order, "l": tea},
    )
    assert refund["refundOrder"]["errors"] == []
    assert (await Sku.get()).stock == 10 - 3 + 1


REFUND_NOW = """
mutation($o: ID!, $l: ID!, $q: Int!, $key: String!) {
  refundOrder(input: {orderId: $o, idempotencyKey: $key, lines: [{lineId: $l, quantity: $q}]}) {
    errors { code }
  }
}"""


async def test_the_last_parcel_fulfils_an_order_whose_shipped_units_were_refunded(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    order, (tea, cup) = await paid_order(me, make_product, [("Tea", 2), ("Cup", 1)])
    assert (await ship(admin, order, "SF1", [(tea, 1)]))["errors"] == []
    refund = await admin(REFUND_NOW, {"o": order, "l": tea, "q": 2, "key": "r"})
    assert refund["refundOrder"]["errors"] == []
    assert (await Order.get()).status == "paid"

    last = await ship(admin, order, "SF2")
    assert last["errors"] == []
    assert last["shipment"]["lines"] == [{"lineId": cup, "quantity": 1}]
    assert last["order"]["status"] == "FULFILLED"


async def test_refunding_the_last_unshipped_units_fulfils_the_order(
    member: tuple[Any, GraphQLClient],
    admin: GraphQLClient,
    make_product: Make,
    worker: Worker,
    frozen_clock: FrozenClock,
) -> None:
    _, me = member
    order, (tea, cup) = await paid_order(me, make_product, [("Tea", 1), ("Cup", 1)])
    assert (await ship(admin, order, "SF1", [(tea, 1)]))["errors"] == []
    asked = await me(
        """mutation($o: ID!, $l: ID!) { requestRefund(input: {orderId: $o, idempotencyKey: "r",
           lines: [{lineId: $l, quantity: 1}]}) { refund { id } errors { code } } }""",
        {"o": order, "l": cup},
    )
    assert asked["requestRefund"]["errors"] == []
    assert (await Order.get()).status == "paid"
    decided = await admin(
        """mutation($id: ID!) { decideRefund(refundId: $id, approve: true) {
           refund { status } errors { code } } }""",
        {"id": asked["requestRefund"]["refund"]["id"]},
    )
    assert decided["decideRefund"] == {"refund": {"status": "APPROVED"}, "errors": []}
    fulfilled = await Order.get()
    assert fulfilled.status == "fulfilled" and fulfilled.fulfilled_at == frozen_clock()
    assert (await Sku.get(product__name="Cup")).stock == 10

    frozen_clock.advance(timedelta(days=10))
    await worker.run_until_idle()
    assert (await Order.get()).status == "completed"


async def test_a_refund_fulfils_the_order_only_once_nothing_is_left_to_ship(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    order, (tea, cup) = await paid_order(me, make_product, [("Tea", 2), ("Cup", 1)])
    refund = await admin(REFUND_NOW, {"o": order, "l": cup, "q": 1, "key": "r"})
    assert refund["refundOrder"]["errors"] == []
    assert (await Order.get()).status == "paid"
    assert (await ship(admin, order, "SF1", [(tea, 1)]))["order"]["status"] == "PAID"
    refund = await admin(REFUND_NOW, {"o": order, "l": tea, "q": 1, "key": "r2"})
    assert refund["refundOrder"]["errors"] == []
    assert (await Order.get()).status == "fulfilled"


# --- holds and other fulfilment methods ------------------------------------------------------

HELD: dict[int, str] = {}


class Errand(api.FulfilmentMethod[None]):
    """A courier method besides delivery."""

    name = "errand"
    label = "跑腿"

    async def resolve(self, checkout: api.CheckoutContext) -> None:
        return None


class Hold:
    """Lines of kind ``shiphold`` whose orders are held while in ``HELD`` (as group buy's
    are), and a courier method."""

    @api.hookimpl
    def yutang_activities(self) -> list[api.Activity[Any]]:
        return [HoldingActivity("shiphold", HELD)]

    @api.hookimpl
    def yutang_fulfilment_methods(self) -> list[api.FulfilmentMethod[Any]]:
        return [Errand()]


HOLD_LINE = {"plugin": "shiphold", "ref": "team"}


@pytest_asyncio.fixture
async def hold(yutang_db: Runtime, tenant: TenantInfo) -> dict[int, str]:
    """The ``shiphold`` plugin, registered once per session, enabled for the shop."""
    if "shiphold" not in yutang_db.registry.plugins:
        yutang_db.registry.register("shiphold", Hold())
    await Tenant.filter(id=tenant.id).update(
        plugins=["shiphold"], settings_version=F("settings_version") + 1
    )
    HELD.clear()
    return HELD


async def test_a_plugins_hold_blocks_every_parcel_and_other_methods_are_not_shipped(
    member: tuple[Any, GraphQLClient],
    admin: GraphQLClient,
    make_product: Make,
    hold: dict[int, str],
) -> None:
    _, me = member
    order, (tea,) = await paid_order(me, make_product, [("Tea", 2)], HOLD_LINE)
    hold[api.pk_of(order, "Order")] = "the team is not full yet"
    held = await ship(admin, order, "SF1", [(tea, 1)])
    assert held["errors"] == [
        {"code": "FULFILMENT_HELD", "field": "orderId", "message": "the team is not full yet"}
    ]
    hold.clear()
    assert (await ship(admin, order, "SF1", [(tea, 1)]))["errors"] == []

    errand, _ = await paid_order(
        me, make_product, [("Cup", 1)], fulfilment="errand", idempotencyKey="o2"
    )
    refused = await ship(admin, errand, "SF2")
    assert refused["errors"] == [
        {"code": "NOT_DELIVERY", "field": "orderId", "message": "this order is fulfilled by errand"}
    ]
    assert (await Order.get(id=api.pk_of(errand, "Order"))).address is None


async def test_a_parcel_sent_again_is_recorded_once(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    """A retried shipOrderLines (same carrier and tracking number) answers as recorded."""
    _, me = member
    order, (tea, cup) = await paid_order(me, make_product, [("Tea", 3), ("Cup", 1)])
    first = await ship(admin, order, "SF001", [(tea, 2)])
    again = await ship(admin, order, " SF001 ", [(tea, 2)])
    assert again == first and again["order"]["status"] == "PAID"
    other_lines = await ship(admin, order, "SF001", [(cup, 1)])
    assert [(e["code"], e["field"]) for e in other_lines["errors"]] == [
        ("DUPLICATE_TRACKING", "trackingNumber")
    ]
    last = await ship(admin, order, "SF002")
    assert last["order"]["status"] == "FULFILLED"
    assert await ship(admin, order, "SF002") == last  # after the order is fulfilled, too
    seen = (await me(MY_ORDER, {"id": order}))["order"]
    assert seen["lines"] == [
        {"quantity": 3, "shippedQuantity": 3},
        {"quantity": 1, "shippedQuantity": 1},
    ]
    assert [s["trackingNumber"] for s in seen["shipments"]] == ["SF001", "SF002"]
