"""WeChat Pay end to end: the real app served over HTTP on loopback, a fake WeChat Pay
gateway (``fake_wechatpay``: its own platform keys, real signatures and encryption)
that Yutang calls and that posts its notifications back to Yutang's callback URL.

``wechatpayv3`` is the independent oracle for what Yutang signs (the ``requestPayment``
parameters a mini-program hands to ``wx.requestPayment``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fake_wechatpay import FakeWeChatPay
from wechatpayv3.utils import rsa_sign

from yutang.core import gateways, sealing
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import GatewayCredentials, Order, Payment, Refund, Sku
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

PLACE = """mutation($sku: ID!, $key: String!) {
  placeOrder(input: {lines: [{skuId: $sku, quantity: 1}], idempotencyKey: $key}) {
    order { id } errors { code field } } }"""
PAY = """mutation($id: ID!, $key: String!, $provider: String!, $payer: JSON) {
  payOrder(input: {orderId: $id, idempotencyKey: $key, provider: $provider, payer: $payer}) {
    order { status } paymentStatus clientData errors { code field message } } }"""
SET = """mutation($provider: String!, $credentials: JSON!) {
  setPaymentCredentials(provider: $provider, credentials: $credentials) {
    setup { provider configured hint } errors { code field message } } }"""
PROVIDERS = "{ paymentProviders { provider needsCredentials configured hint } }"
REFUND = """mutation($input: RefundRequestInput!) { refundOrder(input: $input) {
  refund { status } errors { code field } } }"""
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@dataclass
class Merchant:
    """A merchant's WeChat Pay account: what its owner types into the admin API."""

    appid: str
    mchid: str
    serial_no: str
    private_key: str
    public_key: str
    apiv3_key: str

    def credentials(self, gateway: FakeWeChatPay) -> dict[str, str]:
        return {
            "appid": self.appid,
            "mchid": self.mchid,
            "serial_no": self.serial_no,
            "private_key": self.private_key,
            "apiv3_key": self.apiv3_key,
            "platform_public_key": gateway.platform_public_key_pem,
            "platform_public_key_id": gateway.platform_public_key_id,
        }


def new_merchant(mchid: str, appid: str, apiv3_key: str) -> Merchant:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    serial = f"{int(mchid):040X}"
    return Merchant(appid, mchid, serial, private, public, apiv3_key)


@pytest_asyncio.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeWeChatPay]:
    fake = FakeWeChatPay()
    await fake.start()
    monkeypatch.setenv("YUTANG_WECHATPAY_API", fake.url)
    try:
        yield fake
    finally:
        await fake.stop()


@dataclass
class Shop:
    """A tenant with ``wechatpay``, its merchant account set up by its owner."""

    tenant: TenantInfo
    merchant: Merchant
    owner: GraphQLClient
    me: GraphQLClient
    sku: str

    async def order(self, key: str) -> str:
        placed = await self.me(PLACE, {"sku": self.sku, "key": key})
        assert placed["placeOrder"]["errors"] == []
        return str(placed["placeOrder"]["order"]["id"])

    async def pay(self, order_id: str, key: str, provider: str = "wechatpay") -> dict[str, Any]:
        variables = {"id": order_id, "key": key, "provider": provider, "payer": {"openid": OPENID}}
        result: dict[str, Any] = (await self.me(PAY, variables))["payOrder"]
        return result


async def open_shop(
    tenant: TenantInfo,
    merchant: Merchant,
    gateway: FakeWeChatPay,
    web: httpx.AsyncClient,
    make_product: Any,
    phone: str,
) -> Shop:
    slug = tenant.slug
    gateway.add_merchant(
        merchant.mchid, merchant.appid, merchant.public_key, merchant.serial_no, merchant.apiv3_key
    )
    _, token = await create_staff(tenant, f"owner-{slug}", "owner")
    owner = GraphQLClient(web, "/admin/graphql", slug, token)
    done = await owner(SET, {"provider": "wechatpay", "credentials": merchant.credentials(gateway)})
    assert done["setPaymentCredentials"]["errors"] == [], done
    product = await make_product("Spring ticket", [(3800, 50)], on=tenant)
    sku = await Sku.get(product_id=product.id)
    _, member_token = await create_member(tenant, phone)
    me = GraphQLClient(web, "/graphql", slug, member_token)
    return Shop(tenant, merchant, owner, me, to_global("Sku", sku.id))


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop ``shop``, with WeChat Pay enabled."""
    return await make_tenant("shop", plugins=["wechatpay"])


@pytest_asyncio.fixture
async def shop(
    secret_keys: str,
    tenant: TenantInfo,
    gateway: FakeWeChatPay,
    web: httpx.AsyncClient,
    make_product: Any,
) -> Shop:
    merchant = new_merchant("1900000109", "wx0d678ef567a06787", "a" * 32)
    return await open_shop(tenant, merchant, gateway, web, make_product, "13900000001")


async def order_status(shop: Shop, order_id: str) -> str:
    [order] = [
        o
        for o in await Order.filter(tenant_id=shop.tenant.id)
        if to_global("Order", o.id) == order_id
    ]
    return order.status


async def test_a_mini_program_pays_and_the_notification_marks_the_order_paid(
    shop: Shop, gateway: FakeWeChatPay
) -> None:
    order_id = await shop.order("o-1")
    started = await shop.pay(order_id, "p-1")
    assert started["errors"] == [] and started["paymentStatus"] == "PENDING"
    params = started["clientData"]["requestPayment"]
    # wx.requestPayment's paySign, recomputed by the SDK from the merchant's key
    message = (
        f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    )
    assert params["paySign"] == rsa_sign(
        serialization.load_pem_private_key(shop.merchant.private_key.encode(), None), message
    )
    reference = started["clientData"]["reference"]
    placed = gateway.orders[reference]
    assert (placed.total, placed.openid, placed.appid) == (
        3800,
        OPENID,
        shop.merchant.appid,
    )

    answer = await gateway.pay(reference)
    assert answer is not None and answer.status_code == 204
    assert await order_status(shop, order_id) == "paid"
    payment = await Payment.get(tenant_id=shop.tenant.id)
    assert (payment.status, payment.provider) == ("captured", "wechatpay")

    # The same notification again (the platform re-sends): accepted, recorded once.
    again = await gateway.notify_payment(reference)
    assert again.status_code == 204
    assert await Payment.filter(status="captured").count() == 1


async def test_forged_stale_wrong_and_foreign_notifications_are_refused(
    shop: Shop,
    gateway: FakeWeChatPay,
    make_tenant: MakeTenant,
    web: httpx.AsyncClient,
    make_product: Any,
) -> None:
    # The same APIv3 key as the shop's: the notification opens, the merchant id refuses it.
    other = new_merchant("1900000110", "wx0123456789abcdef", shop.merchant.apiv3_key)
    there = await make_tenant("other", plugins=["wechatpay"])
    await open_shop(there, other, gateway, web, make_product, "13900000002")
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    await gateway.pay(reference, notify=False)

    refused = {
        "tampered": await gateway.notify_payment(reference, tamper=True),
        "stale": await gateway.notify_payment(reference, timestamp=int(time.time()) - 600),
        "wrong amount": await gateway.notify_payment(reference, amount=1),
        "other merchant": await gateway.notify_payment(reference, merchant=other.mchid),
    }
    for why, answer in refused.items():
        assert answer.status_code == 500, why
        assert answer.json()["code"] == "FAIL", why
    assert await order_status(shop, order_id) == "pending_payment"

    assert (await gateway.notify_payment(reference)).status_code == 204
    assert await order_status(shop, order_id) == "paid"


async def test_a_payment_whose_notification_never_comes_is_reconciled(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker, frozen_clock: FrozenClock
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    frozen_clock.advance(timedelta(seconds=61))
    await worker.run_until_idle()  # asked: not paid yet, asked again later
    assert await order_status(shop, order_id) == "pending_payment"
    await gateway.pay(reference, notify=False)
    frozen_clock.advance(timedelta(minutes=3))
    await worker.run_until_idle()
    assert await order_status(shop, order_id) == "paid"
    queries = [r for r in gateway.requests if r[0] == "GET" and "out-trade-no" in r[1]]
    assert len(queries) == 2


async def test_a_refund_is_pending_until_its_notification_then_refunded(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    await gateway.pay(reference)
    asked = await shop.owner(REFUND, {"input": {"orderId": order_id, "idempotencyKey": "r-1"}})
    assert asked["refundOrder"]["errors"] == []
    await worker.run_until_idle()
    refund = await Refund.get(tenant_id=shop.tenant.id)
    assert refund.status == "approved"  # the gateway is processing it
    [made] = gateway.refunds.values()
    assert (made.out_trade_no, made.refund, made.status) == (reference, 3800, "PROCESSING")

    answer = await gateway.settle_refund(made.out_refund_no)
    assert answer is not None and answer.status_code == 204
    await worker.run_until_idle()
    assert (await Refund.get(id=refund.id)).status == "refunded"


async def test_switching_to_another_provider_closes_the_wechat_order(
    shop: Shop, gateway: FakeWeChatPay
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    paid = await shop.pay(order_id, "p-2", provider="dev")
    assert paid["order"]["status"] == "PAID"
    assert gateway.orders[reference].trade_state == "CLOSED"


async def test_credentials_are_checked_sealed_shown_as_a_hint_and_the_owners_alone(
    shop: Shop, gateway: FakeWeChatPay, web: httpx.AsyncClient, secret_keys: str
) -> None:
    providers = (await shop.owner(PROVIDERS))["paymentProviders"]
    assert providers == [
        {"provider": "dev", "needsCredentials": False, "configured": True, "hint": ""},
        {
            "provider": "wechatpay",
            "needsCredentials": True,
            "configured": True,
            "hint": "mchid 1900000109, appid wx0d678ef567a06787, API key serial "
            f"…{shop.merchant.serial_no[-6:]}",
        },
    ]
    row = await GatewayCredentials.get(tenant_id=shop.tenant.id)
    secret_parts = ("PRIVATE KEY", shop.merchant.apiv3_key, shop.merchant.private_key.split()[4])
    assert not any(part in row.sealed for part in secret_parts)

    good = shop.merchant.credentials(gateway)
    bad = {
        "private_key": {**good, "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n"},
        "apiv3_key": {**good, "apiv3_key": "short"},
        "mchid": {**good, "mchid": "19x"},
    }
    for field, credentials in bad.items():
        answer = await shop.owner(SET, {"provider": "wechatpay", "credentials": credentials})
        [error] = answer["setPaymentCredentials"]["errors"]
        assert (error["code"], error["field"]) == ("INVALID", f"credentials.{field}")
        assert shop.merchant.private_key not in str(answer)
    assert (await GatewayCredentials.get(id=row.id)).sealed == row.sealed  # nothing written

    _, token = await create_staff(shop.tenant, "manager", "manager")
    manager = shop.owner.as_(token)
    refused = await manager(SET, {"provider": "wechatpay", "credentials": good})
    assert [e["code"] for e in refused["setPaymentCredentials"]["errors"]] == ["FORBIDDEN"]
    listing = await manager.raw(PROVIDERS)
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rotating_the_deployment_key_reseals_and_the_old_key_opens_until_then(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, secret_keys: str
) -> None:
    row = await GatewayCredentials.get(tenant_id=shop.tenant.id)
    newer = sealing.new_key()
    monkeypatch.setenv(sealing.ENV, f"{newer},{secret_keys}")
    assert sealing.unseal(row.sealed)  # the old key still opens it
    assert await gateways.reseal_all() == 1
    resealed = (await GatewayCredentials.get(id=row.id)).sealed
    assert resealed != row.sealed
    monkeypatch.setenv(sealing.ENV, newer)  # the old key retired
    assert b"1900000109" in sealing.unseal(resealed)
    with pytest.raises(Exception, match="no key"):
        sealing.unseal(row.sealed)


async def test_a_provider_not_set_up_refuses_to_take_payments(
    secret_keys: str,
    make_tenant: MakeTenant,
    gateway: FakeWeChatPay,
    web: httpx.AsyncClient,
    make_product: Any,
) -> None:
    tenant = await make_tenant("bare", plugins=["wechatpay"])
    product = await make_product("Cup", [(100, 5)], on=tenant)
    sku = to_global("Sku", (await Sku.get(product_id=product.id)).id)
    _, token = await create_member(tenant, "13900000003")
    me = GraphQLClient(web, "/graphql", "bare", token)
    order_id = (await me(PLACE, {"sku": sku, "key": "o"}))["placeOrder"]["order"]["id"]
    answer = await me(
        PAY, {"id": order_id, "key": "p", "provider": "wechatpay", "payer": {"openid": OPENID}}
    )
    [error] = answer["payOrder"]["errors"]
    assert (error["code"], error["field"]) == ("PROVIDER_NOT_CONFIGURED", "provider")
    assert gateway.requests == []


async def test_paying_again_with_the_same_key_gets_the_payment_parameters_back(
    shop: Shop, gateway: FakeWeChatPay, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = await shop.order("o-1")
    monkeypatch.setenv("YUTANG_WECHATPAY_API", "http://127.0.0.1:9")  # nothing listens
    [error] = (await shop.pay(order_id, "p-1"))["errors"]
    assert error["code"] == "GATEWAY_ERROR"
    monkeypatch.setenv("YUTANG_WECHATPAY_API", gateway.url)
    again = await shop.pay(order_id, "p-1")  # the same request, as a client retries it
    assert again["errors"] == [] and again["clientData"]["requestPayment"]["paySign"]
    third = await shop.pay(order_id, "p-1")
    assert third["clientData"]["reference"] == again["clientData"]["reference"]
    assert len(gateway.orders) == 1


async def test_an_answer_the_platform_did_not_sign_is_not_believed(
    shop: Shop, gateway: FakeWeChatPay
) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = forger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    wrong = {**shop.merchant.credentials(gateway), "platform_public_key": pem}
    assert (await shop.owner(SET, {"provider": "wechatpay", "credentials": wrong}))[
        "setPaymentCredentials"
    ]["errors"] == []
    order_id = await shop.order("o-1")
    [error] = (await shop.pay(order_id, "p-1"))["errors"]
    assert error["code"] == "GATEWAY_ERROR" and "not signed by the platform" in error["message"]


async def test_a_shopper_who_paid_by_wechat_and_then_taps_another_provider_is_not_charged_twice(
    shop: Shop, gateway: FakeWeChatPay
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    await gateway.pay(reference, notify=False)  # paid; the notification is late
    [error] = (await shop.pay(order_id, "p-2", provider="dev"))["errors"]
    assert error["code"] == "ILLEGAL_TRANSITION"
    assert await order_status(shop, order_id) == "paid"
    statuses = sorted((p.provider, p.status) for p in await Payment.all())
    assert statuses == [("dev", "closed"), ("wechatpay", "captured")]


async def test_a_cancelled_order_is_closed_at_the_gateway(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker
) -> None:
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    cancel = "mutation($id: ID!) { cancelOrder(orderId: $id) { errors { code } } }"
    assert (await shop.me(cancel, {"id": order_id}))["cancelOrder"]["errors"] == []
    await worker.run_until_idle()
    assert gateway.orders[reference].trade_state == "CLOSED"
    assert (await Payment.get()).status == "closed"


async def test_a_refund_under_our_reference_of_another_payment_is_never_taken_for_ours(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker
) -> None:
    """Another database sharing the merchant account (staging) made refund R<n> first."""
    first, second = await shop.order("o-1"), await shop.order("o-2")
    references = []
    for order_id, key in ((first, "p-1"), (second, "p-2")):
        reference = (await shop.pay(order_id, key))["clientData"]["reference"]
        await gateway.pay(reference)
        references.append(reference)
    await shop.owner(REFUND, {"input": {"orderId": first, "idempotencyKey": "r-1"}})
    await worker.run_until_idle()
    theirs = next(iter(gateway.refunds.values()))
    await gateway.settle_refund(theirs.out_refund_no, notify=False)
    ours = f"R{(await Refund.get(tenant_id=shop.tenant.id)).id + 1}"  # the next refund's
    gateway.refunds[ours] = dataclasses.replace(theirs, out_refund_no=ours)
    await shop.owner(REFUND, {"input": {"orderId": second, "idempotencyKey": "r-2"}})
    await worker.run_until_idle()
    refund = await Refund.get(id=int(ours[1:]))
    assert refund.status == "approved"  # not marked refunded on another payment's refund


async def test_the_dev_provider_takes_no_payments_in_production(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUTANG_ENV", "production")
    order_id = await shop.order("o-1")
    [error] = (await shop.pay(order_id, "p-1", provider="dev"))["errors"]
    assert (error["code"], error["field"]) == ("INVALID", "provider")
    assert await order_status(shop, order_id) == "pending_payment"


async def test_credentials_stay_while_a_payment_through_them_is_open(
    shop: Shop, gateway: FakeWeChatPay
) -> None:
    remove = """mutation { removePaymentCredentials(provider: "wechatpay") {
      setup { configured } errors { code field } } }"""
    order_id = await shop.order("o-1")
    reference = (await shop.pay(order_id, "p-1"))["clientData"]["reference"]
    refused = (await shop.owner(remove))["removePaymentCredentials"]
    assert refused["errors"] == [{"code": "ILLEGAL_TRANSITION", "field": "provider"}]
    await gateway.pay(reference)
    removed = (await shop.owner(remove))["removePaymentCredentials"]
    assert removed == {"setup": {"configured": False}, "errors": []}
