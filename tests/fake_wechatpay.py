"""A fake WeChat Pay API v3 gateway on loopback, for tests that need a real protocol peer.

It speaks the wire protocol a merchant meets in production, in the platform public-key mode
(微信支付公钥, ``PUB_KEY_ID_…``): every request must carry a ``WECHATPAY2-SHA256-RSA2048``
Authorization signed with the merchant's key, every response and notification is signed with
the platform key, and notifications carry their resource AES-256-GCM encrypted with the
merchant's APIv3 key. A client that passes against it has done the cryptography for real; a
shortcut (an unsigned request, an unverified notification, a wrong key) fails here as it
would in production. ``tests/test_fake_wechatpay.py`` checks the fake against the maintained
``wechatpayv3`` SDK.

What it models: JSAPI orders (place, query by out_trade_no, close), domestic refunds
(apply, query) and merchant transfers to a user's balance (商家转账, the 2025 transfer-bills
API: create, query by out_bill_no or transfer_bill_no), with the platform's idempotency and
business errors; the shopper paying, refunds settling and the payee confirming a transfer in
the mini-program are test controls (:meth:`FakeWeChatPay.pay`,
:meth:`FakeWeChatPay.settle_refund`, :meth:`FakeWeChatPay.confirm_transfer`). What it
simplifies: ``out_trade_no``, ``out_refund_no`` and ``out_bill_no`` are unique across all
merchants here (the platform scopes them per merchant), one platform key signs for every
merchant, notify URLs may be plain http, and a transfer waits for its payee for ever (the
platform cancels one unconfirmed for 24 hours; transfer cancellation is not modelled).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["FakeWeChatPay", "Order", "Refund", "Transfer"]

JSON = dict[str, Any]
CHINA = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CLOCK_SKEW = 300  # seconds either way the platform accepts a request's timestamp
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
OUT_BILL_NO = re.compile(r"[0-9A-Za-z]{5,32}")
AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "订单发生过退款",
}
TRADE = "/v3/pay/transactions/out-trade-no/"
REFUNDS = "/v3/refund/domestic/refunds"
TRANSFER_BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
NAME_MIN_FEN = 30  # below 0.30 yuan the platform refuses a payee name
NAME_REQUIRED_FEN = 200_000  # from 2,000 yuan it requires one


class ApiError(Exception):
    """A refusal the platform answers with ``{"code", "message"}`` and an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Merchant:
    """A merchant as the platform knows it: its API certificate's public key and serial."""

    mchid: str
    appid: str
    public_key: rsa.RSAPublicKey
    serial_no: str
    apiv3_key: str


@dataclass
class Order:
    """A JSAPI transaction, from prepay to (perhaps) paid and refunded."""

    mchid: str
    appid: str
    out_trade_no: str
    description: str
    notify_url: str
    total: int
    currency: str
    openid: str
    prepay_id: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None

    def transaction(self, *, trade_state: str | None = None) -> JSON:
        """The transaction JSON the query API answers (and a payment notification encrypts)."""
        state = trade_state or self.trade_state
        amount: JSON = {"total": self.total, "currency": self.currency}
        if self.transaction_id is not None:
            amount["payer_total"] = self.total
        amount["payer_currency"] = self.currency
        data: JSON = {"appid": self.appid, "mchid": self.mchid, "out_trade_no": self.out_trade_no}
        if self.transaction_id is not None:
            data["transaction_id"] = self.transaction_id
        data |= {
            "trade_type": "JSAPI",
            "trade_state": state,
            "trade_state_desc": TRADE_STATE_DESC[state],
        }
        if self.transaction_id is not None:
            data |= {"bank_type": "OTHERS", "attach": "", "success_time": self.success_time}
        data |= {"payer": {"openid": self.openid}, "amount": amount}
        return data


@dataclass
class Refund:
    """A domestic refund against a paid order: PROCESSING until the test settles it."""

    mchid: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    refund: int
    total: int
    currency: str
    create_time: str
    reason: str | None = None
    notify_url: str | None = None
    status: str = "PROCESSING"
    success_time: str | None = None

    def json(self) -> JSON:
        """The refund JSON the apply and query APIs answer."""
        data: JSON = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": self.create_time,
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": self.total,
                "refund": self.refund,
                "payer_total": self.total,
                "payer_refund": self.refund,
                "settlement_total": self.total,
                "settlement_refund": self.refund,
                "discount_refund": 0,
                "currency": self.currency,
            },
        }
        if self.success_time is not None:
            data["success_time"] = self.success_time
        return data

    def notification(self) -> JSON:
        """The resource a ``REFUND.SUCCESS`` notification encrypts."""
        return {
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "success_time": self.success_time,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": self.total,
                "refund": self.refund,
                "payer_total": self.total,
                "payer_refund": self.refund,
            },
        }


@dataclass
class Transfer:
    """A merchant transfer (商家转账) to a user's balance: WAIT_USER_CONFIRM until the payee
    confirms it in the mini-program (the test's :meth:`FakeWeChatPay.confirm_transfer`)."""

    mchid: str
    appid: str
    out_bill_no: str
    transfer_bill_no: str
    transfer_scene_id: str
    openid: str
    transfer_amount: int
    transfer_remark: str
    package_info: str
    create_time: str
    update_time: str
    user_name: str | None = None  # as the platform decrypted it
    notify_url: str | None = None
    user_recv_perception: str | None = None
    transfer_scene_report_infos: list[JSON] = field(default_factory=list)
    state: str = "WAIT_USER_CONFIRM"
    fail_reason: str | None = None

    def created(self) -> JSON:
        """The create API's answer; ``package_info`` only while the payee has to confirm."""
        data: JSON = {
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "create_time": self.create_time,
            "state": self.state,
        }
        if self.fail_reason is not None:
            data["fail_reason"] = self.fail_reason
        if self.state == "WAIT_USER_CONFIRM":
            data["package_info"] = self.package_info
        return data

    def json(self) -> JSON:
        """The transfer bill JSON the query APIs answer."""
        data: JSON = {
            "mch_id": self.mchid,
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "appid": self.appid,
            "state": self.state,
            "transfer_amount": self.transfer_amount,
            "transfer_remark": self.transfer_remark,
        }
        if self.fail_reason is not None:
            data["fail_reason"] = self.fail_reason
        data |= {
            "openid": self.openid,
            "create_time": self.create_time,
            "update_time": self.update_time,
        }
        return data

    def notification(self) -> JSON:
        """The resource a ``MCHTRANSFER.BILL.FINISHED`` notification encrypts."""
        data: JSON = {
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "state": self.state,
            "mch_id": self.mchid,
            "transfer_amount": self.transfer_amount,
            "openid": self.openid,
        }
        if self.fail_reason is not None:
            data["fail_reason"] = self.fail_reason
        data |= {"create_time": self.create_time, "update_time": self.update_time}
        return data


def _now() -> str:
    """RFC 3339 in China time, as every platform timestamp is written."""
    return datetime.now(CHINA).isoformat(timespec="seconds")


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def _dumps(data: JSON) -> bytes:
    """Compact UTF-8 JSON, as the platform writes it (Chinese text unescaped)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _text(data: JSON, key: str, *, max_len: int = 256) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(400, "PARAM_ERROR", f"缺少参数或类型错误: {key}")
    if len(value) > max_len:
        raise ApiError(400, "PARAM_ERROR", f"参数过长: {key}")
    return value


def _optional_text(data: JSON, key: str, *, max_len: int = 256) -> str | None:
    return None if data.get(key) is None else _text(data, key, max_len=max_len)


def _object(data: JSON, key: str) -> JSON:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ApiError(400, "PARAM_ERROR", f"缺少参数或类型错误: {key}")
    return value


def _fen(data: JSON, key: str) -> int:
    """An amount in fen: a positive JSON integer (not a float, string or boolean)."""
    value = data.get(key)
    if type(value) is not int or value <= 0:
        raise ApiError(400, "PARAM_ERROR", f"金额必须为正整数(分): {key}")
    return value


def _currency(data: JSON, *, required: bool) -> str:
    value = data.get("currency")
    if value is None and not required:
        return "CNY"
    if value != "CNY":
        raise ApiError(400, "PARAM_ERROR", "currency 仅支持 CNY")
    return "CNY"


def _notify_url(value: str) -> str:
    """The platform takes an absolute URL without a query (https only in production)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ApiError(400, "PARAM_ERROR", "notify_url 格式不正确(须为绝对地址且不能携带参数)")
    return value


class FakeWeChatPay:
    """The platform side of WeChat Pay API v3, served on ``127.0.0.1`` at a free port."""

    def __init__(self) -> None:
        self._platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.platform_public_key_pem: str = (
            self._platform_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.platform_public_key_id: str = "PUB_KEY_ID_01" + _digits(26)
        self.requests: list[tuple[str, str, JSON]] = []
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.transfers: dict[str, Transfer] = {}
        self._merchants: dict[str, Merchant] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._port = 0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port (see :attr:`url`)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop kept-alive connections, so no task outlives the test."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> FakeWeChatPay:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The gateway base, standing in for ``https://api.mch.weixin.qq.com``."""
        if self._server is None:
            raise RuntimeError("FakeWeChatPay is not started")
        return f"http://127.0.0.1:{self._port}"

    def add_merchant(
        self, mchid: str, appid: str, merchant_public_key_pem: str, serial_no: str, apiv3_key: str
    ) -> None:
        """Register a merchant: requests signed by its key and serial are accepted, its
        notifications are encrypted with its APIv3 key."""
        if mchid in self._merchants:
            raise ValueError(f"merchant {mchid} is already registered")
        if len(apiv3_key) != 32 or not apiv3_key.isascii():
            raise ValueError("an APIv3 key is 32 ASCII characters")
        key = serialization.load_pem_public_key(merchant_public_key_pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a merchant API key is RSA")
        self._merchants[mchid] = Merchant(mchid, appid, key, serial_no, apiv3_key)

    # -- test controls -------------------------------------------------------------------

    async def pay(self, out_trade_no: str, *, notify: bool = True) -> httpx.Response | None:
        """The shopper pays: the order is SUCCESS; with ``notify``, the payment notification
        goes to its notify_url and the merchant's answer is returned."""
        order = self._order(out_trade_no)
        if order.trade_state != "NOTPAY":
            raise ValueError(f"order {out_trade_no} is {order.trade_state}, not payable")
        now = datetime.now(CHINA)
        order.trade_state = "SUCCESS"
        order.transaction_id = "4200" + now.strftime("%Y%m%d") + _digits(16)
        order.success_time = now.isoformat(timespec="seconds")
        return await self.notify_payment(out_trade_no) if notify else None

    async def notify_payment(
        self,
        out_trade_no: str,
        *,
        timestamp: int | None = None,
        amount: int | None = None,
        tamper: bool = False,
        merchant: str | None = None,
        event_id: str | None = None,
    ) -> httpx.Response:
        """(Re)send the ``TRANSACTION.SUCCESS`` notification of a paid order.

        ``timestamp`` signs (and dates) it at another time, for stale replays; ``amount``
        puts another total in the encrypted transaction; ``tamper`` changes one byte of the
        body after signing (it stays valid JSON, so only the signature tells); ``merchant``
        (a registered mchid) encrypts it with that merchant's APIv3 key and names its mchid
        and appid, as a notification meant for another tenant would.
        """
        order = self._order(out_trade_no)
        if order.transaction_id is None:
            raise ValueError(f"order {out_trade_no} is not paid; use pay() first")
        sender = self._merchants[merchant or order.mchid]
        resource = order.transaction(trade_state="SUCCESS")
        resource |= {"mchid": sender.mchid, "appid": sender.appid}
        if amount is not None:
            resource["amount"] |= {"total": amount, "payer_total": amount}
        return await self._notify(
            order.notify_url,
            sender,
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            resource=resource,
            timestamp=timestamp,
            tamper=tamper,
            event_id=event_id,
        )

    async def settle_refund(
        self, out_refund_no: str, *, notify: bool = True
    ) -> httpx.Response | None:
        """The refund reaches the shopper: SUCCESS; with ``notify`` and a notify_url given at
        apply time, the ``REFUND.SUCCESS`` notification goes out and its answer is returned."""
        refund = self._refund(out_refund_no)
        if refund.status != "SUCCESS":
            refund.status = "SUCCESS"
            refund.success_time = _now()
        if notify and refund.notify_url:
            return await self.notify_refund(out_refund_no)
        return None

    async def notify_refund(
        self,
        out_refund_no: str,
        *,
        timestamp: int | None = None,
        tamper: bool = False,
        merchant: str | None = None,
        event_id: str | None = None,
    ) -> httpx.Response:
        """(Re)send the ``REFUND.SUCCESS`` notification of a settled refund; the knobs are
        those of :meth:`notify_payment`."""
        refund = self._refund(out_refund_no)
        if refund.status != "SUCCESS" or not refund.notify_url:
            raise ValueError(f"refund {out_refund_no} is not settled or has no notify_url")
        sender = self._merchants[merchant or refund.mchid]
        return await self._notify(
            refund.notify_url,
            sender,
            event_type="REFUND.SUCCESS",
            summary="退款成功",
            original_type="refund",
            resource=refund.notification() | {"mchid": sender.mchid},
            timestamp=timestamp,
            tamper=tamper,
            event_id=event_id,
        )

    async def confirm_transfer(
        self, out_bill_no: str, *, notify: bool = True, fail: str | None = None
    ) -> httpx.Response | None:
        """The payee confirms receipt in the mini-program: SUCCESS, or FAIL with ``fail`` as
        its fail_reason (a platform code such as ``NAME_NOT_CORRECT``); with ``notify`` and a
        notify_url given at creation, the ``MCHTRANSFER.BILL.FINISHED`` notification goes out
        and the merchant's answer is returned."""
        transfer = self._transfer(out_bill_no)
        if transfer.state != "WAIT_USER_CONFIRM":
            raise ValueError(f"transfer {out_bill_no} is {transfer.state}, not awaiting its payee")
        if fail is not None and not fail:
            raise ValueError("a fail reason is a platform code such as NAME_NOT_CORRECT")
        transfer.state = "SUCCESS" if fail is None else "FAIL"
        transfer.fail_reason = fail
        transfer.update_time = _now()
        if notify and transfer.notify_url:
            return await self.notify_transfer(out_bill_no)
        return None

    async def notify_transfer(
        self,
        out_bill_no: str,
        *,
        timestamp: int | None = None,
        tamper: bool = False,
        merchant: str | None = None,
        event_id: str | None = None,
    ) -> httpx.Response:
        """(Re)send the ``MCHTRANSFER.BILL.FINISHED`` notification of a finished transfer; the
        knobs are those of :meth:`notify_payment` (``merchant`` names its ``mch_id``)."""
        transfer = self._transfer(out_bill_no)
        if transfer.state not in ("SUCCESS", "FAIL") or not transfer.notify_url:
            raise ValueError(f"transfer {out_bill_no} is not finished or has no notify_url")
        sender = self._merchants[merchant or transfer.mchid]
        return await self._notify(
            transfer.notify_url,
            sender,
            event_type="MCHTRANSFER.BILL.FINISHED",
            summary="商家转账单据终态通知",
            original_type="mch_payment",
            resource=transfer.notification() | {"mch_id": sender.mchid},
            timestamp=timestamp,
            tamper=tamper,
            event_id=event_id,
        )

    def _order(self, out_trade_no: str) -> Order:
        try:
            return self.orders[out_trade_no]
        except KeyError:
            raise LookupError(f"no order {out_trade_no} was placed with the fake") from None

    def _refund(self, out_refund_no: str) -> Refund:
        try:
            return self.refunds[out_refund_no]
        except KeyError:
            raise LookupError(f"no refund {out_refund_no} was applied for") from None

    def _transfer(self, out_bill_no: str) -> Transfer:
        try:
            return self.transfers[out_bill_no]
        except KeyError:
            raise LookupError(f"no transfer {out_bill_no} was created with the fake") from None

    # -- signing and notifications -------------------------------------------------------

    def _sign(self, timestamp: str, nonce: str, body: bytes) -> str:
        """The platform signature: RSA-SHA256 over ``timestamp\\nnonce\\nbody\\n``."""
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = self._platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def _signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        return {
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": self._sign(stamp, nonce, body),
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Serial": self.platform_public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    async def _notify(
        self,
        url: str,
        merchant: Merchant,
        *,
        event_type: str,
        summary: str,
        original_type: str,
        resource: JSON,
        timestamp: int | None,
        tamper: bool,
        event_id: str | None,
    ) -> httpx.Response:
        """Encrypt the resource for the merchant, sign the envelope, POST it once."""
        nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
        sealed = AESGCM(merchant.apiv3_key.encode()).encrypt(
            nonce.encode(), _dumps(resource), original_type.encode()
        )
        sent_at = int(time.time()) if timestamp is None else timestamp
        body = _dumps(
            {
                "id": event_id or str(uuid.uuid4()),
                "create_time": datetime.fromtimestamp(sent_at, CHINA).isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(sealed).decode(),
                    "associated_data": original_type,
                    "nonce": nonce,
                },
            }
        )
        headers = self._signed_headers(body, sent_at)
        if tamper:
            body = _tamper(body)
        headers |= {"Content-Type": "application/json", "User-Agent": "Mozilla/4.0"}
        async with httpx.AsyncClient(follow_redirects=False, timeout=10, trust_env=False) as http:
            return await http.post(url, content=body, headers=headers)

    # -- HTTP ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: HTTP/1.1 requests with Content-Length bodies, kept alive."""
        self._connections.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, version = [*request_line.split(" ", 2), "", ""][:3]
                headers: dict[str, str] = {}
                for line in lines:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if "transfer-encoding" in headers:
                    writer.write(
                        self._reply(
                            411, {"code": "PARAM_ERROR", "message": "须带 Content-Length"}, False
                        )
                    )
                    await writer.drain()
                    return
                try:
                    body = await reader.readexactly(int(headers.get("content-length", "0")))
                except (asyncio.IncompleteReadError, ValueError, ConnectionError):
                    return
                status, payload = self._handle(method, target, headers, body)
                keep_alive = version == "HTTP/1.1" and headers.get("connection") != "close"
                writer.write(self._reply(status, payload, keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except ConnectionError:
            return
        finally:
            self._connections.discard(writer)
            writer.close()

    def _reply(self, status: int, payload: JSON | None, keep_alive: bool) -> bytes:
        """A response signed as the platform signs them (error answers included)."""
        body = b"" if payload is None else _dumps(payload)
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Date: {formatdate(usegmt=True)}",
            "Server: nginx",
            f"Request-ID: {uuid.uuid4().hex.upper()}",
            *(f"{k}: {v}" for k, v in self._signed_headers(body).items()),
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        if status != 204:
            lines += [
                "Content-Type: application/json; charset=utf-8",
                f"Content-Length: {len(body)}",
            ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def _handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, JSON | None]:
        """Record, authenticate, route; a refusal becomes the platform's error JSON."""
        try:
            parsed: Any = json.loads(body.decode()) if body else {}
        except (UnicodeDecodeError, ValueError):
            parsed = None
        self.requests.append((method, target, parsed if isinstance(parsed, dict) else {}))
        try:
            merchant = self._authenticate(method, target, headers, body)
            if not isinstance(parsed, dict):
                raise ApiError(400, "PARAM_ERROR", "请求体不是合法的 JSON 对象")
            return self._route(method, target, merchant, parsed, headers)
        except ApiError as error:
            return error.status, {"code": error.code, "message": error.message}
        except Exception as error:  # a bug in the fake: answer as the platform's 500 would
            return 500, {"code": "SYSTEMERROR", "message": f"(fake) {error!r}"}

    def _authenticate(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Merchant:
        """Check the merchant's signature over ``METHOD\\nPATH?QUERY\\nTS\\nNONCE\\nBODY\\n``."""
        scheme, _, params = headers.get("authorization", "").partition(" ")
        if scheme != SIGNATURE_TYPE:
            raise ApiError(401, "SIGN_ERROR", "Authorization 缺失或认证类型不是 " + SIGNATURE_TYPE)
        fields = dict(AUTH_PARAM.findall(params))
        needed = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
        if any(not fields.get(name) for name in needed):
            raise ApiError(
                401,
                "SIGN_ERROR",
                "Authorization 缺少 mchid/nonce_str/signature/timestamp/serial_no",
            )
        merchant = self._merchants.get(fields["mchid"])
        if merchant is None:
            raise ApiError(401, "SIGN_ERROR", "商户号未登记")
        if fields["serial_no"] != merchant.serial_no:
            raise ApiError(401, "SIGN_ERROR", "商户证书序列号有误")
        if (
            not fields["timestamp"].isdigit()
            or abs(time.time() - int(fields["timestamp"])) > CLOCK_SKEW
        ):
            raise ApiError(401, "SIGN_ERROR", "时间戳与当前时间相差超过5分钟")
        message = (
            f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode()
            + body
            + b"\n"
        )
        try:
            signature = base64.b64decode(fields["signature"], validate=True)
            merchant.public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise ApiError(401, "SIGN_ERROR", "签名错误") from None
        return merchant

    def _route(
        self, method: str, target: str, merchant: Merchant, body: JSON, headers: dict[str, str]
    ) -> tuple[int, JSON | None]:
        split = urlsplit(target)
        path, query = split.path, parse_qs(split.query)
        if method == "POST" and path == "/v3/pay/transactions/jsapi":
            return 200, self._jsapi(merchant, body)
        if path.startswith(TRADE):
            rest = path.removeprefix(TRADE)
            if method == "GET" and "/" not in rest:
                mchid = query.get("mchid", [""])[0]
                return 200, self._query(merchant, unquote(rest), mchid)
            no, _, action = rest.partition("/")
            if method == "POST" and action == "close":
                self._close(merchant, unquote(no), body)
                return 204, None
        if method == "POST" and path == REFUNDS:
            return 200, self._apply_refund(merchant, body)
        if method == "GET" and path.startswith(REFUNDS + "/") and path.count("/") == 5:
            return 200, self._query_refund(merchant, unquote(path.removeprefix(REFUNDS + "/")))
        if method == "POST" and path == TRANSFER_BILLS:
            return 200, self._create_transfer(merchant, body, headers)
        if method == "GET" and path.startswith(TRANSFER_BILLS + "/"):
            by, _, no = path.removeprefix(TRANSFER_BILLS + "/").partition("/")
            if by in ("out-bill-no", "transfer-bill-no") and no and "/" not in no:
                return 200, self._query_transfer(merchant, by, unquote(no))
        raise ApiError(404, "NOT_FOUND", f"the fake has no API {method} {path}")

    # -- APIs ----------------------------------------------------------------------------

    @staticmethod
    def _same_merchant(merchant: Merchant, mchid: str | None) -> None:
        if mchid != merchant.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 与 Authorization 中的商户号不一致")

    def _jsapi(self, merchant: Merchant, body: JSON) -> JSON:
        """Place (or place again) a JSAPI order; the answer is its prepay_id."""
        appid = _text(body, "appid", max_len=32)
        self._same_merchant(merchant, _text(body, "mchid", max_len=32))
        description = _text(body, "description", max_len=127)
        out_trade_no = _text(body, "out_trade_no", max_len=32)
        if not OUT_TRADE_NO.fullmatch(out_trade_no):
            raise ApiError(400, "PARAM_ERROR", "out_trade_no 须为6-32位数字、字母或_-|*")
        notify_url = _notify_url(_text(body, "notify_url"))
        amount = _object(body, "amount")
        total, currency = _fen(amount, "total"), _currency(amount, required=False)
        openid = _text(_object(body, "payer"), "openid", max_len=128)
        if appid != merchant.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        order = self.orders.get(out_trade_no)
        if order is not None:
            if order.mchid != merchant.mchid:
                raise ApiError(400, "INVALID_REQUEST", "(fake) out_trade_no 已被其他商户使用")
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise ApiError(400, "ORDERPAID", "该订单已支付")
            if order.trade_state == "CLOSED":
                raise ApiError(400, "ORDER_CLOSED", "订单已关闭")
            if (order.total, order.currency) != (total, currency):
                raise ApiError(400, "INVALID_REQUEST", "201 商户订单号重复")
            return {"prepay_id": order.prepay_id}
        prepay_id = "wx" + datetime.now(CHINA).strftime("%d%H%M%S") + secrets.token_hex(13)
        self.orders[out_trade_no] = Order(
            mchid=merchant.mchid,
            appid=appid,
            out_trade_no=out_trade_no,
            description=description,
            notify_url=notify_url,
            total=total,
            currency=currency,
            openid=openid,
            prepay_id=prepay_id,
        )
        return {"prepay_id": prepay_id}

    def _visible_order(self, merchant: Merchant, out_trade_no: str) -> Order:
        order = self.orders.get(out_trade_no)
        if order is None or order.mchid != merchant.mchid:
            raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return order

    def _query(self, merchant: Merchant, out_trade_no: str, mchid: str) -> JSON:
        if not mchid:
            raise ApiError(400, "PARAM_ERROR", "缺少参数 mchid")
        self._same_merchant(merchant, mchid)
        return self._visible_order(merchant, out_trade_no).transaction()

    def _close(self, merchant: Merchant, out_trade_no: str, body: JSON) -> None:
        self._same_merchant(merchant, _text(body, "mchid", max_len=32))
        order = self._visible_order(merchant, out_trade_no)
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise ApiError(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"

    def _apply_refund(self, merchant: Merchant, body: JSON) -> JSON:
        """Apply for a refund; the same out_refund_no again answers the same refund."""
        out_refund_no = _text(body, "out_refund_no", max_len=64)
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise ApiError(400, "PARAM_ERROR", "out_refund_no 须为1-64位数字、字母或_-|*@")
        reason = _optional_text(body, "reason", max_len=80)
        notify_url = _optional_text(body, "notify_url")
        if notify_url is not None:
            _notify_url(notify_url)
        amount = _object(body, "amount")
        refund_fen, total = _fen(amount, "refund"), _fen(amount, "total")
        currency = _currency(amount, required=True)
        order = self._refunded_order(merchant, body)
        existing = self.refunds.get(out_refund_no)
        if existing is not None:
            if existing.mchid != merchant.mchid:
                raise ApiError(400, "INVALID_REQUEST", "(fake) out_refund_no 已被其他商户使用")
            if (existing.out_trade_no, existing.refund, existing.total) != (
                order.out_trade_no,
                refund_fen,
                total,
            ):
                raise ApiError(400, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致")
            return existing.json()
        if order.trade_state not in ("SUCCESS", "REFUND") or order.transaction_id is None:
            raise ApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order.total:
            raise ApiError(400, "INVALID_REQUEST", "订单金额与原订单不一致")
        refunded = sum(
            r.refund for r in self.refunds.values() if r.out_trade_no == order.out_trade_no
        )
        if refund_fen > order.total - refunded:
            raise ApiError(400, "NOT_ENOUGH", "申请退款金额超过订单可退金额")
        refund = Refund(
            mchid=merchant.mchid,
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id,
            out_refund_no=out_refund_no,
            refund_id="5030" + datetime.now(CHINA).strftime("%Y%m%d") + _digits(17),
            refund=refund_fen,
            total=total,
            currency=currency,
            create_time=_now(),
            reason=reason,
            notify_url=notify_url,
        )
        self.refunds[out_refund_no] = refund
        order.trade_state = "REFUND"
        return refund.json()

    def _refunded_order(self, merchant: Merchant, body: JSON) -> Order:
        """The order a refund names, by transaction_id or out_trade_no, if it is this merchant's."""
        transaction_id = _optional_text(body, "transaction_id", max_len=32)
        out_trade_no = _optional_text(body, "out_trade_no", max_len=32)
        if transaction_id is not None:
            found = [o for o in self.orders.values() if o.transaction_id == transaction_id]
            order = found[0] if found else None
        elif out_trade_no is not None:
            order = self.orders.get(out_trade_no)
        else:
            raise ApiError(400, "PARAM_ERROR", "transaction_id 与 out_trade_no 须填一个")
        if order is None or order.mchid != merchant.mchid:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        return order

    def _query_refund(self, merchant: Merchant, out_refund_no: str) -> JSON:
        refund = self.refunds.get(out_refund_no)
        if refund is None or refund.mchid != merchant.mchid:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund.json()

    def _create_transfer(self, merchant: Merchant, body: JSON, headers: dict[str, str]) -> JSON:
        """Create a transfer bill; the same out_bill_no again answers the bill as it stands."""
        appid = _text(body, "appid", max_len=32)
        out_bill_no = _text(body, "out_bill_no", max_len=32)
        if not OUT_BILL_NO.fullmatch(out_bill_no):
            raise ApiError(400, "PARAM_ERROR", "out_bill_no 须为5-32位数字或字母")
        scene = _text(body, "transfer_scene_id", max_len=36)
        openid = _text(body, "openid", max_len=64)
        amount = _fen(body, "transfer_amount")
        remark = _text(body, "transfer_remark", max_len=32)
        notify_url = _optional_text(body, "notify_url")
        if notify_url is not None:
            _notify_url(notify_url)
        perception = _optional_text(body, "user_recv_perception", max_len=32)
        infos = _report_infos(body)
        user_name = self._user_name(body, headers, amount)
        if appid != merchant.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        existing = self.transfers.get(out_bill_no)
        if existing is not None:
            if existing.mchid != merchant.mchid:
                raise ApiError(400, "INVALID_REQUEST", "(fake) out_bill_no 已被其他商户使用")
            if (existing.transfer_amount, existing.openid) != (amount, openid):
                raise ApiError(400, "INVALID_REQUEST", "商户单号重复，且与之前请求的参数不一致")
            return existing.created()
        now = datetime.now(CHINA)
        created = now.isoformat(timespec="seconds")
        bill_no = "1330" + merchant.mchid[-10:].zfill(10) + now.strftime("%Y%m%d") + _digits(18)
        transfer = Transfer(
            mchid=merchant.mchid,
            appid=appid,
            out_bill_no=out_bill_no,
            transfer_bill_no=bill_no,
            transfer_scene_id=scene,
            openid=openid,
            transfer_amount=amount,
            transfer_remark=remark,
            package_info=base64.b64encode(secrets.token_bytes(72)).decode(),
            create_time=created,
            update_time=created,
            user_name=user_name,
            notify_url=notify_url,
            user_recv_perception=perception,
            transfer_scene_report_infos=infos,
        )
        self.transfers[out_bill_no] = transfer
        return transfer.created()

    def _user_name(self, body: JSON, headers: dict[str, str], amount: int) -> str | None:
        """The payee's name, RSA-OAEP encrypted with the platform key the Wechatpay-Serial
        header names; refused under 0.30 yuan, required from 2,000 yuan."""
        sealed = _optional_text(body, "user_name", max_len=2048)
        if sealed is None:
            if amount >= NAME_REQUIRED_FEN:
                raise ApiError(400, "PARAM_ERROR", "转账金额 >= 2000元时须填写收款用户姓名")
            return None
        if amount < NAME_MIN_FEN:
            raise ApiError(400, "PARAM_ERROR", "转账金额 < 0.3元时不允许填写收款用户姓名")
        if headers.get("wechatpay-serial") != self.platform_public_key_id:
            raise ApiError(400, "PARAM_ERROR", "Wechatpay-Serial 须为加密敏感信息所用的公钥ID")
        try:
            plain = self._platform_key.decrypt(
                base64.b64decode(sealed, validate=True),
                padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
            )
            return plain.decode()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "PARAM_ERROR", "user_name 解密失败") from None

    def _query_transfer(self, merchant: Merchant, by: str, no: str) -> JSON:
        if by == "out-bill-no":
            transfer = self.transfers.get(no)
        else:
            found = [t for t in self.transfers.values() if t.transfer_bill_no == no]
            transfer = found[0] if found else None
        if transfer is None or transfer.mchid != merchant.mchid:
            raise ApiError(404, "NOT_FOUND", "记录不存在")
        return transfer.json()


def _report_infos(body: JSON) -> list[JSON]:
    """``transfer_scene_report_infos``: the scene's declarations, ``{info_type, info_content}``
    each (which types a scene needs is not checked here)."""
    value = body.get("transfer_scene_report_infos")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(info, dict) for info in value):
        raise ApiError(400, "PARAM_ERROR", "缺少参数或类型错误: transfer_scene_report_infos")
    for info in value:
        _text(info, "info_type", max_len=15)
        _text(info, "info_content", max_len=32)
    return [dict(info) for info in value]


def _tamper(body: bytes) -> bytes:
    """Change the last digit of ``create_time`` (its seconds): the body stays valid JSON with
    the same shape, so a receiver refuses it only if it checks the signature."""
    start = body.index(b'"create_time":"') + len(b'"create_time":"')
    at = start + len("2006-01-02T15:04:0")
    digit = (body[at] - ord("0") + 1) % 10
    return body[:at] + str(digit).encode() + body[at + 1 :]
