"""A fake Alipay open-platform gateway on loopback, for tests that need a real protocol peer.

It speaks the classic ``gateway.do`` protocol in the public-key mode (公钥模式) with RSA2:
every request carries the common parameters and a ``sign`` made with the app's private key
over the sorted, ``&``-joined parameters; every answer is ``{"<method>_response": {…},
"sign": "…"}`` with ``sign`` the Alipay key's signature over the exact JSON text of the
response node; the asynchronous notification is a form POST signed with the Alipay key. A
client that passes against it has done the cryptography for real; a shortcut (an unsigned
request, an unverified answer or notification, a wrong key, a timestamp that is not Beijing
time) fails here as it would in production. ``tests/test_fake_alipay.py`` checks the fake
against the maintained ``python-alipay-sdk`` package.

What it models: the mini-program trade (``alipay.trade.create``), the H5 and PC page payments
(``alipay.trade.wap.pay``, ``alipay.trade.page.pay``, opened by the shopper's browser: the
fake records the order and answers a small cashier page), query, close, synchronous refunds
(``alipay.trade.refund``) and the refund query, with the gateway's common-parameter errors
and the trade APIs' business errors. The shopper paying is a test control
(:meth:`FakeAlipay.pay`), and so is (re)sending the notification (:meth:`FakeAlipay.notify`).

What it simplifies: one Alipay key pair signs for every app (the platform gives each app its
own), ``out_trade_no`` is unique across all apps here (the platform scopes it per seller), a
refund sends no notification by itself (call :meth:`FakeAlipay.notify`), only ``utf-8`` and
``RSA2`` are spoken, and notify URLs may be plain http.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import secrets
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import formatdate
from html import escape
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["App", "FakeAlipay", "Order", "Refund", "signing_string"]

JSON = dict[str, Any]
CHINA = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # "yyyy-MM-dd HH:mm:ss", Beijing time, everywhere
CLOCK_SKEW = timedelta(minutes=15)  # how far a request's timestamp may be from Beijing time
PATH = "/gateway.do"
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_]{1,64}")  # "64个字符以内，仅支持字母、数字、下划线"
AMOUNT = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?")  # yuan, at most two decimals
MAX_FEN = 100_000_000_00  # the gateway's range is [0.01, 100000000.00] yuan
TIMEOUT_EXPRESS = re.compile(r"([1-9][0-9]{0,3})([mhd])|1c")
PAGE_METHODS = ("alipay.trade.wap.pay", "alipay.trade.page.pay")
SUCCESS = "10000"
MESSAGES = {
    SUCCESS: "Success",
    "20000": "Service Currently Unavailable",
    "40001": "Missing Required Arguments",
    "40002": "Invalid Arguments",
    "40004": "Business Failed",
}
PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


class ApiError(Exception):
    """A refusal: the response node ``{"code", "msg", "sub_code", "sub_msg", …}``."""

    def __init__(self, code: str, sub_code: str, sub_msg: str, **extra: str) -> None:
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.extra = extra

    def node(self) -> JSON:
        return {
            "code": self.code,
            "msg": MESSAGES[self.code],
            "sub_code": self.sub_code,
            "sub_msg": self.sub_msg,
            **self.extra,
        }


def _missing(sub_code: str, sub_msg: str) -> ApiError:
    return ApiError("40001", sub_code, sub_msg)


def _invalid(sub_code: str, sub_msg: str) -> ApiError:
    return ApiError("40002", sub_code, sub_msg)


def _business(sub_code: str, sub_msg: str, **extra: str) -> ApiError:
    return ApiError("40004", sub_code, sub_msg, **extra)


def _bad_parameter(message: str) -> ApiError:
    return _business("ACQ.INVALID_PARAMETER", f"参数无效: {message}")


@dataclass
class App:
    """An app (a merchant's application) as the platform knows it: its public key, and the
    seller account (``2088…``) its trades pay into."""

    app_id: str
    public_key: rsa.RSAPublicKey
    seller_id: str


@dataclass
class Order:
    """A trade, from created (or opened in the cashier page) to paid, refunded or closed.
    Amounts are yuan strings with two decimals, as the gateway writes them."""

    app_id: str
    out_trade_no: str
    trade_no: str
    method: str  # the API that opened it: alipay.trade.create, .wap.pay or .page.pay
    subject: str
    total_amount: str
    notify_url: str | None
    gmt_create: str
    buyer_id: str | None = None
    buyer_open_id: str | None = None
    return_url: str | None = None
    time_expire: str | None = None  # Beijing time; an unpaid trade closes after it
    trade_status: str = "WAIT_BUYER_PAY"
    buyer_logon_id: str | None = None
    gmt_payment: str | None = None
    gmt_close: str | None = None
    refund_fee: str = "0.00"  # refunded so far

    def query(self) -> JSON:
        """The fields ``alipay.trade.query`` answers (after code and msg)."""
        paid = self.gmt_payment is not None
        paid_amount = self.total_amount if paid else "0.00"
        data: JSON = {"trade_no": self.trade_no, "out_trade_no": self.out_trade_no}
        if self.buyer_logon_id is not None:
            data["buyer_logon_id"] = self.buyer_logon_id
        data |= {
            "trade_status": self.trade_status,
            "total_amount": self.total_amount,
            "buyer_pay_amount": paid_amount,
            "point_amount": "0.00",
            "invoice_amount": paid_amount,
            "receipt_amount": paid_amount,
        }
        if paid:
            data["send_pay_date"] = self.gmt_payment
            data["fund_bill_list"] = [
                {"amount": self.total_amount, "fund_channel": "ALIPAYACCOUNT"}
            ]
        return data | self.buyer_fields()

    def buyer_fields(self) -> JSON:
        """The buyer as the query and refund APIs name it."""
        data: JSON = {}
        if self.buyer_id is not None:
            data["buyer_user_id"] = self.buyer_id
        if self.buyer_open_id is not None:
            data["buyer_open_id"] = self.buyer_open_id
        return data


@dataclass
class Refund:
    """One refund request (``out_request_no``) against a paid trade; refunds are synchronous
    in this API, so it has succeeded once it exists."""

    app_id: str
    out_trade_no: str
    trade_no: str
    out_request_no: str
    refund_amount: str
    gmt_refund_pay: str
    refund_reason: str | None = None
    refund_status: str = "REFUND_SUCCESS"


def signing_string(params: Mapping[str, str], *, exclude: Collection[str] = ("sign",)) -> str:
    """What an RSA2 signature covers: every parameter but ``exclude`` and those with empty
    values, sorted by key, as raw (not URL-encoded) ``k=v`` joined with ``&``. A request
    excludes ``sign``; a notification excludes ``sign`` and ``sign_type``."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude and v)


def _now() -> datetime:
    return datetime.now(CHINA)


def _stamp(moment: datetime | None = None) -> str:
    return (moment or _now()).strftime(TIME_FORMAT)


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def _dumps(data: object) -> str:
    """Compact JSON, Chinese text unescaped, as the gateway writes it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _to_fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def _to_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _text(biz: JSON, key: str, *, max_len: int = 256) -> str:
    value = biz.get(key)
    if not isinstance(value, str) or not value:
        raise _bad_parameter(f"缺少 {key}")
    if len(value) > max_len:
        raise _bad_parameter(f"{key} 过长")
    return value


def _optional_text(biz: JSON, key: str, *, max_len: int = 256) -> str | None:
    return None if biz.get(key) in (None, "") else _text(biz, key, max_len=max_len)


def _fen(biz: JSON, key: str) -> int:
    """An amount: yuan with at most two decimals, as a string (or, as the gateway also takes,
    a JSON number), within [0.01, 100000000.00]."""
    value = biz.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad_parameter(f"缺少 {key}")
    text = value if isinstance(value, str) else str(value)
    if not AMOUNT.fullmatch(text) or not 1 <= _to_fen(text) <= MAX_FEN:
        raise _bad_parameter(f"{key} 须为 0.01 至 100000000.00 元, 精确到分")
    return _to_fen(text)


def _out_trade_no(biz: JSON) -> str:
    value = _text(biz, "out_trade_no", max_len=64)
    if not OUT_TRADE_NO.fullmatch(value):
        raise _bad_parameter("out_trade_no 仅支持字母、数字、下划线")
    return value


def _notify_url(value: str | None) -> str | None:
    """An absolute http(s) URL (https only in production)."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("isv.invalid-parameter", "notify_url 格式不正确")
    return value


def _time_expire(biz: JSON, now: datetime) -> str | None:
    """The deadline of an unpaid trade, from ``time_expire`` or ``timeout_express``."""
    absolute = _optional_text(biz, "time_expire", max_len=32)
    relative = _optional_text(biz, "timeout_express", max_len=6)
    if absolute is not None:
        try:
            datetime.strptime(absolute, TIME_FORMAT).replace(tzinfo=CHINA)
        except ValueError:
            raise _bad_parameter("time_expire 格式须为 yyyy-MM-dd HH:mm:ss") from None
        return absolute
    if relative is None:
        return None
    match = TIMEOUT_EXPRESS.fullmatch(relative)
    if match is None:
        raise _bad_parameter("timeout_express 取值范围 1m～15d 或 1c")
    if relative == "1c":
        return now.strftime("%Y-%m-%d 23:59:59")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return _stamp(now + timedelta(**{unit: int(match.group(1))}))


class FakeAlipay:
    """The platform side of the Alipay ``gateway.do`` API, served on ``127.0.0.1``."""

    def __init__(self) -> None:
        self._alipay_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.alipay_public_key_pem: str = (
            self._alipay_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.orders: dict[str, Order] = {}
        self.refunds: dict[tuple[str, str], Refund] = {}  # by (out_trade_no, out_request_no)
        self._apps: dict[str, App] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._port = 0
        self._apis: dict[str, Callable[[App, dict[str, str], JSON], JSON]] = {
            "alipay.trade.create": self._create,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._query_refund,
        }

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

    async def __aenter__(self) -> FakeAlipay:
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
        """The gateway's origin, standing in for ``https://openapi.alipay.com``."""
        if self._server is None:
            raise RuntimeError("FakeAlipay is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def gateway_url(self) -> str:
        """Standing in for ``https://openapi.alipay.com/gateway.do``."""
        return self.url + PATH

    def add_app(self, app_id: str, app_public_key_pem: str) -> None:
        """Register an app: requests it signs with the matching private key are accepted."""
        if app_id in self._apps:
            raise ValueError(f"app {app_id} is already registered")
        key = serialization.load_pem_public_key(app_public_key_pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("an app key is RSA")
        self._apps[app_id] = App(app_id, key, "2088" + _digits(12))

    # -- test controls -------------------------------------------------------------------

    async def pay(self, out_trade_no: str, *, notify: bool = True) -> httpx.Response | None:
        """The shopper pays: the trade is TRADE_SUCCESS; with ``notify`` and a notify_url
        given when it was opened, the notification goes out and the merchant's answer is
        returned (an acknowledging merchant answers the text ``success``)."""
        order = self._order(out_trade_no)
        self._expire(order)
        if order.trade_status != "WAIT_BUYER_PAY":
            raise ValueError(f"trade {out_trade_no} is {order.trade_status}, not payable")
        order.trade_status = "TRADE_SUCCESS"
        order.gmt_payment = _stamp()
        order.buyer_logon_id = "186******" + _digits(2)
        if order.buyer_id is None and order.buyer_open_id is None:
            order.buyer_id = "2088" + _digits(12)  # whoever logged in to the cashier page
        if notify and order.notify_url:
            return await self.notify(out_trade_no)
        return None

    def finish(self, out_trade_no: str) -> None:
        """The refund period is over: a paid trade becomes TRADE_FINISHED."""
        order = self._order(out_trade_no)
        if order.trade_status != "TRADE_SUCCESS":
            raise ValueError(f"trade {out_trade_no} is {order.trade_status}, not TRADE_SUCCESS")
        order.trade_status = "TRADE_FINISHED"

    async def notify(
        self,
        out_trade_no: str,
        *,
        amount: str | None = None,
        tamper: bool = False,
        app_id: str | None = None,
        notify_time: str | None = None,
    ) -> httpx.Response:
        """(Re)send the ``trade_status_sync`` notification of a paid trade, with its current
        trade_status (and refund_fee, gmt_refund, out_biz_no once refunded).

        ``amount`` puts another total_amount (and receipt, buyer-paid, invoice amounts) in
        it, signed; ``tamper`` changes the seconds of ``gmt_payment`` after signing, so only
        the signature tells; ``app_id`` names another app (and that app's seller, if it is
        registered), as a notification meant for another tenant would; ``notify_time``
        dates it (``yyyy-MM-dd HH:mm:ss``), for stale replays.
        """
        order = self._order(out_trade_no)
        if order.gmt_payment is None:
            raise ValueError(f"trade {out_trade_no} is not paid; use pay() first")
        if not order.notify_url:
            raise ValueError(f"trade {out_trade_no} has no notify_url")
        sender = app_id or order.app_id
        seller = self._apps.get(sender) or self._apps[order.app_id]
        total = order.total_amount if amount is None else amount
        params: dict[str, str] = {
            "gmt_create": order.gmt_create,
            "charset": "utf-8",
            "seller_id": seller.seller_id,
            "subject": order.subject,
            "sign_type": "RSA2",
        }
        if order.buyer_open_id is not None:
            params["buyer_open_id"] = order.buyer_open_id
        if order.buyer_id is not None:
            params["buyer_id"] = order.buyer_id
        params |= {
            "invoice_amount": total,
            "notify_id": _now().strftime("%Y%m%d") + "00222" + _digits(21),
            "fund_bill_list": _dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}]),
            "notify_type": "trade_status_sync",
            "trade_status": order.trade_status,
            "receipt_amount": total,
            "buyer_pay_amount": total,
            "app_id": sender,
            "notify_time": notify_time or _stamp(),
            "point_amount": "0.00",
            "total_amount": total,
            "trade_no": order.trade_no,
            "auth_app_id": sender,
            "gmt_payment": order.gmt_payment,
            "out_trade_no": order.out_trade_no,
            "version": "1.0",
        }
        if order.buyer_logon_id is not None:
            params["buyer_logon_id"] = order.buyer_logon_id
        refunds = [r for r in self.refunds.values() if r.out_trade_no == order.out_trade_no]
        if refunds:
            params |= {
                "refund_fee": order.refund_fee,
                "gmt_refund": refunds[-1].gmt_refund_pay + ".000",
                "out_biz_no": refunds[-1].out_request_no,
            }
        if order.gmt_close is not None:
            params["gmt_close"] = order.gmt_close
        params["sign"] = self._sign(signing_string(params, exclude=("sign", "sign_type")))
        if tamper:
            stamp = params["gmt_payment"]
            params["gmt_payment"] = stamp[:-1] + str((int(stamp[-1]) + 1) % 10)
        async with httpx.AsyncClient(follow_redirects=False, timeout=10, trust_env=False) as http:
            return await http.post(
                order.notify_url,
                content=urlencode(params).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                    "User-Agent": "Mozilla/4.0",
                },
            )

    def _order(self, out_trade_no: str) -> Order:
        try:
            return self.orders[out_trade_no]
        except KeyError:
            raise LookupError(f"no trade {out_trade_no} was opened with the fake") from None

    # -- signing -------------------------------------------------------------------------

    def _sign(self, message: str) -> str:
        """The Alipay key's RSA2 signature: SHA256withRSA (PKCS#1 v1.5), base64."""
        signature = self._alipay_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

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
                    writer.write(_reply(411, "text/plain", b"Content-Length required", False))
                    await writer.drain()
                    return
                try:
                    body = await reader.readexactly(int(headers.get("content-length", "0")))
                except (asyncio.IncompleteReadError, ValueError, ConnectionError):
                    return
                status, content_type, payload = self._handle(method, target, headers, body)
                keep_alive = version == "HTTP/1.1" and headers.get("connection") != "close"
                writer.write(_reply(status, content_type, payload, keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except ConnectionError:
            return
        finally:
            self._connections.discard(writer)
            writer.close()

    def _handle(
        self, verb: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        """Record, authenticate, route; a refusal becomes the gateway's error node (or, for
        a page method, its error page). The gateway answers 200 to all of these."""
        split = urlsplit(target)
        if split.path != PATH:
            return 404, "text/plain", b"Not Found"
        if verb not in ("GET", "POST"):
            return 405, "text/plain", b"Method Not Allowed"
        params, charset_ok = _params(split.query, headers, body)
        method = params.get("method", "")
        self.requests.append((method, params))
        app = self._apps.get(params.get("app_id", ""))
        page = method in PAGE_METHODS
        try:
            if not charset_ok:
                raise _invalid("isv.invalid-charset", "字符集错误")
            app = self._authenticate(params, app)
            biz = _biz(params)
            if page:
                return 200, "text/html;charset=utf-8", self._page(app, method, params, biz)
            node = {"code": SUCCESS, "msg": MESSAGES[SUCCESS]} | self._apis[method](
                app, params, biz
            )
        except ApiError as error:
            node = error.node()
        except Exception as error:  # a bug in the fake: answer as the gateway's 20000 would
            node = {
                "code": "20000",
                "msg": MESSAGES["20000"],
                "sub_code": "isp.unknow-error",
                "sub_msg": f"(fake) {error!r}",
            }
        if page:
            return 200, "text/html;charset=utf-8", _error_page(node)
        name = method.replace(".", "_") + "_response" if method in self._apis else "error_response"
        return 200, "text/html;charset=utf-8", self._answer(name, node, signed=app is not None)

    def _answer(self, name: str, node: JSON, *, signed: bool) -> bytes:
        """``{"<name>":<node>,"sign":"…"}`` with the signature over ``<node>`` exactly as it
        stands in the body. An answer to an unknown app is unsigned: the gateway has no key
        pair for it (the platform's keys are per app)."""
        text = _dumps(node)
        body = '{"' + name + '":' + text
        if signed:
            body += ',"sign":"' + self._sign(text) + '"'
        return (body + "}").encode()

    def _authenticate(self, params: dict[str, str], app: App | None) -> App:
        """The common parameters, in the order the gateway checks them, then the signature
        over :func:`signing_string` of everything but ``sign``."""
        method = params.get("method")
        if not method:
            raise _missing("isv.missing-method", "缺少方法名参数")
        if not params.get("app_id"):
            raise _missing("isv.missing-app-id", "缺少appId参数")
        if app is None:
            raise _invalid("isv.invalid-app-id", "无效的AppID参数")
        if method not in self._apis and method not in PAGE_METHODS:
            raise _invalid("isv.invalid-method", "不存在的方法名")
        if params.get("charset", "").lower() != "utf-8":
            raise _invalid("isv.invalid-charset", "字符集错误")
        if params.get("format", "JSON").upper() != "JSON":
            raise _invalid("isv.invalid-format", "无效的数据格式")
        if not params.get("sign_type"):
            raise _missing("isv.missing-signature-type", "缺少签名类型参数")
        if params["sign_type"] != "RSA2":
            raise _invalid("isv.invalid-signature-type", "无效的签名类型")
        if not params.get("sign"):
            raise _missing("isv.missing-signature", "缺少签名参数")
        if not params.get("timestamp"):
            raise _missing("isv.missing-timestamp", "缺少时间戳参数")
        try:
            sent = datetime.strptime(params["timestamp"], TIME_FORMAT).replace(tzinfo=CHINA)
        except ValueError:
            raise _invalid("isv.invalid-timestamp", "非法的时间戳参数") from None
        if abs(_now() - sent) > CLOCK_SKEW:
            raise _invalid("isv.invalid-timestamp", "非法的时间戳参数")
        if not params.get("version"):
            raise _missing("isv.missing-version", "缺少版本参数")
        if params["version"] != "1.0":
            raise _invalid("isv.invalid-parameter", "version 固定为 1.0")
        try:
            signature = base64.b64decode(params["sign"], validate=True)
            app.public_key.verify(
                signature, signing_string(params).encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise _invalid("isv.invalid-signature", "验签出错") from None
        return app

    # -- trades --------------------------------------------------------------------------

    def _expire(self, order: Order) -> None:
        """An unpaid trade past its deadline is closed (the gateway closes it on time; the
        fake does when it next looks)."""
        if (
            order.trade_status == "WAIT_BUYER_PAY"
            and order.time_expire is not None
            and _stamp() > order.time_expire
        ):
            order.trade_status = "TRADE_CLOSED"
            order.gmt_close = order.time_expire

    def _open(self, app: App, method: str, params: dict[str, str], biz: JSON) -> Order:
        """Create a trade, or find the same one again (same app, amount and buyer)."""
        out_trade_no = _out_trade_no(biz)
        total = _to_yuan(_fen(biz, "total_amount"))
        subject = _text(biz, "subject")
        buyer_id = _optional_text(biz, "buyer_id", max_len=28)
        buyer_open_id = _optional_text(biz, "buyer_open_id", max_len=128)
        notify_url = _notify_url(params.get("notify_url"))
        now = _now()
        time_expire = _time_expire(biz, now)
        order = self.orders.get(out_trade_no)
        if order is not None:
            if order.app_id != app.app_id:
                raise _bad_parameter("(fake) out_trade_no 已被其他应用使用")
            self._expire(order)
            if order.trade_status in PAID:
                raise _business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if order.trade_status == "TRADE_CLOSED":
                raise _business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if (order.total_amount, order.subject) != (total, subject):
                raise _business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            given = (buyer_id, buyer_open_id)
            if given != (None, None) and given != (order.buyer_id, order.buyer_open_id):
                raise _business("ACQ.TRADE_BUYER_NOT_MATCH", "交易买家不匹配")
            return order
        order = Order(
            app_id=app.app_id,
            out_trade_no=out_trade_no,
            trade_no=now.strftime("%Y%m%d") + "22001" + _digits(15),
            method=method,
            subject=subject,
            total_amount=total,
            notify_url=notify_url,
            gmt_create=_stamp(now),
            buyer_id=buyer_id,
            buyer_open_id=buyer_open_id,
            return_url=params.get("return_url") or None,
            time_expire=time_expire,
        )
        self.orders[out_trade_no] = order
        return order

    def _find(self, app: App, biz: JSON) -> Order:
        """The trade a request names, by trade_no or out_trade_no, if it is this app's."""
        trade_no = _optional_text(biz, "trade_no", max_len=64)
        out_trade_no = _optional_text(biz, "out_trade_no", max_len=64)
        if trade_no is not None:
            found = [o for o in self.orders.values() if o.trade_no == trade_no]
            order = found[0] if found else None
        elif out_trade_no is not None:
            order = self.orders.get(out_trade_no)
        else:
            raise _bad_parameter("out_trade_no 与 trade_no 不能同时为空")
        if order is None or order.app_id != app.app_id:
            raise _business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        self._expire(order)
        return order

    def _create(self, app: App, params: dict[str, str], biz: JSON) -> JSON:
        order = self._open(app, "alipay.trade.create", params, biz)
        return {"out_trade_no": order.out_trade_no, "trade_no": order.trade_no}

    def _page(self, app: App, method: str, params: dict[str, str], biz: JSON) -> bytes:
        """The cashier page a shopper's browser opens: the trade now exists, unpaid."""
        order = self._open(app, method, params, biz)
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>支付宝收银台</title>"
            "</head><body><div id='cashier'"
            f" data-out-trade-no='{escape(order.out_trade_no)}'"
            f" data-trade-no='{escape(order.trade_no)}'"
            f" data-total-amount='{escape(order.total_amount)}'>"
            f"<h1>{escape(order.subject)}</h1><p>¥{escape(order.total_amount)}</p>"
            "</div></body></html>"
        ).encode()

    def _query(self, app: App, params: dict[str, str], biz: JSON) -> JSON:
        return self._find(app, biz).query()

    def _close(self, app: App, params: dict[str, str], biz: JSON) -> JSON:
        order = self._find(app, biz)
        if order.trade_status in PAID:
            raise _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if order.trade_status == "WAIT_BUYER_PAY":
            order.trade_status = "TRADE_CLOSED"
            order.gmt_close = _stamp()
        return {"trade_no": order.trade_no, "out_trade_no": order.out_trade_no}

    def _refund(self, app: App, params: dict[str, str], biz: JSON) -> JSON:
        """A synchronous refund; the same out_request_no again refunds nothing more."""
        order = self._find(app, biz)
        fen = _fen(biz, "refund_amount")
        given = _optional_text(biz, "out_request_no", max_len=64)
        out_request_no = given or order.out_trade_no  # what the gateway takes it to be
        reason = _optional_text(biz, "refund_reason")
        failed = {"out_trade_no": order.out_trade_no, "refund_fee": "0.00"}
        done = self.refunds.get((order.out_trade_no, out_request_no))
        if done is not None:
            if _to_fen(done.refund_amount) != fen:
                raise _business("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致", **failed)
            return self._refunded(order, fund_change="N")
        if order.gmt_payment is None:
            raise _business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法", **failed)
        if order.trade_status == "TRADE_FINISHED":
            raise _business("ACQ.TRADE_HAS_FINISHED", "交易已完结", **failed)
        total, refunded = _to_fen(order.total_amount), _to_fen(order.refund_fee)
        if (given is None and fen != total) or fen > total - refunded:
            raise _business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限", **failed)
        now = _stamp()
        self.refunds[order.out_trade_no, out_request_no] = Refund(
            app_id=app.app_id,
            out_trade_no=order.out_trade_no,
            trade_no=order.trade_no,
            out_request_no=out_request_no,
            refund_amount=_to_yuan(fen),
            gmt_refund_pay=now,
            refund_reason=reason,
        )
        order.refund_fee = _to_yuan(refunded + fen)
        if refunded + fen == total:
            order.trade_status = "TRADE_CLOSED"  # a fully refunded trade is closed
            order.gmt_close = now
        return self._refunded(order, fund_change="Y")

    def _refunded(self, order: Order, *, fund_change: str) -> JSON:
        latest = max(
            r.gmt_refund_pay for r in self.refunds.values() if r.out_trade_no == order.out_trade_no
        )
        data: JSON = {
            "trade_no": order.trade_no,
            "out_trade_no": order.out_trade_no,
            "buyer_logon_id": order.buyer_logon_id or "",
            "fund_change": fund_change,
            "refund_fee": order.refund_fee,
            "gmt_refund_pay": latest,
        }
        return data | order.buyer_fields()

    def _query_refund(self, app: App, params: dict[str, str], biz: JSON) -> JSON:
        """A refund by its out_request_no; none found answers Success with no refund data
        (the API's way of saying "no such refund")."""
        order = self._find(app, biz)
        out_request_no = _text(biz, "out_request_no", max_len=64)
        refund = self.refunds.get((order.out_trade_no, out_request_no))
        if refund is None:
            return {}
        return {
            "trade_no": order.trade_no,
            "out_trade_no": order.out_trade_no,
            "out_request_no": out_request_no,
            "total_amount": order.total_amount,
            "refund_amount": refund.refund_amount,
            "refund_status": refund.refund_status,
            "gmt_refund_pay": refund.gmt_refund_pay,
        }


def _params(query: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bool]:
    """The request's parameters: the query string's (where common parameters may travel,
    and where some SDKs put everything), then a form body's. ``False`` when they are not
    UTF-8 (the only charset spoken here)."""
    pairs: list[tuple[str, str]] = []
    try:
        pairs += parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
        form = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and form == "application/x-www-form-urlencoded":
            text = body.decode("utf-8")
            pairs += parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return {}, False
    return dict(pairs), True


def _biz(params: dict[str, str]) -> JSON:
    """``biz_content``: a JSON object (absent is ``{}``, which each API then refuses)."""
    text = params.get("biz_content")
    if not text:
        return {}
    try:
        biz = json.loads(text)
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        raise _invalid("isv.invalid-parameter", "biz_content 不是合法的 JSON 对象")
    return biz


def _error_page(node: JSON) -> bytes:
    """The page the cashier shows a request it refuses."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>支付宝 - 错误</title>"
        f"</head><body><div id='error' data-code='{escape(str(node['code']))}'"
        f" data-sub-code='{escape(str(node.get('sub_code', '')))}'>"
        f"<p>错误代码 {escape(str(node.get('sub_code', '')))}</p>"
        f"<p>{escape(str(node.get('sub_msg', '')))}</p></div></body></html>"
    ).encode()


def _reply(status: int, content_type: str, body: bytes, keep_alive: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        f"Date: {formatdate(usegmt=True)}",
        "Server: spanner/1.6.2",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
