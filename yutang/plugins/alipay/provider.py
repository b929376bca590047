"""The ``alipay`` payment provider: mini-program (``alipay.trade.create`` → ``tradeNO``
for ``my.tradePay``) and H5 (a signed ``alipay.trade.wap.pay`` URL) payments, query,
close and refunds, each merchant with its own app.

Every request is signed with the app's private key and every answer and notification is
checked against Alipay's public key before it is believed. ``YUTANG_ALIPAY_GATEWAY``
points the deployment at another gateway (a test double); by default the real one.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import httpx
import msgspec

from yutang import api
from yutang.plugins.alipay import protocol

NAME = "alipay"
GATEWAY = "https://openapi.alipay.com/gateway.do"
TIMEOUT = 10.0
CHINA = timezone(timedelta(hours=8))
_APP_ID = re.compile(r"\d{16}")
PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
H5_WINDOW = timedelta(minutes=15)
"""How long a signed H5 cashier URL can open a trade: until it does, Alipay knows no
trade to close, so a shopper who switched provider could still pay through it."""


class Credentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A merchant's Alipay app (open platform → the app → 开发设置)."""

    app_id: Annotated[str, msgspec.Meta(max_length=32)]
    """The app's APPID (16 digits)."""
    app_private_key: Annotated[str, msgspec.Meta(max_length=8000)]
    """The app's private key (RSA2), PEM or the key tool's bare base64."""
    alipay_public_key: Annotated[str, msgspec.Meta(max_length=4000)]
    """Alipay's public key for the app (支付宝公钥), PEM or bare base64."""


def _error(what: str) -> api.DomainError:
    return api.DomainError("GATEWAY_ERROR", f"Alipay: {what}")


def _refusal(node: Mapping[str, Any]) -> str:
    return f"{node.get('sub_code') or node.get('code')}: {node.get('sub_msg') or node.get('msg')}"


class Alipay:
    """The provider; one instance serves every tenant, each call with its own context."""

    name = NAME
    credentials: type[msgspec.Struct] | None = Credentials

    def check_credentials(self, credentials: Any) -> str:
        """Keys that parse and an APPID of 16 digits; the hint names the app."""
        c: Credentials = credentials
        if _APP_ID.fullmatch(c.app_id) is None:
            raise api.DomainError("INVALID", "an APPID is 16 digits", "credentials.app_id")
        for field, load in (
            ("app_private_key", protocol.private_key),
            ("alipay_public_key", protocol.public_key),
        ):
            try:
                load(getattr(c, field))
            except (ValueError, TypeError) as err:
                raise api.DomainError(
                    "INVALID", "not an RSA key of 2048 bits or more", f"credentials.{field}"
                ) from err
        return f"app {c.app_id}"

    def _params(
        self, ctx: api.GatewayContext, method: str, biz: dict[str, Any], notify: bool
    ) -> dict[str, str]:
        """The signed parameters of a call to ``method``."""
        c: Credentials = ctx.credentials
        params = {
            "app_id": c.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": msgspec.json.encode(biz).decode(),
        }
        if notify and ctx.callback_url:
            params["notify_url"] = ctx.callback_url
        params["sign"] = protocol.sign(c.app_private_key, protocol.signing_string(params))
        return params

    async def _call(
        self, ctx: api.GatewayContext, method: str, biz: dict[str, Any], notify: bool = False
    ) -> dict[str, Any]:
        """One signed call; the answer node Alipay signed (checked)."""
        c: Credentials = ctx.credentials
        params = self._params(ctx, method, biz, notify)
        try:
            async with (
                asyncio.timeout(TIMEOUT),
                httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http,
            ):
                answer = await http.post(_gateway(), data=params)
        except (httpx.HTTPError, TimeoutError) as err:
            raise _error(f"no answer ({type(err).__name__})") from err
        node = protocol.signed_node(answer.text, method, c.alipay_public_key)
        if node is None:
            raise _error(f"an answer ({answer.status_code}) not signed by Alipay")
        return node

    async def create(
        self, ctx: api.GatewayContext, payment: api.PaymentRequest
    ) -> api.PaymentIntent:
        """With the buyer's id (``buyer_open_id`` or ``buyer_id``, a mini-program), a
        trade whose ``tradeNO`` goes to ``my.tradePay``; without, the signed URL of
        Alipay's H5 cashier (``payUrl``)."""
        if payment.currency != "CNY":
            raise _error(f"payments are in CNY, not {payment.currency}")
        if not ctx.callback_url:
            raise _error("the deployment's public URL (YUTANG_PUBLIC_URL) is not set")
        if payment.expires_at < api.now() + timedelta(minutes=1):
            raise api.DomainError(
                "PAYMENT_EXPIRED", "too little time is left to pay through Alipay", "orderId"
            )
        expires = payment.expires_at
        biz: dict[str, Any] = {
            "out_trade_no": payment.reference,
            "total_amount": protocol.yuan(payment.amount),
            "subject": payment.description[:256] or payment.reference,
            "time_expire": expires.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
        }
        buyer = {k: v for k, v in payment.payer.items() if k in ("buyer_open_id", "buyer_id")}
        base = {"provider": NAME, "reference": payment.reference}
        if not buyer:  # the cashier page opens the trade: keep its window short
            cap = datetime.now(CHINA) + H5_WINDOW
            biz["time_expire"] = min(expires.astimezone(CHINA), cap).strftime("%Y-%m-%d %H:%M:%S")
            biz["product_code"] = "QUICK_WAP_WAY"
            params = self._params(ctx, "alipay.trade.wap.pay", biz, notify=True)
            return api.PaymentIntent(
                client_data={**base, "payUrl": f"{_gateway()}?{urlencode(params)}"}
            )
        c: Credentials = ctx.credentials
        mini = {"product_code": "JSAPI_PAY", "op_app_id": c.app_id, **buyer}
        node = await self._call(ctx, "alipay.trade.create", {**biz, **mini}, notify=True)
        if node.get("code") != "10000" or not node.get("trade_no"):
            raise _error(_refusal(node))
        return api.PaymentIntent(client_data={**base, "tradeNO": node["trade_no"]})

    async def query(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        """TRADE_SUCCESS and TRADE_FINISHED are captured; WAIT_BUYER_PAY, and a trade
        Alipay has not seen yet (the H5 cashier not opened), wait; TRADE_CLOSED is closed."""
        node = await self._call(ctx, "alipay.trade.query", {"out_trade_no": reference})
        if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return api.GatewayPayment("pending")
        if node.get("code") != "10000":
            raise _error(_refusal(node))
        if node.get("out_trade_no") not in (None, reference):
            raise _error(f"the query answer is about another trade than {reference}")
        status = node.get("trade_status")
        if status in PAID:
            amount = protocol.fen(node.get("total_amount"))
            if amount is None:
                raise _error("a trade without an amount")
            return api.GatewayPayment("captured", amount)
        return api.GatewayPayment("pending" if status == "WAIT_BUYER_PAY" else "closed")

    async def close(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        """Close the trade; one already paid is answered as captured (asked how much)."""
        node = await self._call(ctx, "alipay.trade.close", {"out_trade_no": reference})
        if node.get("sub_code") == "ACQ.TRADE_STATUS_ERROR":
            return await self.query(ctx, reference)
        if node.get("code") != "10000" and node.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise _error(_refusal(node))
        return api.GatewayPayment("closed")

    async def refund(self, ctx: api.GatewayContext, refund: api.RefundRequest) -> api.RefundState:
        """Alipay refunds at once when it answers ``fund_change: Y``; otherwise (asked
        again, or not settled yet) the refund query says how it stands. The same
        ``out_request_no`` again refunds nothing more."""
        node = await self._call(
            ctx,
            "alipay.trade.refund",
            {
                "out_trade_no": refund.payment_reference,
                "refund_amount": protocol.yuan(refund.amount),
                "out_request_no": refund.refund_reference,
            },
        )
        if node.get("code") != "10000":
            raise _error(_refusal(node))
        if node.get("out_trade_no") != refund.payment_reference:
            raise _error(
                f"the refund answer is about another trade than {refund.payment_reference}"
            )
        if node.get("fund_change") == "Y":
            return "refunded"
        asked = await self._call(
            ctx,
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": refund.payment_reference, "out_request_no": refund.refund_reference},
        )
        if asked.get("code") != "10000":
            raise _error(_refusal(asked))
        if asked.get("refund_status") is None:
            return "pending"
        same = protocol.fen(asked.get("refund_amount")) == refund.amount
        if asked.get("refund_status") == "REFUND_SUCCESS" and same:
            return "refunded"
        raise _error(f"the refund {refund.refund_reference} is {asked.get('refund_status')}")

    async def notification(
        self, ctx: api.GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> api.Notification | None:
        """A form signed by Alipay's key about this app; a capture when it says the trade
        was paid, else nothing to record (a close, a refund's sync), accepted as such."""
        c: Credentials = ctx.credentials
        try:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            return None
        message = protocol.signing_string(params, leave_out=("sign", "sign_type"), empty=True)
        if not protocol.verify(c.alipay_public_key, message, params.get("sign", "")):
            return None
        if params.get("app_id") != c.app_id:
            return None
        if params.get("trade_status") not in PAID or params.get("refund_fee"):
            return api.Notification()
        amount = protocol.fen(params.get("total_amount"))
        if amount is None or not params.get("out_trade_no"):
            return None
        return api.Notification(capture=api.Capture(params["out_trade_no"], amount))

    def answer(self, accepted: bool) -> api.CallbackAnswer:
        """The plain ``success`` Alipay wants; anything else has it send again."""
        return api.CallbackAnswer(200, b"success" if accepted else b"fail", "text/plain")


def _gateway() -> str:
    return os.environ.get("YUTANG_ALIPAY_GATEWAY", GATEWAY)
