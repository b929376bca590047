"""Payment attempts over the real app: one open attempt per order, whatever the shopper
taps. A second attempt with the same provider gets the open payment back, one with another
provider closes it; a gateway that still captures a closed payment is refunded.

``example_later`` (the example plugin's provider) captures only through a signed callback
to ``/payments/{tenant}/example_later/callback``; ``dev`` captures at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest
import yutang_example_plugin as example

from yutang.core.contract import TenantInfo
from yutang.core.models import Order, Payment, Sku
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, MakeTenant, create_member

PLACE = """mutation($sku: ID!, $key: String!) {
  placeOrder(input: {lines: [{skuId: $sku, quantity: 1}], idempotencyKey: $key}) {
    order { id total { amount } } errors { code field } } }"""
PAY = """mutation($id: ID!, $key: String!, $provider: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key, provider: $provider}) {
    order { status } paymentStatus clientData errors { code field message } } }"""


@pytest.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """A shop with the example plugin, for its ``example_later`` provider."""
    return await make_tenant("shop", plugins=["example"])


@pytest.fixture
async def order(
    tenant: TenantInfo, storefront: GraphQLClient, make_product: Any
) -> tuple[GraphQLClient, str]:
    """A member's unpaid order of one ¥58 cup, and the member's client."""
    product = await make_product("Cup", [(5800, 10)])
    sku = await Sku.get(product_id=product.id)
    _, token = await create_member(tenant, "13900000001")
    me = storefront.as_(token)
    placed = await me(PLACE, {"sku": to_global("Sku", sku.id), "key": "o-1"})
    return me, placed["placeOrder"]["order"]["id"]


async def pay(me: GraphQLClient, order_id: str, key: str, provider: str) -> dict[str, Any]:
    body = await me.raw(PAY, {"id": order_id, "key": key, "provider": provider})
    assert not body.get("errors"), body["errors"]
    result: dict[str, Any] = body["data"]["payOrder"]
    return result


async def callback(http: httpx.AsyncClient, reference: str, amount: int) -> httpx.Response:
    body = msgspec.json.encode({"reference": reference, "amount": amount})
    return await http.post(
        "/payments/shop/example_later/callback",
        content=body,
        headers={"x-example-signature": example.sign(body)},
    )


async def test_a_second_attempt_with_the_same_provider_gets_the_open_payment_back(
    order: tuple[GraphQLClient, str], http: httpx.AsyncClient
) -> None:
    me, order_id = order
    first = await pay(me, order_id, "p-1", "example_later")
    again = await pay(me, order_id, "p-2", "example_later")
    assert first["errors"] == again["errors"] == []
    assert first["paymentStatus"] == again["paymentStatus"] == "PENDING"
    assert first["clientData"] == again["clientData"]
    (payment,) = await Payment.all()
    assert payment.reference == first["clientData"]["reference"]

    assert (await callback(http, payment.reference, 5800)).status_code == 200
    assert (await Order.get()).status == "paid"
    late = await pay(me, order_id, "p-3", "example_later")
    assert late["errors"] == [
        {
            "code": "ILLEGAL_TRANSITION",
            "field": "orderId",
            "message": "an order that is paid cannot be paid",
        }
    ]
    assert await Payment.all().count() == 1


async def test_switching_provider_closes_the_open_payment_and_a_late_capture_is_refunded(
    order: tuple[GraphQLClient, str], http: httpx.AsyncClient, worker: Worker
) -> None:
    me, order_id = order
    wechat = await pay(me, order_id, "p-1", "example_later")
    dev = await pay(me, order_id, "p-2", "dev")
    assert dev["errors"] == [] and dev["order"]["status"] == "PAID"
    closed, captured = await Payment.all().order_by("id")
    assert (closed.provider, closed.status) == ("example_later", "closed")
    assert (captured.provider, captured.status) == ("dev", "captured")

    # The shopper had paid the first gateway after all: that money goes back.
    reference = wechat["clientData"]["reference"]
    assert (await callback(http, reference, 5800)).status_code == 200
    await worker.run_until_idle()
    assert (await Payment.get(id=closed.id)).status == "refunded"
    assert (await Payment.get(id=captured.id)).status == "captured"
    assert (await Order.get()).paid_amount == 5800


async def test_a_capture_of_a_closed_payment_pays_an_order_still_unpaid(
    order: tuple[GraphQLClient, str], http: httpx.AsyncClient
) -> None:
    me, order_id = order
    first = await pay(me, order_id, "p-1", "example_later")
    await Payment.filter(reference=first["clientData"]["reference"]).update(status="closed")
    assert (await callback(http, first["clientData"]["reference"], 5800)).status_code == 200
    assert (await Order.get()).status == "paid"


@pytest.mark.postgres_only
async def test_20_concurrent_attempts_with_different_keys_capture_one_payment(
    order: tuple[GraphQLClient, str], worker: Worker
) -> None:
    me, order_id = order
    answers = await asyncio.gather(*(pay(me, order_id, f"p-{i}", "dev") for i in range(20)))
    assert await Payment.all().count() == 1
    assert (await Payment.get()).status == "captured"
    assert (await Order.get()).status == "paid"
    for answer in answers:
        if answer["errors"]:
            assert [e["code"] for e in answer["errors"]] == ["ILLEGAL_TRANSITION"]
        else:
            assert answer["order"]["status"] == "PAID"
    await worker.run_until_idle()
    assert await Payment.filter(status="refunded").count() == 0


@pytest.mark.postgres_only
async def test_20_concurrent_attempts_with_a_later_gateway_open_one_payment(
    order: tuple[GraphQLClient, str],
) -> None:
    me, order_id = order
    answers = await asyncio.gather(
        *(pay(me, order_id, f"p-{i}", "example_later") for i in range(20))
    )
    (payment,) = await Payment.all()
    assert {a["clientData"]["reference"] for a in answers} == {payment.reference}
