"""The ``wechatpay`` payment provider: JSAPI / mini-program payments, query, close,
refunds and their notifications, each merchant with its own credentials.

Every call is signed with the merchant's API key and every answer is checked against
the platform's public key before it is believed. ``YUTANG_WECHATPAY_API`` points the
deployment at another gateway address (a test double); by default the real one.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import msgspec

from yutang import api
from yutang.plugins.wechatpay import protocol

NAME = "wechatpay"
API = "https://api.mch.weixin.qq.com"
TIMEOUT = 10.0
CHINA = timezone(timedelta(hours=8))
_MCHID = re.compile(r"\d{8,12}")
_APPID = re.compile(r"wx[0-9a-f]{16}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{8,64}")


class Credentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A merchant's WeChat Pay credentials (merchant platform → 账户中心 → API安全)."""

    appid: Annotated[str, msgspec.Meta(max_length=32)]
    """The mini-program's (or 公众号's) AppID the merchant is bound to."""
    mchid: Annotated[str, msgspec.Meta(max_length=32)]
    """The merchant id (商户号)."""
    serial_no: Annotated[str, msgspec.Meta(max_length=64)]
    """The serial number of the merchant's API certificate."""
    private_key: Annotated[str, msgspec.Meta(max_length=8000)]
    """The API private key, PEM (``apiclient_key.pem``)."""
    apiv3_key: Annotated[str, msgspec.Meta(min_length=32, max_length=32)]
    """The 32-character APIv3 key that encrypts notifications."""
    platform_public_key: Annotated[str, msgspec.Meta(max_length=4000)]
    """The WeChat Pay public key, PEM (微信支付公钥)."""
    platform_public_key_id: Annotated[str, msgspec.Meta(max_length=64)]
    """Its id, ``PUB_KEY_ID_…``."""


def _gateway_error(what: str) -> api.DomainError:
    return api.DomainError("GATEWAY_ERROR", f"WeChat Pay: {what}")


class WeChatPay:
    """The provider; one instance serves every tenant, each call with its own context."""

    name = NAME
    credentials: type[msgspec.Struct] | None = Credentials

    def check_credentials(self, credentials: Any) -> str:
        """Keys that parse, ids of the right shape; the hint names the merchant."""
        c: Credentials = credentials
        checks = (
            ("appid", _APPID.fullmatch(c.appid) is not None, "an AppID is wx and 16 hex digits"),
            ("mchid", _MCHID.fullmatch(c.mchid) is not None, "a merchant id is 8 to 12 digits"),
            ("serial_no", _SERIAL.fullmatch(c.serial_no) is not None, "a serial is hexadecimal"),
            ("apiv3_key", c.apiv3_key.isascii(), "the APIv3 key is 32 ASCII characters"),
            (
                "platform_public_key_id",
                c.platform_public_key_id.startswith("PUB_KEY_ID_"),
                "the public key's id starts with PUB_KEY_ID_",
            ),
        )
        for field, ok, why in checks:
            if not ok:
                raise api.DomainError("INVALID", why, f"credentials.{field}")
        for field, load in (
            ("private_key", protocol.private_key),
            ("platform_public_key", protocol.public_key),
        ):
            try:
                load(getattr(c, field))
            except (ValueError, TypeError) as err:
                raise api.DomainError(
                    "INVALID", "not a PEM RSA key of 2048 bits or more", f"credentials.{field}"
                ) from err
        return f"mchid {c.mchid}, appid {c.appid}, API key serial …{c.serial_no[-6:]}"

    async def _call(
        self, ctx: api.GatewayContext, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """One signed call; its status and the JSON the platform signed (checked)."""
        c: Credentials = ctx.credentials
        text = msgspec.json.encode(body).decode() if body is not None else ""
        headers = {
            "Authorization": protocol.authorization(
                c.mchid, c.serial_no, c.private_key, method, path, text
            ),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Wechatpay-Serial": c.platform_public_key_id,
            "User-Agent": "yutang",
        }
        base = os.environ.get("YUTANG_WECHATPAY_API", API).rstrip("/")
        try:
            async with (
                asyncio.timeout(TIMEOUT),
                httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http,
            ):
                answer = await http.request(method, base + path, content=text, headers=headers)
        except (httpx.HTTPError, TimeoutError) as err:
            raise _gateway_error(f"no answer ({type(err).__name__})") from err
        signed = protocol.signed_by_platform(
            answer.headers, answer.content, c.platform_public_key_id, c.platform_public_key
        )
        if not signed:
            raise _gateway_error(f"an answer ({answer.status_code}) not signed by the platform")
        if not answer.content:
            return answer.status_code, {}
        try:
            found = msgspec.json.decode(answer.content)
        except msgspec.DecodeError as err:
            raise _gateway_error("an answer that is not JSON") from err
        return answer.status_code, found if isinstance(found, dict) else {}

    async def create(
        self, ctx: api.GatewayContext, payment: api.PaymentRequest
    ) -> api.PaymentIntent:
        """A JSAPI order; the client gets the signed ``requestPayment`` parameters."""
        c: Credentials = ctx.credentials
        openid = payment.payer.get("openid")
        if not openid:
            raise api.DomainError("REQUIRED", "WeChat Pay needs the payer's openid", "payer.openid")
        if payment.currency != "CNY":
            raise _gateway_error(f"JSAPI payments are in CNY, not {payment.currency}")
        if not ctx.callback_url:
            raise _gateway_error("the deployment's public URL (YUTANG_PUBLIC_URL) is not set")
        if payment.expires_at < api.now() + timedelta(minutes=1):
            raise api.DomainError(
                "PAYMENT_EXPIRED", "too little time is left to pay through WeChat Pay", "orderId"
            )
        expires = payment.expires_at
        status, found = await self._call(
            ctx,
            "POST",
            "/v3/pay/transactions/jsapi",
            {
                "appid": c.appid,
                "mchid": c.mchid,
                "description": payment.description[:127] or payment.reference,
                "out_trade_no": payment.reference,
                "time_expire": expires.astimezone(CHINA).isoformat(timespec="seconds"),
                "notify_url": ctx.callback_url,
                "amount": {"total": payment.amount, "currency": "CNY"},
                "payer": {"openid": openid},
            },
        )
        prepay = found.get("prepay_id")
        if status != 200 or not isinstance(prepay, str):
            raise _gateway_error(f"{found.get('code', status)}: {found.get('message', '')}")
        return api.PaymentIntent(
            client_data={
                "provider": NAME,
                "reference": payment.reference,
                "requestPayment": protocol.request_payment(c.appid, c.private_key, prepay),
            }
        )

    async def query(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        """SUCCESS (or REFUND, paid then refunded) is captured; NOTPAY and USERPAYING
        wait; CLOSED, REVOKED, PAYERROR and an order the gateway never made are closed."""
        c: Credentials = ctx.credentials
        path = f"/v3/pay/transactions/out-trade-no/{quote(reference)}?mchid={c.mchid}"
        status, found = await self._call(ctx, "GET", path)
        if status == 404:
            return api.GatewayPayment("closed")
        if status != 200:
            raise _gateway_error(f"{found.get('code', status)}: {found.get('message', '')}")
        state = found.get("trade_state")
        if state in ("SUCCESS", "REFUND"):
            return api.GatewayPayment("captured", int(found.get("amount", {}).get("total", 0)))
        if state in ("NOTPAY", "USERPAYING"):
            return api.GatewayPayment("pending")
        return api.GatewayPayment("closed")

    async def close(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        """Close the order; one already paid is answered as captured (asked how much)."""
        c: Credentials = ctx.credentials
        path = f"/v3/pay/transactions/out-trade-no/{quote(reference)}/close"
        status, found = await self._call(ctx, "POST", path, {"mchid": c.mchid})
        code = found.get("code")
        if code == "ORDERPAID":
            return await self.query(ctx, reference)
        if status not in (200, 204) and code not in ("ORDER_CLOSED", "ORDER_NOT_EXIST"):
            raise _gateway_error(f"{code or status}: {found.get('message', '')}")
        return api.GatewayPayment("closed")

    async def refund(self, ctx: api.GatewayContext, refund: api.RefundRequest) -> api.RefundState:
        """Asked first how the refund stands (a retry, or a crash after asking), made if
        the gateway has none under its reference; one there of another payment or
        amount (another database's, sharing the merchant account) is never taken for it."""
        path = f"/v3/refund/domestic/refunds/{quote(refund.refund_reference)}"
        status, found = await self._call(ctx, "GET", path)
        if status == 404:
            body: dict[str, Any] = {
                "out_trade_no": refund.payment_reference,
                "out_refund_no": refund.refund_reference,
                "amount": {
                    "refund": refund.amount,
                    "total": refund.payment_amount,
                    "currency": "CNY",
                },
            }
            if ctx.callback_url:
                body["notify_url"] = ctx.callback_url
            status, found = await self._call(ctx, "POST", "/v3/refund/domestic/refunds", body)
        if status != 200:
            raise _gateway_error(f"{found.get('code', status)}: {found.get('message', '')}")
        amount = found.get("amount") or {}
        if found.get("out_trade_no") != refund.payment_reference or (
            amount.get("refund") != refund.amount
        ):
            raise _gateway_error(
                f"the refund {refund.refund_reference} there is of another payment or amount"
            )
        state = found.get("status")
        if state == "SUCCESS":
            return "refunded"
        if state == "PROCESSING":
            return "pending"
        raise _gateway_error(f"the refund {refund.refund_reference} is {state}")

    async def notification(
        self, ctx: api.GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> api.Notification | None:
        """Signed by the platform key within five minutes, opened with the APIv3 key,
        and about this merchant and app; a payment's or a refund's."""
        c: Credentials = ctx.credentials
        if not protocol.signed_by_platform(
            headers, body, c.platform_public_key_id, c.platform_public_key
        ):
            return None
        try:
            envelope = msgspec.json.decode(body)
            opened = protocol.decrypt(c.apiv3_key, envelope["resource"])
            resource = msgspec.json.decode(opened) if opened is not None else None
        except (msgspec.DecodeError, KeyError, TypeError):
            return None
        if not isinstance(envelope, dict) or not isinstance(resource, dict):
            return None
        if resource.get("mchid") != c.mchid:
            return None
        kind = envelope.get("event_type", "")
        if kind == "TRANSACTION.SUCCESS" and resource.get("appid") == c.appid:
            amount = (resource.get("amount") or {}).get("total")
            reference = resource.get("out_trade_no")
            paid = resource.get("trade_state") == "SUCCESS"
            if not paid or not isinstance(amount, int) or not isinstance(reference, str):
                return None
            return api.Notification(capture=api.Capture(reference, amount))
        if kind.startswith("REFUND.") and isinstance(resource.get("out_refund_no"), str):
            return api.Notification(refund_reference=resource["out_refund_no"])
        return api.Notification()  # genuine, about nothing the core records: accepted

    def answer(self, accepted: bool) -> api.CallbackAnswer:
        """204 when recorded; a 500 with ``FAIL`` has the platform send it again."""
        if accepted:
            return api.CallbackAnswer(204, b"")
        return api.CallbackAnswer(500, b'{"code":"FAIL","message":"not recorded"}')
