"""Goods that ship nothing: no address, no shipping fee, handed over and completed once
paid, so what waits for completion follows as for shipped goods."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from tortoise.expressions import F

from yutang import api
from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.models import Job, Order, Sku, Tenant
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient

SAVE_TEMPLATE = """mutation($input: ShippingTemplateInput!) {
  saveShippingTemplate(input: $input) { template { id } errors { code field message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status fulfilment total { amount } fees { amount } }
  errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code } } }"""
PRODUCT = """query($id: ID!) { product(id: $id) { virtual } }"""


class Recorder:
    """Hears the order events, in the order they are delivered."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, int | None]] = []

    @api.hookimpl
    def yutang_order_placed(self, event: api.Event) -> None:
        self.heard.append(("placed", event.order_id))

    @api.hookimpl
    def yutang_order_paid(self, event: api.Event) -> None:
        self.heard.append(("paid", event.order_id))

    @api.hookimpl
    def yutang_order_fulfilled(self, event: api.Event) -> None:
        self.heard.append(("fulfilled", event.order_id))

    @api.hookimpl
    def yutang_order_completed(self, event: api.Event) -> None:
        self.heard.append(("completed", event.order_id))


@pytest_asyncio.fixture
async def recorder(yutang_db: Any, tenant: Any) -> Recorder:
    """The ``eventlog`` plugin, registered once per session, enabled for the shop."""
    if "eventlog" not in yutang_db.registry.plugins:
        yutang_db.registry.register("eventlog", Recorder())
    await Tenant.filter(id=tenant.id).update(
        plugins=["eventlog"], settings_version=F("settings_version") + 1
    )
    plugin: Recorder = yutang_db.registry.plugins["eventlog"].module
    plugin.heard.clear()
    return plugin


async def sku(tenant: Any, name: str, *, virtual: bool, price: int = 9_900) -> str:
    product = await save_product(
        tenant,
        ProductInput(
            name=name, published=True, virtual=virtual, skus=[SkuInput(price=price, stock=10)]
        ),
    )
    return to_global("Sku", (await Sku.get(product_id=product.id)).id)


async def shipping_everywhere(admin: GraphQLClient) -> None:
    """A default template that charges every delivery ¥8 and needs an address."""
    body = {"name": "快递", "firstFee": 800, "isDefault": True}
    saved = (await admin(SAVE_TEMPLATE, {"input": body}))["saveShippingTemplate"]
    assert saved["errors"] == []


async def test_a_virtual_order_needs_no_address_and_completes_once_paid(
    member: tuple[Any, GraphQLClient],
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: Any,
    yutang_db: Any,
    recorder: Recorder,
) -> None:
    _, me = member
    await shipping_everywhere(admin)
    ticket = await sku(tenant, "Concert ticket", virtual=True)
    product_id = to_global("Product", (await Sku.get(id=int(_pk(ticket)))).product_id)
    assert (await storefront(PRODUCT, {"id": product_id}))["product"] == {"virtual": True}
    placed = (await me(PLACE, {"input": {"lines": [line(ticket)], "idempotencyKey": "t"}}))[
        "placeOrder"
    ]
    assert placed["errors"] == []
    order = placed["order"]
    assert order["fulfilment"] == "virtual"
    assert (order["total"]["amount"], order["fees"]["amount"]) == (9_900, 0)
    assert (await me(PAY, {"id": order["id"], "key": "p"}))["payOrder"]["errors"] == []
    row = await Order.get(id=int(_pk(order["id"])))
    assert row.status == "paid"  # handed over after the payment commits, by a job
    await Worker(yutang_db).run_until_idle()
    row = await Order.get(id=row.id)
    assert row.status == "completed"
    assert row.fulfilled_at is not None and row.completed_at is not None
    assert await Job.filter(name="core.close_after_sale").count() == 1
    assert recorder.heard == [
        ("placed", row.id),
        ("paid", row.id),
        ("fulfilled", row.id),
        ("completed", row.id),
    ]


async def test_virtual_and_shipped_goods_do_not_share_an_order(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, tenant: Any
) -> None:
    _, me = member
    await shipping_everywhere(admin)
    ticket = await sku(tenant, "Ticket", virtual=True)
    tea = await sku(tenant, "Tea", virtual=False)
    mixed = {"lines": [line(ticket), line(tea)], "idempotencyKey": "m"}
    refused = (await me(PLACE, {"input": mixed}))["placeOrder"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("WRONG_FULFILMENT", "lines[0].skuId")
    ]
    shipped = {"lines": [line(ticket)], "fulfilment": "delivery", "idempotencyKey": "d"}
    refused = (await me(PLACE, {"input": shipped}))["placeOrder"]
    assert refused["errors"][0]["code"] == "WRONG_FULFILMENT"
    parcel = {"lines": [line(tea)], "fulfilment": "virtual", "idempotencyKey": "v"}
    refused = (await me(PLACE, {"input": parcel}))["placeOrder"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("WRONG_FULFILMENT", "lines[0].skuId")
    ]
    assert await Order.all().count() == 0
    tea_alone = {"lines": [line(tea)], "idempotencyKey": "t"}
    needs = (await me(PLACE, {"input": tea_alone}))["placeOrder"]["errors"]
    assert [e["code"] for e in needs] == ["ADDRESS_REQUIRED"]


def line(sku_id: str) -> dict[str, Any]:
    return {"skuId": sku_id, "quantity": 1}


def _pk(global_id: str) -> str:
    from yutang.graphql.ids import from_global

    return str(from_global(global_id)[1])
