"""The fake WeChat Pay gateway (``tests/fake_wechatpay.py``) checked against ``wechatpayv3``,
an SDK maintained apart from Yutang and used against the real platform.

If that SDK's signed requests pass the fake, its own verification accepts the fake's signed
answers, and its callback verifies and decrypts the fake's notifications (and refuses the
tampered and cross-tenant ones), the fake speaks the real protocol, so a Yutang client
tested against the fake speaks it too. The SDK is synchronous (requests): it runs in a
thread while the fake serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fake_wechatpay import FakeWeChatPay
from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]
from wechatpayv3.type import RequestType  # type: ignore[import-untyped]
from wechatpayv3.utils import rsa_verify  # type: ignore[import-untyped]

CUP = {"total": 5800, "currency": "CNY"}
PROMOTER = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
COMMISSION = [  # scene 1005 (佣金报酬) declares the post and what the pay is for
    {"info_type": "岗位类型", "info_content": "推广员"},
    {"info_type": "报酬说明", "info_content": "4月推广佣金"},
]


@dataclass
class Shop:
    """A merchant's own credentials: what it configures its SDK with and what the platform
    registers (its API certificate's public key and serial, its APIv3 key)."""

    mchid: str
    appid: str
    key: rsa.RSAPrivateKey
    serial_no: str = field(default_factory=lambda: secrets.token_hex(20).upper())
    apiv3_key: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def private_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


@dataclass
class Receiver:
    """The merchants' notify endpoint on loopback: keeps what arrives, answers 204 as a
    merchant acknowledging a notification does."""

    got: list[tuple[httpx.Headers, bytes]] = field(default_factory=list)
    port: int = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/notify/{name}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        pairs = [ln.split(":", 1) for ln in head.split("\r\n")[1:] if ":" in ln]
        headers = httpx.Headers([(k.strip(), v.strip()) for k, v in pairs])
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.got.append((headers, body))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests honours proxy variables; loopback must stay direct wherever this runs."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@pytest.fixture(scope="module")
def keys() -> list[rsa.RSAPrivateKey]:
    """Merchant API keys, generated once for the module (RSA-2048 takes a moment)."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture
def shops(keys: list[rsa.RSAPrivateKey]) -> tuple[Shop, Shop]:
    """Two tenants' merchants, each with its own key, serial and APIv3 key."""
    return Shop("1900000101", "wx1111111111111111", keys[0]), Shop(
        "1900000102", "wx2222222222222222", keys[1]
    )


@pytest_asyncio.fixture
async def fake(shops: tuple[Shop, Shop]) -> AsyncIterator[FakeWeChatPay]:
    async with FakeWeChatPay() as gateway:
        for shop in shops:
            gateway.add_merchant(
                shop.mchid, shop.appid, shop.public_pem, shop.serial_no, shop.apiv3_key
            )
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
    fake: FakeWeChatPay, shop: Shop, notify_url: str, platform_key_pem: str | None = None
) -> Any:
    """A ``wechatpayv3`` client of the shop, trusting the fake's platform public key.

    The SDK has no host option: its ``Core`` joins every path to ``_gate_way`` (set to
    ``https://api.mch.weixin.qq.com`` in ``__init__``), so pointing that attribute at the
    fake sends the SDK's real requests, signatures and verification, to loopback."""
    client = WeChatPay(
        wechatpay_type=WeChatPayType.JSAPI,
        mchid=shop.mchid,
        private_key=shop.private_pem,
        cert_serial_no=shop.serial_no,
        appid=shop.appid,
        apiv3_key=shop.apiv3_key,
        notify_url=notify_url,
        public_key=platform_key_pem or fake.platform_public_key_pem,
        public_key_id=fake.platform_public_key_id,
        timeout=(5, 5),
    )
    client._core._gate_way = fake.url
    return client


async def call(method: Callable[..., tuple[int, Any]], **kwargs: Any) -> tuple[int, Any]:
    """Run one SDK call in a thread; its JSON answer parsed (None for 204's empty body)."""
    code, text = await asyncio.to_thread(partial(method, **kwargs))
    return code, json.loads(text) if text else None


async def place(client: Any, out_trade_no: str, amount: dict[str, Any] = CUP) -> tuple[int, Any]:
    return await call(
        client.pay,
        description="鱼塘·杯子",
        out_trade_no=out_trade_no,
        amount=amount,
        payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    )


async def transfer(
    client: Any, out_bill_no: str, amount: int = 1800, **kwargs: Any
) -> tuple[int, Any]:
    """A commission paid out to a promoter, through the SDK's transfer-bills method."""
    return await call(
        client.mch_transfer_bills,
        out_bill_no=out_bill_no,
        transfer_scene_id="1005",
        openid=kwargs.pop("openid", PROMOTER),
        transfer_amount=amount,
        transfer_remark="鱼塘推广佣金",
        transfer_scene_report_infos=COMMISSION,
        **kwargs,
    )


async def test_the_sdk_orders_queries_closes_and_refunds_through_the_fake(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], receiver: Receiver
) -> None:
    """Every API the fake serves, driven by the SDK: the fake accepts its signatures, the SDK
    accepts the fake's signed answers (a 204's empty body included), and the platform's
    idempotency and business errors come back as the SDK's callers would see them."""
    shop, _ = shops
    client = sdk(fake, shop, receiver.url("a"))

    code, placed = await place(client, "YT-ORDER-0001")
    assert code == 200 and placed["prepay_id"].startswith("wx"), placed
    assert await place(client, "YT-ORDER-0001") == (200, placed)
    assert await place(client, "YT-ORDER-0001", {"total": 5900, "currency": "CNY"}) == (
        400,
        {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"},
    )
    code, other_app = await call(
        client.pay,
        description="cup",
        out_trade_no="YT-ORDER-0009",
        amount=CUP,
        payer={"openid": "o-1"},
        appid="wx9999999999999999",
    )
    assert (code, other_app["code"]) == (400, "APPID_MCHID_NOT_MATCH")

    code, unpaid = await call(client.query, out_trade_no="YT-ORDER-0001")
    assert code == 200 and unpaid["trade_state"] == "NOTPAY" and "transaction_id" not in unpaid
    assert unpaid["amount"] == {"total": 5800, "currency": "CNY", "payer_currency": "CNY"}
    assert (unpaid["mchid"], unpaid["appid"], unpaid["trade_type"]) == (
        shop.mchid,
        shop.appid,
        "JSAPI",
    )
    code, missing = await call(client.query, out_trade_no="YT-NEVER-PLACED")
    assert (code, missing["code"]) == (404, "ORDER_NOT_EXIST")

    await place(client, "YT-ORDER-0002")
    assert await call(client.close, out_trade_no="YT-ORDER-0002") == (204, None)
    assert (await call(client.query, out_trade_no="YT-ORDER-0002"))[1]["trade_state"] == "CLOSED"
    assert (await place(client, "YT-ORDER-0002"))[1]["code"] == "ORDER_CLOSED"

    code, early = await call(
        client.refund,
        out_refund_no="YT-REFUND-0",
        amount={**CUP, "refund": 100},
        out_trade_no="YT-ORDER-0001",
    )
    assert (code, early["code"]) == (400, "INVALID_REQUEST")
    assert await fake.pay("YT-ORDER-0001", notify=False) is None
    code, paid = await call(client.query, out_trade_no="YT-ORDER-0001")
    assert paid["trade_state"] == "SUCCESS" and len(paid["transaction_id"]) == 28
    assert paid["amount"]["payer_total"] == 5800 and paid["success_time"].endswith("+08:00")
    assert (await call(client.close, out_trade_no="YT-ORDER-0001"))[1]["code"] == "ORDERPAID"

    refund_amount = {"refund": 1800, "total": 5800, "currency": "CNY"}
    code, refund = await call(
        client.refund,
        out_refund_no="YT-REFUND-1",
        amount=refund_amount,
        out_trade_no="YT-ORDER-0001",
        reason="不想要了",
    )
    assert code == 200 and refund["status"] == "PROCESSING", refund
    assert refund["transaction_id"] == paid["transaction_id"] and refund["channel"] == "ORIGINAL"
    assert refund["amount"]["refund"] == refund["amount"]["payer_refund"] == 1800
    again = await call(
        client.refund,
        out_refund_no="YT-REFUND-1",
        amount=refund_amount,
        out_trade_no="YT-ORDER-0001",
    )
    assert again == (200, refund)
    code, too_much = await call(
        client.refund,
        out_refund_no="YT-REFUND-2",
        amount={**refund_amount, "refund": 4001},
        transaction_id=paid["transaction_id"],
    )
    assert (code, too_much["code"]) == (400, "NOT_ENOUGH")

    assert (await call(client.query_refund, out_refund_no="YT-REFUND-1")) == (200, refund)
    await fake.settle_refund("YT-REFUND-1", notify=False)
    code, settled = await call(client.query_refund, out_refund_no="YT-REFUND-1")
    assert settled["status"] == "SUCCESS" and settled["success_time"].endswith("+08:00")
    assert (await call(client.query, out_trade_no="YT-ORDER-0001"))[1]["trade_state"] == "REFUND"
    code, unknown = await call(client.query_refund, out_refund_no="YT-REFUND-404")
    assert (code, unknown["code"]) == (404, "RESOURCE_NOT_EXISTS")

    assert fake.requests[0] == (
        "POST",
        "/v3/pay/transactions/jsapi",
        {
            "notify_url": receiver.url("a"),
            "description": "鱼塘·杯子",
            "out_trade_no": "YT-ORDER-0001",
            "amount": CUP,
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "appid": shop.appid,
            "mchid": shop.mchid,
        },
    )
    assert ("GET", f"/v3/pay/transactions/out-trade-no/YT-ORDER-0001?mchid={shop.mchid}", {}) in (
        fake.requests
    )
    assert fake.orders["YT-ORDER-0002"].trade_state == "CLOSED"
    assert fake.refunds["YT-REFUND-1"].status == "SUCCESS" and not receiver.got


async def test_the_sdk_refuses_answers_signed_by_another_platform_key(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], keys: list[rsa.RSAPrivateKey]
) -> None:
    """The negative control: the SDK really checks the fake's signatures, and they hold."""
    stranger = Shop("0", "wx0", keys[2]).public_pem
    client = sdk(fake, shops[0], "https://shop.example/notify", platform_key_pem=stranger)
    with pytest.raises(Exception, match="failed to verify the signature"):
        await place(client, "YT-ORDER-0003")
    assert fake.orders["YT-ORDER-0003"].total == 5800  # the fake did answer; it was refused


async def test_a_merchant_sees_nothing_of_another_merchants_orders(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop]
) -> None:
    """Tenants share the gateway: one merchant's orders must not exist for another."""
    first, second = (sdk(fake, shop, "https://shop.example/notify") for shop in shops)
    await place(first, "YT-ORDER-0004")
    await fake.pay("YT-ORDER-0004", notify=False)

    code, hidden = await call(second.query, out_trade_no="YT-ORDER-0004")
    assert (code, hidden["code"]) == (404, "ORDER_NOT_EXIST")
    code, named = await call(second.query, out_trade_no="YT-ORDER-0004", mchid=shops[0].mchid)
    assert (code, named["code"]) == (400, "PARAM_ERROR")
    code, refused = await call(
        second.refund,
        out_refund_no="YT-REFUND-3",
        amount={**CUP, "refund": 100},
        out_trade_no="YT-ORDER-0004",
    )
    assert (code, refused["code"]) == (404, "RESOURCE_NOT_EXISTS")
    assert (await call(second.close, out_trade_no="YT-ORDER-0004"))[1]["code"] == "ORDER_NOT_EXIST"


async def test_the_sdk_verifies_and_decrypts_the_fakes_notifications(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], receiver: Receiver
) -> None:
    """Payment and refund notifications as the SDK's callback receives them: signed by the
    platform key, sealed with the merchant's APIv3 key; the test knobs show through."""
    shop, _ = shops
    client = sdk(fake, shop, receiver.url("a"))
    await place(client, "YT-ORDER-0005")

    answer = await fake.pay("YT-ORDER-0005")
    assert answer is not None and answer.status_code == 204
    [(headers, body)] = receiver.got
    assert headers["wechatpay-serial"] == fake.platform_public_key_id
    assert headers["content-type"] == "application/json"
    notified = await asyncio.to_thread(client.callback, headers, body)
    assert notified["event_type"] == "TRANSACTION.SUCCESS" and notified["summary"] == "支付成功"
    assert notified["resource_type"] == "encrypt-resource"
    paid = notified["resource"]
    assert paid == (await call(client.query, out_trade_no="YT-ORDER-0005"))[1]
    assert (paid["trade_state"], paid["mchid"], paid["amount"]["total"]) == (
        "SUCCESS",
        shop.mchid,
        5800,
    )

    await fake.notify_payment("YT-ORDER-0005", amount=1, event_id="EV-1", timestamp=1_700_000_000)
    headers, body = receiver.got[-1]
    replayed = await asyncio.to_thread(client.callback, headers, body)
    assert replayed["id"] == "EV-1" and replayed["resource"]["amount"]["total"] == 1
    assert headers["wechatpay-timestamp"] == "1700000000"
    assert replayed["create_time"] == "2023-11-15T06:13:20+08:00"

    await call(
        client.refund,
        out_refund_no="YT-REFUND-5",
        amount={**CUP, "refund": 5800},
        out_trade_no="YT-ORDER-0005",
        notify_url=receiver.url("refunds"),
    )
    answer = await fake.settle_refund("YT-REFUND-5")
    assert answer is not None and answer.status_code == 204
    headers, body = receiver.got[-1]
    refunded = await asyncio.to_thread(client.callback, headers, body)
    assert refunded["event_type"] == "REFUND.SUCCESS"
    assert refunded["resource"] == {
        "mchid": shop.mchid,
        "out_trade_no": "YT-ORDER-0005",
        "transaction_id": paid["transaction_id"],
        "out_refund_no": "YT-REFUND-5",
        "refund_id": fake.refunds["YT-REFUND-5"].refund_id,
        "refund_status": "SUCCESS",
        "success_time": fake.refunds["YT-REFUND-5"].success_time,
        "user_received_account": "支付用户零钱",
        "amount": {"total": 5800, "refund": 5800, "payer_total": 5800, "payer_refund": 5800},
    }


async def test_the_sdk_refuses_tampered_and_other_merchants_notifications(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], receiver: Receiver
) -> None:
    """The knobs tests use to attack a receiver produce what the SDK refuses: a body
    changed after signing, and a notification sealed for another tenant."""
    first, second = (sdk(fake, shop, receiver.url("a")) for shop in shops)
    await place(first, "YT-ORDER-0006")
    await fake.pay("YT-ORDER-0006", notify=False)

    await fake.notify_payment("YT-ORDER-0006", tamper=True)
    headers, body = receiver.got[-1]
    assert json.loads(body)["event_type"] == "TRANSACTION.SUCCESS"  # still well-formed
    assert await asyncio.to_thread(first.callback, headers, body) is None

    await fake.notify_payment("YT-ORDER-0006", merchant=shops[1].mchid)
    headers, body = receiver.got[-1]
    assert await asyncio.to_thread(first.callback, headers, body) is None
    theirs = await asyncio.to_thread(second.callback, headers, body)
    assert theirs["resource"]["mchid"] == shops[1].mchid  # sealed for the other tenant


async def test_the_sdk_transfers_a_commission_through_the_fake(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], receiver: Receiver
) -> None:
    """A merchant transfer driven by the SDK: created (the payee's name sealed with the
    platform key), created again idempotently, queried both ways, confirmed by the payee, and
    the finished notification verified and decrypted by the SDK's callback."""
    shop, _ = shops
    client = sdk(fake, shop, receiver.url("transfers"))

    code, created = await transfer(client, "YTPROMO0001", user_name="张三")
    assert code == 200, created
    assert set(created) == {
        "out_bill_no",
        "transfer_bill_no",
        "create_time",
        "state",
        "package_info",
    }
    assert (created["out_bill_no"], created["state"]) == ("YTPROMO0001", "WAIT_USER_CONFIRM")
    assert len(created["transfer_bill_no"]) == 40 and created["transfer_bill_no"].isdigit()
    assert created["package_info"] and created["create_time"].endswith("+08:00")
    bill = fake.transfers["YTPROMO0001"]
    assert bill.user_name == "张三" and bill.transfer_scene_report_infos == COMMISSION
    sent = next(body for method, path, body in fake.requests if method == "POST")
    assert sent["user_name"] != "张三" and sent["appid"] == shop.appid  # sealed on the wire

    assert await transfer(client, "YTPROMO0001", user_name="张三") == (200, created)
    for changed in ({"amount": 1900}, {"openid": "o-someone-else"}):
        code, refused = await transfer(client, "YTPROMO0001", **changed)
        assert (code, refused["code"]) == (400, "INVALID_REQUEST"), changed
    code, other_app = await transfer(client, "YTPROMO0009", appid="wx9999999999999999")
    assert (code, other_app["code"]) == (400, "APPID_MCHID_NOT_MATCH")
    code, bad_no = await transfer(client, "YT-PROMO-1")
    assert (code, bad_no["code"]) == (400, "PARAM_ERROR")
    assert "YTPROMO0009" not in fake.transfers and "YT-PROMO-1" not in fake.transfers

    waiting = {
        "mch_id": shop.mchid,
        "out_bill_no": "YTPROMO0001",
        "transfer_bill_no": created["transfer_bill_no"],
        "appid": shop.appid,
        "state": "WAIT_USER_CONFIRM",
        "transfer_amount": 1800,
        "transfer_remark": "鱼塘推广佣金",
        "openid": PROMOTER,
        "create_time": created["create_time"],
        "update_time": created["create_time"],
    }
    assert await call(client.mch_transfer_bills_query, out_bill_no="YTPROMO0001") == (
        200,
        waiting,
    )
    by_bill_no = await call(
        client.mch_transfer_bills_query, transfer_bill_no=created["transfer_bill_no"]
    )
    assert by_bill_no == (200, waiting)
    code, missing = await call(client.mch_transfer_bills_query, out_bill_no="YTNEVER01")
    assert (code, missing["code"]) == (404, "NOT_FOUND")

    answer = await fake.confirm_transfer("YTPROMO0001")
    assert answer is not None and answer.status_code == 204
    [(headers, body)] = receiver.got
    assert headers["wechatpay-serial"] == fake.platform_public_key_id
    finished = await asyncio.to_thread(client.callback, headers, body)
    assert finished["event_type"] == "MCHTRANSFER.BILL.FINISHED"
    assert finished["summary"] == "商家转账单据终态通知"
    assert finished["resource_type"] == "encrypt-resource"
    envelope = json.loads(body)["resource"]
    assert envelope["original_type"] == envelope["associated_data"] == "mch_payment"
    code, done = await call(client.mch_transfer_bills_query, out_bill_no="YTPROMO0001")
    assert done == waiting | {"state": "SUCCESS", "update_time": bill.update_time}
    assert finished["resource"] == {
        "out_bill_no": "YTPROMO0001",
        "transfer_bill_no": created["transfer_bill_no"],
        "state": "SUCCESS",
        "mch_id": shop.mchid,
        "transfer_amount": 1800,
        "openid": PROMOTER,
        "create_time": created["create_time"],
        "update_time": bill.update_time,
    }
    again = await transfer(client, "YTPROMO0001")  # the bill as it stands: no package_info
    del created["package_info"]
    assert again == (200, created | {"state": "SUCCESS"})
    with pytest.raises(ValueError, match="SUCCESS"):
        await fake.confirm_transfer("YTPROMO0001")
    with pytest.raises(LookupError):
        await fake.confirm_transfer("YTNEVER01")

    await transfer(client, "YTPROMO0002", amount=500)
    assert await fake.confirm_transfer("YTPROMO0002", notify=False, fail="NAME_NOT_CORRECT") is None
    assert len(receiver.got) == 1
    code, failed = await call(client.mch_transfer_bills_query, out_bill_no="YTPROMO0002")
    assert (failed["state"], failed["fail_reason"]) == ("FAIL", "NAME_NOT_CORRECT")
    await fake.notify_transfer("YTPROMO0002", event_id="EV-T2")
    headers, body = receiver.got[-1]
    notified = await asyncio.to_thread(client.callback, headers, body)
    assert notified["id"] == "EV-T2"
    assert notified["resource"]["state"] == "FAIL"
    assert notified["resource"]["fail_reason"] == "NAME_NOT_CORRECT"


async def test_the_fake_refuses_transfers_the_platform_refuses(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop]
) -> None:
    """Bodies the SDK's own checks would not send, through its signed generic request: the
    payee's name where it is refused or missing, or not sealed for the platform key, and a
    malformed scene declaration."""
    shop, _ = shops
    client = sdk(fake, shop, "https://shop.example/notify")
    seal = client._core.encrypt

    async def post(**changes: Any) -> tuple[int, Any]:
        body = {
            "appid": shop.appid,
            "out_bill_no": "YTPROMO0010",
            "transfer_scene_id": "1005",
            "openid": PROMOTER,
            "transfer_amount": 1800,
            "transfer_remark": "鱼塘推广佣金",
            "transfer_scene_report_infos": COMMISSION,
        } | changes
        request = partial(client._core.request, method=RequestType.POST)
        return await call(request, path="/v3/fund-app/mch-transfer/transfer-bills", data=body)

    for changes in (
        {"transfer_amount": 29, "user_name": seal("张三")},
        {"transfer_amount": 200_000},
        {"user_name": "张三"},
        {"user_name": base64.b64encode(b"not sealed for the platform").decode()},
        {"transfer_amount": "1800"},
        {"transfer_remark": "佣" * 33},
        {"transfer_scene_report_infos": [{"info_type": "岗位类型"}]},
    ):
        code, refused = await post(**changes)
        assert (code, refused["code"]) == (400, "PARAM_ERROR"), changes
    assert not fake.transfers
    code, named = await post(transfer_amount=200_000, user_name=seal("张三"))
    assert code == 200 and fake.transfers["YTPROMO0010"].user_name == "张三", named


async def test_a_merchant_sees_nothing_of_another_merchants_transfers(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], receiver: Receiver
) -> None:
    """Another tenant can neither query a transfer bill nor open its notification, and the
    transfer APIs still demand a signed request."""
    first, second = (sdk(fake, shop, receiver.url("transfers")) for shop in shops)
    code, created = await transfer(first, "YTPROMO0003")
    assert code == 200, created

    for named in (
        {"out_bill_no": "YTPROMO0003"},
        {"transfer_bill_no": created["transfer_bill_no"]},
    ):
        code, hidden = await call(second.mch_transfer_bills_query, **named)
        assert (code, hidden["code"]) == (404, "NOT_FOUND"), named

    await fake.confirm_transfer("YTPROMO0003")
    headers, body = receiver.got[-1]
    assert await asyncio.to_thread(second.callback, headers, body) is None
    assert (await asyncio.to_thread(first.callback, headers, body))["resource"]["state"] == (
        "SUCCESS"
    )

    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as http:
        bare = await http.get("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/YTPROMO0003")
    assert (bare.status_code, bare.json()["code"]) == (401, "SIGN_ERROR")


def authorization(
    key: rsa.RSAPrivateKey, mchid: str, serial_no: str, message: str, timestamp: int, nonce: str
) -> str:
    """The Authorization header built from the spec by hand, with a chosen timestamp."""
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce}",'
        f'signature="{base64.b64encode(signature).decode()}",timestamp="{timestamp}",'
        f'serial_no="{serial_no}"'
    )


async def test_a_badly_signed_request_gets_401_sign_error(
    fake: FakeWeChatPay, shops: tuple[Shop, Shop], keys: list[rsa.RSAPrivateKey]
) -> None:
    """The fake refuses what the platform refuses: another key, another serial, a signature
    over another path or body, a clock more than five minutes off, no Authorization; its
    401 answers are platform-signed too."""
    shop, other = shops
    path = f"/v3/pay/transactions/out-trade-no/YT-ORDER-0007?mchid={shop.mchid}"

    async def get(
        key: rsa.RSAPrivateKey = shop.key,
        serial_no: str = shop.serial_no,
        signed_path: str = path,
        age: int = 0,
    ) -> httpx.Response:
        now, nonce = int(time.time()) - age, secrets.token_hex(16)
        auth = authorization(
            key, shop.mchid, serial_no, f"GET\n{signed_path}\n{now}\n{nonce}\n\n", now, nonce
        )
        async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as http:
            return await http.get(
                path, headers={"Authorization": auth, "Accept": "application/json"}
            )

    ok = await get()  # the hand-built header is right: each refusal below is its one defect
    assert (ok.status_code, ok.json()["code"]) == (404, "ORDER_NOT_EXIST")
    for refused in (
        await get(key=keys[2]),
        await get(key=other.key),
        await get(serial_no=other.serial_no),
        await get(signed_path=path.replace("0007", "0008")),
        await get(age=310),
        await get(age=-310),
    ):
        assert refused.status_code == 401 and refused.json()["code"] == "SIGN_ERROR", refused.text
        h = refused.headers
        assert rsa_verify(
            h["wechatpay-timestamp"],
            h["wechatpay-nonce"],
            refused.text,
            h["wechatpay-signature"],
            serialization.load_pem_public_key(fake.platform_public_key_pem.encode()),
        )
        assert h["request-id"]
    close = "/v3/pay/transactions/out-trade-no/YT-ORDER-0007/close"
    now, nonce = int(time.time()), secrets.token_hex(16)
    signed = json.dumps({"mchid": shop.mchid})
    auth = authorization(
        shop.key,
        shop.mchid,
        shop.serial_no,
        f"POST\n{close}\n{now}\n{nonce}\n{signed}\n",
        now,
        nonce,
    )
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as http:
        bare = await http.get(path)
        swapped = await http.post(
            close,
            content=signed.replace(shop.mchid, other.mchid),
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
    assert (bare.status_code, bare.json()["code"]) == (401, "SIGN_ERROR")
    assert (swapped.status_code, swapped.json()["code"]) == (401, "SIGN_ERROR")
