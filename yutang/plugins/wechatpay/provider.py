"""The ``wechatpay`` payment provider: JSAPI / mini-program payments, query, close,
refunds and their notifications, each merchant with its own credentials.

Every call is signed with the merchant's API key and every answer is checked against
the platform's public key before it is believed (``client``). A transfer's notification
(it pays a withdrawal out) is recorded by ``transfers``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import quote

import msgspec

from yutang import api
from yutang.plugins.wechatpay import protocol, transfers
from yutang.plugins.wechatpay.client import NAME, Credentials, call, gateway_error, refusal

CHINA = timezone(timedelta(hours=8))
_MCHID = re.compile(r"\d{8,12}")
_APPID = re.compile(r"wx[0-9a-f]{16}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{8,64}")


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

    async def create(
        self, ctx: api.GatewayContext, payment: api.PaymentRequest
    ) -> api.PaymentIntent:
        """A JSAPI order; the client gets the signed ``requestPayment`` parameters."""
        c: Credentials = ctx.credentials
        openid = payment.payer.get("openid")
        if not openid:
            raise api.DomainError("REQUIRED", "WeChat Pay needs the payer's openid", "payer.openid")
        if payment.currency != "CNY":
            raise gateway_error(f"JSAPI payments are in CNY, not {payment.currency}")
        if not ctx.callback_url:
            raise gateway_error("the deployment's public URL (YUTANG_PUBLIC_URL) is not set")
        if payment.expires_at < api.now() + timedelta(minutes=1):
            raise api.DomainError(
                "PAYMENT_EXPIRED", "too little time is left to pay through WeChat Pay", "orderId"
            )
        expires = payment.expires_at
        status, found = await call(
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
            raise refusal(status, found)
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
        status, found = await call(ctx, "GET", path)
        if status == 404:
            return api.GatewayPayment("closed")
        if status != 200:
            raise refusal(status, found)
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
        status, found = await call(ctx, "POST", path, {"mchid": c.mchid})
        code = found.get("code")
        if code == "ORDERPAID":
            return await self.query(ctx, reference)
        if status not in (200, 204) and code not in ("ORDER_CLOSED", "ORDER_NOT_EXIST"):
            raise gateway_error(f"{code or status}: {found.get('message', '')}")
        return api.GatewayPayment("closed")

    async def refund(self, ctx: api.GatewayContext, refund: api.RefundRequest) -> api.RefundState:
        """Asked first how the refund stands (a retry, or a crash after asking), made if
        the gateway has none under its reference; one there of another payment or
        amount (another database's, sharing the merchant account) is never taken for it."""
        path = f"/v3/refund/domestic/refunds/{quote(refund.refund_reference)}"
        status, found = await call(ctx, "GET", path)
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
            status, found = await call(ctx, "POST", "/v3/refund/domestic/refunds", body)
        if status != 200:
            raise refusal(status, found)
        amount = found.get("amount") or {}
        if found.get("out_trade_no") != refund.payment_reference or (
            amount.get("refund") != refund.amount
        ):
            raise gateway_error(
                f"the refund {refund.refund_reference} there is of another payment or amount"
            )
        state = found.get("status")
        if state == "SUCCESS":
            return "refunded"
        if state == "PROCESSING":
            return "pending"
        raise gateway_error(f"the refund {refund.refund_reference} is {state}")

    async def notification(
        self, ctx: api.GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> api.Notification | None:
        """Signed by the platform key within five minutes, opened with the APIv3 key,
        and about this merchant and app; a payment's or a refund's, or a transfer's
        (recorded here: transfers are this plugin's own)."""
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
        kind = envelope.get("event_type", "")
        if kind.startswith("MCHTRANSFER."):
            if resource.get("mch_id") != c.mchid:
                return None
            await transfers.notified(ctx.tenant, resource)
            return api.Notification()
        if resource.get("mchid") != c.mchid:
            return None
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
