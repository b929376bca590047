"""The fake Alipay gateway (``tests/fake_alipay.py``) checked against ``python-alipay-sdk``
(module ``alipay``), an SDK maintained apart from Yutang and used against the real platform.

If that SDK's signed requests pass the fake, its own verification accepts the fake's signed
answers (and refuses them under another Alipay key), and its ``verify`` accepts the fake's
notifications (and refuses a tampered one), the fake speaks the real protocol, so a Yutang
client tested against the fake speaks it too. The SDK is synchronous (``urllib``): it runs in
a thread while the fake serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import alipay  # type: ignore[import-untyped]
import httpx
import pytest
import pytest_asyncio
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fake_alipay import FakeAlipay

CHINA = timezone(timedelta(hours=8))
BUYER = "2088102177846880"
INVALID_SIGNATURE = {
    "code": "40002",
    "msg": "Invalid Arguments",
    "sub_code": "isv.invalid-signature",
    "sub_msg": "验签出错",
}


@dataclass
class Shop:
    """An app's own key pair: the SDK signs with the private key, the platform registers the
    public one."""

    app_id: str
    key: rsa.RSAPrivateKey

    @property
    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def public_pem(self) -> str:
        return public_pem(self.key)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Receiver:
    """The merchants' notify endpoint on loopback: keeps what arrives, answers ``success``
    as a merchant acknowledging an Alipay notification does."""

    got: list[tuple[httpx.Headers, bytes]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify/alipay"

    def last(self) -> dict[str, str]:
        """The last notification's form parameters."""
        return dict(parse_qsl(self.got[-1][1].decode(), keep_blank_values=True))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        pairs = [ln.split(":", 1) for ln in head.split("\r\n")[1:] if ":" in ln]
        headers = httpx.Headers([(k.strip(), v.strip()) for k, v in pairs])
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.got.append((headers, body))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n"
            b"Connection: close\r\n\r\nsuccess"
        )
        await writer.drain()
        writer.close()


class BeijingClock:
    """Stands in for the ``datetime`` the SDK stamps requests with (``datetime.now()``, the
    machine's local time): the gateway wants Beijing time, whatever zone the tests run in."""

    @staticmethod
    def now() -> datetime:
        return datetime.now(CHINA).replace(tzinfo=None)


@pytest.fixture(autouse=True)
def direct_beijing_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's ``urlopen`` honours proxy variables: loopback must stay direct wherever this
    runs. And its timestamps are the machine's local time, which is Beijing time only in
    Beijing (the fake refuses a timestamp 15 minutes off, as the gateway does)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    monkeypatch.setattr(alipay, "urlopen", opener.open)
    monkeypatch.setattr(alipay, "datetime", BeijingClock)


@pytest.fixture(scope="module")
def keys() -> list[rsa.RSAPrivateKey]:
    """App keys and a stranger's, generated once for the module (RSA-2048 takes a moment)."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture
def shops(keys: list[rsa.RSAPrivateKey]) -> tuple[Shop, Shop]:
    """Two tenants' apps, each with its own key pair."""
    return Shop("2021000000000001", keys[0]), Shop("2021000000000002", keys[1])


@pytest_asyncio.fixture
async def fake(shops: tuple[Shop, Shop]) -> AsyncIterator[FakeAlipay]:
    async with FakeAlipay() as gateway:
        for shop in shops:
            gateway.add_app(shop.app_id, shop.public_pem)
        yield gateway


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


def sdk(
    fake: FakeAlipay,
    shop: Shop,
    notify_url: str | None = None,
    *,
    alipay_public_key_pem: str | None = None,
    private_pem: str | None = None,
) -> Any:
    """An ``AliPay`` client of the shop, trusting the fake's Alipay public key.

    The SDK has no gateway option: ``__init__`` sets ``_gateway`` to the production (or,
    with ``debug``, the sandbox) ``gateway.do``, and every server API GETs
    ``_gateway + "?" + signed query``; pointing that attribute at the fake sends the SDK's
    real requests, signatures and verification to loopback."""
    client = AliPay(
        appid=shop.app_id,
        app_notify_url=notify_url,
        app_private_key_string=private_pem or shop.private_pem,
        alipay_public_key_string=alipay_public_key_pem or fake.alipay_public_key_pem,
        sign_type="RSA2",
    )
    client._gateway = fake.gateway_url
    return client


async def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call in a thread: its verified response node."""
    return await asyncio.to_thread(partial(method, *args, **kwargs))


async def create(client: Any, out_trade_no: str, total_amount: str = "38.00") -> Any:
    return await call(
        client.api_alipay_trade_create,
        "鱼塘·杯子",
        out_trade_no,
        total_amount,
        buyer_id=BUYER,
    )


def signed(client: Any, method: str, biz: dict[str, Any], **common: str) -> dict[str, str]:
    """The parameters the SDK sends for ``method``, signed after ``common`` overrides its
    common parameters (a stale timestamp, another sign_type...)."""
    data = client.build_body(method, biz)
    data.update(common)
    return dict(parse_qsl(client.sign_data(data), keep_blank_values=True))


async def send(fake: FakeAlipay, params: dict[str, str], *, form: bool = False) -> httpx.Response:
    """GET ``gateway.do?params`` as the SDK does, or (``form``) POST as the Java SDK does:
    the common parameters in the query string, ``biz_content`` in a form body."""
    async with httpx.AsyncClient(trust_env=False) as http:
        if not form:
            return await http.get(fake.gateway_url, params=params)
        common = dict(params)
        body = {"biz_content": common.pop("biz_content")}
        return await http.post(fake.gateway_url, params=common, data=body)


def node_text(raw: str, name: str) -> str:
    """The response node exactly as it stands in the body, which is what ``sign`` covers."""
    prefix = '{"' + name + '":'
    assert raw.startswith(prefix), raw
    return raw[len(prefix) : raw.rindex(',"sign":"')]


def alipay_signed(fake: FakeAlipay, message: str, sign: str) -> bool:
    key = serialization.load_pem_public_key(fake.alipay_public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(sign), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verified(client: Any, notification: dict[str, str]) -> bool:
    """The SDK's check of a notification as its README shows it: the parameters without
    ``sign`` (it drops ``sign_type`` itself), and ``sign``."""
    data = dict(notification)
    signature = data.pop("sign")
    return bool(client.verify(data, signature))


async def test_the_sdk_creates_queries_closes_and_refunds_through_the_fake(
    fake: FakeAlipay, shops: tuple[Shop, Shop], receiver: Receiver
) -> None:
    """Every server API the fake serves, driven by the SDK: the fake accepts its signatures,
    the SDK accepts the fake's signed answers, and the gateway's idempotency and business
    errors come back as the SDK's callers would see them."""
    client = sdk(fake, shops[0], receiver.url)

    created = await create(client, "YT_ORDER_0001")
    assert created == {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": "YT_ORDER_0001",
        "trade_no": fake.orders["YT_ORDER_0001"].trade_no,
    }
    assert len(created["trade_no"]) == 28 and created["trade_no"].isdigit()
    assert await create(client, "YT_ORDER_0001") == created  # the same trade again
    assert await create(client, "YT_ORDER_0001", "39.00") == {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.CONTEXT_INCONSISTENT",
        "sub_msg": "交易信息被篡改",
    }
    bad = await create(client, "YT-ORDER-0001")
    assert (bad["code"], bad["sub_code"]) == ("40004", "ACQ.INVALID_PARAMETER")

    unpaid = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0001")
    assert unpaid == {
        "code": "10000",
        "msg": "Success",
        "trade_no": created["trade_no"],
        "out_trade_no": "YT_ORDER_0001",
        "trade_status": "WAIT_BUYER_PAY",
        "total_amount": "38.00",
        "buyer_pay_amount": "0.00",
        "point_amount": "0.00",
        "invoice_amount": "0.00",
        "receipt_amount": "0.00",
        "buyer_user_id": BUYER,
    }
    by_trade_no = await call(client.api_alipay_trade_query, trade_no=created["trade_no"])
    assert by_trade_no == unpaid
    assert await call(client.api_alipay_trade_query, out_trade_no="YT_NEVER") == {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
        "sub_msg": "交易不存在",
    }

    other = await create(client, "YT_ORDER_0002")
    closed = await call(client.api_alipay_trade_close, out_trade_no="YT_ORDER_0002")
    assert closed == {
        "code": "10000",
        "msg": "Success",
        "trade_no": other["trade_no"],
        "out_trade_no": "YT_ORDER_0002",
    }
    queried = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0002")
    assert queried["trade_status"] == "TRADE_CLOSED"
    assert (await create(client, "YT_ORDER_0002"))["sub_code"] == "ACQ.TRADE_HAS_CLOSE"
    unknown = await call(client.api_alipay_trade_close, out_trade_no="YT_NEVER")
    assert unknown["sub_code"] == "ACQ.TRADE_NOT_EXIST"

    early = await call(
        client.api_alipay_trade_refund, "1.00", out_trade_no="YT_ORDER_0001", out_request_no="R0"
    )
    assert (early["code"], early["sub_code"]) == ("40004", "ACQ.TRADE_STATUS_ERROR")

    assert await fake.pay("YT_ORDER_0001", notify=False) is None
    paid = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0001")
    assert paid["trade_status"] == "TRADE_SUCCESS"
    assert paid["buyer_pay_amount"] == paid["receipt_amount"] == "38.00"
    assert paid["send_pay_date"] == fake.orders["YT_ORDER_0001"].gmt_payment
    datetime.strptime(paid["send_pay_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    paid_close = await call(client.api_alipay_trade_close, out_trade_no="YT_ORDER_0001")
    assert (paid_close["code"], paid_close["sub_code"]) == ("40004", "ACQ.TRADE_STATUS_ERROR")
    assert (await create(client, "YT_ORDER_0001"))["sub_code"] == "ACQ.TRADE_HAS_SUCCESS"

    refund = partial(call, client.api_alipay_trade_refund, out_trade_no="YT_ORDER_0001")
    first = await refund("10.00", out_request_no="YT_REFUND_1", refund_reason="不想要了")
    assert first["code"] == "10000" and first["fund_change"] == "Y", first
    assert (first["trade_no"], first["refund_fee"]) == (created["trade_no"], "10.00")
    again = await refund("10.00", out_request_no="YT_REFUND_1")
    assert again == first | {"fund_change": "N"}  # idempotent: nothing refunded twice
    assert len(fake.refunds) == 1 and fake.orders["YT_ORDER_0001"].refund_fee == "10.00"
    changed = await refund("11.00", out_request_no="YT_REFUND_1")
    assert changed["sub_code"] == "ACQ.DISCORDANT_REPEAT_REQUEST"
    too_much = await refund("28.01", out_request_no="YT_REFUND_2")
    assert (too_much["code"], too_much["sub_code"]) == ("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    partial_without_request_no = await refund("5.00")
    assert partial_without_request_no["sub_code"] == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"

    refund_query = partial(
        call, client.api_alipay_trade_fastpay_refund_query, out_trade_no="YT_ORDER_0001"
    )
    assert await refund_query("YT_REFUND_1") == {
        "code": "10000",
        "msg": "Success",
        "trade_no": created["trade_no"],
        "out_trade_no": "YT_ORDER_0001",
        "out_request_no": "YT_REFUND_1",
        "total_amount": "38.00",
        "refund_amount": "10.00",
        "refund_status": "REFUND_SUCCESS",
        "gmt_refund_pay": fake.refunds["YT_ORDER_0001", "YT_REFUND_1"].gmt_refund_pay,
    }
    assert await refund_query("YT_REFUND_2") == {"code": "10000", "msg": "Success"}

    rest = await refund("28.00", out_request_no="YT_REFUND_2")
    assert (rest["fund_change"], rest["refund_fee"]) == ("Y", "38.00")
    refunded = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0001")
    assert refunded["trade_status"] == "TRADE_CLOSED"  # fully refunded
    assert (await refund("10.00", out_request_no="YT_REFUND_1"))["fund_change"] == "N"

    method, params = fake.requests[0]
    assert method == params["method"] == "alipay.trade.create"
    assert params["app_id"] == shops[0].app_id and params["notify_url"] == receiver.url
    assert json.loads(params["biz_content"]) == {
        "subject": "鱼塘·杯子",
        "out_trade_no": "YT_ORDER_0001",
        "total_amount": "38.00",
        "buyer_id": BUYER,
    }
    assert fake.orders["YT_ORDER_0001"].notify_url == receiver.url and not receiver.got


async def test_the_sdk_refuses_answers_signed_by_another_alipay_key(
    fake: FakeAlipay, shops: tuple[Shop, Shop], keys: list[rsa.RSAPrivateKey]
) -> None:
    """The negative control: the SDK really checks the fake's signatures, and they hold."""
    client = sdk(fake, shops[0], alipay_public_key_pem=public_pem(keys[2]))
    with pytest.raises(AliPayValidationError):
        await create(client, "YT_ORDER_0003")
    assert fake.orders["YT_ORDER_0003"].total_amount == "38.00"  # the fake did answer


async def test_an_app_sees_nothing_of_another_apps_trades(
    fake: FakeAlipay, shops: tuple[Shop, Shop]
) -> None:
    """Tenants share the gateway: one app's trades must not exist for another."""
    first, second = (sdk(fake, shop) for shop in shops)
    await create(first, "YT_ORDER_0004")
    await fake.pay("YT_ORDER_0004", notify=False)
    for api, args in (
        (second.api_alipay_trade_query, ()),
        (second.api_alipay_trade_close, ()),
        (second.api_alipay_trade_refund, ("1.00",)),
        (second.api_alipay_trade_fastpay_refund_query, ("R1",)),
    ):
        hidden = await call(api, *args, out_trade_no="YT_ORDER_0004")
        assert (hidden["code"], hidden["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
    assert fake.orders["YT_ORDER_0004"].refund_fee == "0.00"


async def test_a_request_with_a_bad_signature_gets_isv_invalid_signature(
    fake: FakeAlipay, shops: tuple[Shop, Shop], keys: list[rsa.RSAPrivateKey]
) -> None:
    """Signed with another key, or changed after signing: the gateway's signed 40002 answer,
    which the SDK verifies and returns; the fake opens nothing."""
    stranger = Shop(shops[0].app_id, keys[2])
    client = sdk(fake, stranger)
    assert await create(client, "YT_ORDER_0005") == INVALID_SIGNATURE
    assert await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0005") == (
        INVALID_SIGNATURE
    )
    other_tenant = sdk(fake, shops[0], private_pem=shops[1].private_pem)
    assert await create(other_tenant, "YT_ORDER_0005") == INVALID_SIGNATURE
    assert "YT_ORDER_0005" not in fake.orders

    good = sdk(fake, shops[0])
    biz = {"out_trade_no": "YT_ORDER_0005", "total_amount": "38.00", "subject": "cup"}
    params = signed(good, "alipay.trade.create", biz)
    answer = await send(fake, params | {"biz_content": params["biz_content"].replace("38", "1")})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html;charset=utf-8"
    reply = answer.json()
    assert reply["alipay_trade_create_response"] == INVALID_SIGNATURE
    assert alipay_signed(
        fake, node_text(answer.text, "alipay_trade_create_response"), reply["sign"]
    )
    assert "YT_ORDER_0005" not in fake.orders

    answer = await send(fake, params, form=True)  # untouched, and POSTed as the Java SDK does
    text = node_text(answer.text, "alipay_trade_create_response")
    assert json.loads(text)["code"] == "10000", text
    assert alipay_signed(fake, text, answer.json()["sign"])
    assert fake.orders["YT_ORDER_0005"].total_amount == "38.00"


async def test_the_common_parameters_are_checked_as_the_gateway_checks_them(
    fake: FakeAlipay, shops: tuple[Shop, Shop]
) -> None:
    """The timestamp is Beijing time within 15 minutes, the signature RSA2, the charset UTF-8,
    the method and app known; an unknown app's answer is unsigned (there is no key to sign
    it with), which the SDK raises on."""
    client = sdk(fake, shops[0])
    biz = {"out_trade_no": "YT_ORDER_0006"}

    async def refusal(params: dict[str, str], name: str = "alipay_trade_query_response") -> Any:
        answer = await send(fake, params)
        reply = answer.json()
        assert alipay_signed(fake, node_text(answer.text, name), reply["sign"])
        return reply[name]["sub_code"]

    now = datetime.now(CHINA)
    utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    stale = (now - timedelta(minutes=16)).strftime("%Y-%m-%d %H:%M:%S")
    early = (now - timedelta(minutes=14)).strftime("%Y-%m-%d %H:%M:%S")
    query = "alipay.trade.query"
    assert await refusal(signed(client, query, biz, timestamp=early)) == "ACQ.TRADE_NOT_EXIST"
    assert await refusal(signed(client, query, biz, timestamp=utc)) == "isv.invalid-timestamp"
    assert await refusal(signed(client, query, biz, timestamp=stale)) == "isv.invalid-timestamp"
    assert await refusal(signed(client, query, biz, timestamp="2026-1-2 3:04:05")) == (
        "isv.invalid-timestamp"
    )
    assert await refusal(signed(client, query, biz, sign_type="RSA")) == (
        "isv.invalid-signature-type"
    )
    assert await refusal(signed(client, query, biz, charset="GBK")) == "isv.invalid-charset"
    assert await refusal(signed(client, query, biz, format="XML")) == "isv.invalid-format"
    unsigned = signed(client, query, biz)
    del unsigned["sign"]
    assert await refusal(unsigned) == "isv.missing-signature"
    assert await refusal(signed(client, "alipay.trade.pay.nonexistent", biz), "error_response") == (
        "isv.invalid-method"
    )

    answer = await send(fake, signed(client, query, biz, app_id="2021000000009999"))
    assert answer.json() == {
        "alipay_trade_query_response": {
            "code": "40002",
            "msg": "Invalid Arguments",
            "sub_code": "isv.invalid-app-id",
            "sub_msg": "无效的AppID参数",
        }
    }
    unknown = Shop("2021000000009999", shops[0].key)
    with pytest.raises(AliPayException, match=r"isv\.invalid-app-id"):
        await call(sdk(fake, unknown).api_alipay_trade_query, out_trade_no="YT_ORDER_0006")
    assert [method for method, _ in fake.requests][:2] == [query, query]


async def test_the_sdk_verifies_the_fakes_notifications(
    fake: FakeAlipay, shops: tuple[Shop, Shop], receiver: Receiver, keys: list[rsa.RSAPrivateKey]
) -> None:
    """The payment notification as the SDK's ``verify`` takes it (the parameters without
    ``sign``; it drops ``sign_type`` itself): signed by the Alipay key; the test knobs show
    through, and a tampered one fails."""
    client = sdk(fake, shops[0], receiver.url)
    created = await create(client, "YT_ORDER_0007")

    answer = await fake.pay("YT_ORDER_0007")
    assert answer is not None and (answer.status_code, answer.text) == (200, "success")
    [(headers, _)] = receiver.got
    assert headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8"
    data = receiver.last()
    assert verified(client, data)
    assert not verified(sdk(fake, shops[0], alipay_public_key_pem=public_pem(keys[2])), data)
    assert {k: data[k] for k in ("notify_type", "app_id", "charset", "version", "sign_type")} == {
        "notify_type": "trade_status_sync",
        "app_id": shops[0].app_id,
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
    }
    order = fake.orders["YT_ORDER_0007"]
    assert (data["trade_no"], data["out_trade_no"], data["trade_status"]) == (
        created["trade_no"],
        "YT_ORDER_0007",
        "TRADE_SUCCESS",
    )
    assert data["total_amount"] == data["receipt_amount"] == data["buyer_pay_amount"] == "38.00"
    assert (data["gmt_payment"], data["subject"], data["buyer_id"]) == (
        order.gmt_payment,
        "鱼塘·杯子",
        BUYER,
    )
    assert json.loads(data["fund_bill_list"]) == [
        {"amount": "38.00", "fundChannel": "ALIPAYACCOUNT"}
    ]

    await fake.notify("YT_ORDER_0007", tamper=True)
    tampered = receiver.last()
    assert tampered["gmt_payment"] != order.gmt_payment  # still well-formed
    assert not verified(client, tampered)

    await fake.notify(
        "YT_ORDER_0007", amount="0.01", app_id=shops[1].app_id, notify_time="2026-01-02 03:04:05"
    )
    forged = receiver.last()
    assert verified(client, forged)  # genuinely signed...
    assert (forged["total_amount"], forged["app_id"], forged["notify_time"]) == (
        "0.01",  # ...but for another amount and another tenant: the receiver must look
        shops[1].app_id,
        "2026-01-02 03:04:05",
    )

    await call(
        client.api_alipay_trade_refund, "38.00", out_trade_no="YT_ORDER_0007", out_request_no="R"
    )
    await fake.notify("YT_ORDER_0007")
    refunded = receiver.last()
    assert verified(client, refunded)
    assert (refunded["trade_status"], refunded["refund_fee"], refunded["out_biz_no"]) == (
        "TRADE_CLOSED",
        "38.00",
        "R",
    )
    assert len(receiver.got) == 4


async def test_an_h5_payment_opens_the_cashier_page_and_pays(
    fake: FakeAlipay, shops: tuple[Shop, Shop], receiver: Receiver, keys: list[rsa.RSAPrivateKey]
) -> None:
    """``alipay.trade.wap.pay`` is a page the shopper's browser opens with the signed
    parameters: the fake checks them, records the trade and answers the cashier page; a
    page signed with another key shows the gateway's error page and opens nothing."""
    client = sdk(fake, shops[0])
    query_string = client.api_alipay_trade_wap_pay(
        "鱼塘·杯子",
        "YT_ORDER_0008",
        "38",
        return_url="https://shop.example/paid",
        notify_url=receiver.url,
    )
    async with httpx.AsyncClient(trust_env=False) as browser:
        page = await browser.get(f"{fake.gateway_url}?{query_string}")
        again = await browser.post(
            fake.gateway_url,
            content=query_string,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        stranger = sdk(fake, Shop(shops[0].app_id, keys[2]))
        refused = await browser.get(
            f"{fake.gateway_url}?{stranger.api_alipay_trade_wap_pay('cup', 'YT_ORDER_0009', '1')}"
        )
    order = fake.orders["YT_ORDER_0008"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"data-trade-no='{order.trade_no}'" in page.text and "鱼塘·杯子" in page.text
    assert again.text == page.text  # the same trade, opened again
    assert (order.method, order.trade_status, order.total_amount) == (
        "alipay.trade.wap.pay",
        "WAIT_BUYER_PAY",
        "38.00",
    )
    assert (order.notify_url, order.return_url) == (receiver.url, "https://shop.example/paid")
    assert refused.status_code == 200 and "data-sub-code='isv.invalid-signature'" in refused.text
    assert "YT_ORDER_0009" not in fake.orders

    queried = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0008")
    assert (queried["trade_status"], queried["trade_no"]) == ("WAIT_BUYER_PAY", order.trade_no)
    answer = await fake.pay("YT_ORDER_0008")
    assert answer is not None and answer.text == "success"
    data = receiver.last()
    assert verified(client, data)
    assert data["trade_status"] == "TRADE_SUCCESS" and data["buyer_id"] == order.buyer_id
    assert [method for method, _ in fake.requests] == [
        "alipay.trade.wap.pay",
        "alipay.trade.wap.pay",
        "alipay.trade.wap.pay",
        "alipay.trade.query",
    ]


async def test_an_unpaid_trade_closes_at_its_deadline_and_a_finished_one_refunds_nothing(
    fake: FakeAlipay, shops: tuple[Shop, Shop]
) -> None:
    """``timeout_express`` sets the deadline of an unpaid trade (a test moves it into the
    past rather than wait); a trade past its refund period is TRADE_FINISHED. Amounts may
    come as JSON numbers, and are answered as yuan strings."""
    client = sdk(fake, shops[0])
    made = await call(
        client.api_alipay_trade_create, "cup", "YT_ORDER_0010", 38, timeout_express="1m"
    )
    assert made["code"] == "10000" and fake.orders["YT_ORDER_0010"].total_amount == "38.00"
    order = fake.orders["YT_ORDER_0010"]
    assert order.time_expire is not None and order.time_expire > order.gmt_create
    order.time_expire = "2000-01-01 00:00:00"
    expired = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0010")
    assert (expired["trade_status"], order.gmt_close) == ("TRADE_CLOSED", "2000-01-01 00:00:00")
    with pytest.raises(ValueError, match="TRADE_CLOSED, not payable"):
        await fake.pay("YT_ORDER_0010")

    await create(client, "YT_ORDER_0011")
    await fake.pay("YT_ORDER_0011", notify=False)
    fake.finish("YT_ORDER_0011")
    finished = await call(client.api_alipay_trade_query, out_trade_no="YT_ORDER_0011")
    assert finished["trade_status"] == "TRADE_FINISHED"
    late = await call(
        client.api_alipay_trade_refund, "1.00", out_trade_no="YT_ORDER_0011", out_request_no="R"
    )
    assert (late["code"], late["sub_code"]) == ("40004", "ACQ.TRADE_HAS_FINISHED")
