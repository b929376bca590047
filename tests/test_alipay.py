"""Alipay end to end: the real app served over HTTP on loopback, a fake Alipay gateway
(``fake_alipay``: its own Alipay key, RSA2 signatures both ways, checked against
``python-alipay-sdk``) that Yutang calls and that posts its notifications back.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_alipay import FakeAlipay
from tortoise.expressions import F

from yutang.core import payments
from yutang.core.contract import TenantInfo
from yutang.core.models import Order, Payment, Refund, Sku, Tenant
from yutang.core.refunds import execute_refund
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.plugins.alipay import protocol
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

PLACE = """mutation($sku: ID!, $key: String!) {
  placeOrder(input: {lines: [{skuId: $sku, quantity: 1}], idempotencyKey: $key}) {
    order { id } errors { code field } } }"""
PAY = """mutation($id: ID!, $key: String!, $provider: String!, $payer: JSON) {
  payOrder(input: {orderId: $id, idempotencyKey: $key, provider: $provider, payer: $payer}) {
    order { status } paymentStatus clientData errors { code field message } } }"""
SET = """mutation($credentials: JSON!) {
  setPaymentCredentials(provider: "alipay", credentials: $credentials) {
    setup { configured hint } errors { code field message } } }"""
REFUND = """mutation($input: RefundRequestInput!) { refundOrder(input: $input) {
  refund { status } errors { code field } } }"""
APP_ID = "2021000000000001"
BUYER = {"buyer_open_id": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"}


@dataclass
class Shop:
    tenant: TenantInfo
    me: GraphQLClient
    owner: GraphQLClient
    sku: str

    async def order(self, key: str) -> str:
        placed = await self.me(PLACE, {"sku": self.sku, "key": key})
        return str(placed["placeOrder"]["order"]["id"])

    async def pay(
        self, order_id: str, key: str, payer: dict[str, str] | None, provider: str = "alipay"
    ) -> dict[str, Any]:
        variables = {"id": order_id, "key": key, "provider": provider, "payer": payer}
        result: dict[str, Any] = (await self.me(PAY, variables))["payOrder"]
        return result


def app_keys() -> tuple[str, str]:
    """An app's private key as Alipay's key tool gives it (bare base64) and its public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode(), public.decode()


@pytest_asyncio.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeAlipay]:
    fake = FakeAlipay()
    await fake.start()
    monkeypatch.setenv("YUTANG_ALIPAY_GATEWAY", fake.gateway_url)
    try:
        yield fake
    finally:
        await fake.stop()


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    return await make_tenant("shop", plugins=["alipay"])


@pytest_asyncio.fixture
async def shop(
    secret_keys: str,
    tenant: TenantInfo,
    gateway: FakeAlipay,
    web: httpx.AsyncClient,
    make_product: Any,
) -> Shop:
    private, public = app_keys()
    gateway.add_app(APP_ID, public)
    _, token = await create_staff(tenant, "owner", "owner")
    owner = GraphQLClient(web, "/admin/graphql", tenant.slug, token)
    credentials = {
        "app_id": APP_ID,
        "app_private_key": private,
        "alipay_public_key": gateway.alipay_public_key_pem,
    }
    done = (await owner(SET, {"credentials": credentials}))["setPaymentCredentials"]
    assert done == {"setup": {"configured": True, "hint": f"app {APP_ID}"}, "errors": []}
    product = await make_product("Spring ticket", [(3800, 50)], on=tenant)
    sku = to_global("Sku", (await Sku.get(product_id=product.id)).id)
    _, member_token = await create_member(tenant, "13900000001")
    return Shop(tenant, GraphQLClient(web, "/graphql", tenant.slug, member_token), owner, sku)


async def status_of(shop: Shop) -> str:
    return (await Order.get(tenant_id=shop.tenant.id)).status


async def test_a_mini_program_pays_and_alipays_notification_marks_the_order_paid(
    shop: Shop, gateway: FakeAlipay
) -> None:
    order_id = await shop.order("o-1")
    started = await shop.pay(order_id, "p-1", BUYER)
    assert started["errors"] == [] and started["paymentStatus"] == "PENDING"
    reference, trade_no = started["clientData"]["reference"], started["clientData"]["tradeNO"]
    placed = gateway.orders[reference]
    assert (placed.trade_no, placed.total_amount, placed.buyer_open_id) == (
        trade_no,
        "38.00",
        BUYER["buyer_open_id"],
    )
    answer = await gateway.pay(reference)
    assert answer is not None and (answer.status_code, answer.text) == (200, "success")
    assert await status_of(shop) == "paid"
    again = await gateway.notify(reference)  # Alipay sends it again: recorded once
    assert again.text == "success"
    assert await Payment.filter(status="captured").count() == 1


async def test_an_h5_shopper_pays_at_alipays_cashier(
    shop: Shop, gateway: FakeAlipay, web: httpx.AsyncClient
) -> None:
    order_id = await shop.order("o-1")
    started = await shop.pay(order_id, "p-1", None)
    url = started["clientData"]["payUrl"]
    assert url.startswith(gateway.gateway_url + "?")
    async with httpx.AsyncClient(trust_env=False) as browser:
        page = await browser.get(url)  # the signed page request, as the browser opens it
    assert page.status_code == 200 and "isv.invalid-signature" not in page.text
    reference = started["clientData"]["reference"]
    assert gateway.orders[reference].method == "alipay.trade.wap.pay"
    await gateway.pay(reference)
    assert await status_of(shop) == "paid"


async def test_tampered_wrong_and_foreign_notifications_are_refused(
    shop: Shop, gateway: FakeAlipay
) -> None:
    _, other_public = app_keys()
    gateway.add_app("2021000000000002", other_public)
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1", BUYER))["clientData"]["reference"]
    await gateway.pay(reference, notify=False)
    refused = {
        "tampered": await gateway.notify(reference, tamper=True),
        "wrong amount": await gateway.notify(reference, amount="0.01"),
        "other app": await gateway.notify(reference, app_id="2021000000000002"),
    }
    assert {why: a.text for why, a in refused.items()} == dict.fromkeys(refused, "fail")
    assert await status_of(shop) == "pending_payment"
    assert (await gateway.notify(reference)).text == "success"
    assert await status_of(shop) == "paid"


async def test_a_lost_notification_is_made_good_by_reconciliation(
    shop: Shop, gateway: FakeAlipay
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1", BUYER))["clientData"]["reference"]
    await gateway.pay(reference, notify=False)
    payment = await Payment.get(reference=reference)
    await payments.reconcile(shop.tenant, {"payment_id": payment.id, "asked": 0})  # the job
    assert await status_of(shop) == "paid"


async def test_a_refund_is_made_once_whatever_the_retries(
    shop: Shop, gateway: FakeAlipay, worker: Worker
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1", BUYER))["clientData"]["reference"]
    await gateway.pay(reference)
    asked = await shop.owner(REFUND, {"input": {"orderId": order_id, "idempotencyKey": "r-1"}})
    assert asked["refundOrder"]["errors"] == []
    await worker.run_until_idle()
    refund = await Refund.get(tenant_id=shop.tenant.id)
    assert refund.status == "refunded"
    await Refund.filter(id=refund.id).update(status="approved")  # as if the job ran again
    await execute_refund(shop.tenant, {"refund_id": refund.id})
    [made] = gateway.refunds.values()
    assert (made.out_request_no, made.refund_amount) == (f"R{refund.id}", "38.00")
    assert gateway.orders[reference].refund_fee == "38.00"


async def test_switching_to_another_provider_closes_the_alipay_trade(
    shop: Shop, gateway: FakeAlipay
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1", BUYER))["clientData"]["reference"]
    assert (await shop.pay(order_id, "p-2", None, provider="dev"))["order"]["status"] == "PAID"
    assert gateway.orders[reference].trade_status == "TRADE_CLOSED"


async def test_keys_that_do_not_parse_are_refused_naming_the_field(
    shop: Shop, gateway: FakeAlipay
) -> None:
    bad = {"app_id": APP_ID, "app_private_key": "bm90IGEga2V5", "alipay_public_key": "x"}
    [error] = (await shop.owner(SET, {"credentials": bad}))["setPaymentCredentials"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID", "credentials.app_private_key")


async def test_a_shop_that_disabled_alipay_still_records_the_payments_it_made(
    shop: Shop, gateway: FakeAlipay
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1", BUYER))["clientData"]["reference"]
    await Tenant.filter(id=shop.tenant.id).update(
        plugins=[], settings_version=F("settings_version") + 1
    )
    answer = await gateway.pay(reference)
    assert answer is not None and answer.text == "success"
    assert await status_of(shop) == "paid"


async def test_an_answer_alipay_did_not_sign_is_not_believed(
    shop: Shop, gateway: FakeAlipay
) -> None:
    private, _ = app_keys()
    _, forged = app_keys()  # not Alipay's key: its signed answers do not verify
    wrong = {"app_id": APP_ID, "app_private_key": private, "alipay_public_key": forged}
    assert (await shop.owner(SET, {"credentials": wrong}))["setPaymentCredentials"]["errors"] == []
    order_id = await shop.order("o-1")
    [error] = (await shop.pay(order_id, "p-1", BUYER))["errors"]
    assert error["code"] == "GATEWAY_ERROR" and "not signed by Alipay" in error["message"]


def test_yuan_amounts_parse_exactly_or_not_at_all() -> None:
    assert [protocol.fen(t) for t in ("38.00", "0.01", "38", "38.5", "1234567.89")] == [
        3800,
        1,
        3800,
        3850,
        123456789,
    ]
    for bad in ("38.001", "-1", "1e3", " 38", "1_000", "Infinity", "NaN", "", "01.00", 38):
        assert protocol.fen(bad) is None, bad
    assert protocol.yuan(3805) == "38.05" and protocol.yuan(1) == "0.01"


def test_an_answer_whose_signature_does_not_cover_its_node_is_refused() -> None:
    private, public = app_keys()
    node = '{"code":"10000","trade_no":"2026"}'
    signature = protocol.sign(private, node)
    body = f'{{"alipay_trade_query_response":{node},"sign":"{signature}"}}'
    assert protocol.signed_node(body, "alipay.trade.query", public) == {
        "code": "10000",
        "trade_no": "2026",
    }
    forged = body.replace('"2026"', '"2027"')
    assert protocol.signed_node(forged, "alipay.trade.query", public) is None
    for broken in ("", "{", '{"alipay_trade_query_response":', "[1]"):
        assert protocol.signed_node(broken, "alipay.trade.query", public) is None
