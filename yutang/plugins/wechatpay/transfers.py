"""Merchant transfers (商家转账) paying other plugins' payouts, a distributor's withdrawals,
into the payee's WeChat balance.

Under the transfer-bills API a bill waits until its payee confirms it in the mini-program
(``wx.requestMerchantTransfer`` with the bill's ``package_info``), so the payee starts it:
the payout hook records the transfer, the promoter's client asks for it
(``receiveWeChatPayTransfer``, with their openid) and confirms, and the notification, or
the payout's next ask, finds it paid. A bill is never made twice: an attempt's
``out_bill_no`` is fixed before the platform is called, each call with it is idempotent
there, and another attempt starts only once the platform says the last one failed.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import msgspec
from tortoise.exceptions import IntegrityError

from yutang import api
from yutang.plugins.wechatpay import protocol
from yutang.plugins.wechatpay.client import NAME, Credentials, call, gateway_error, refusal
from yutang.plugins.wechatpay.models import WeChatPayTransfer
from yutang.plugins.wechatpay.settings import Settings, settings_of

BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
NAME_FROM = 30
"""Fen: the platform refuses a payee's name on smaller transfers."""
NAME_REQUIRED = 200_000
"""Fen: and requires it from 2,000 yuan."""
FAILED = ("FAIL", "CANCELLED")


class Payout(Protocol):
    """What the payout hook is given (the declaring plugin's own type, read by shape)."""

    member_id: int
    amount: int
    currency: str
    reference: str


class Confirmation(msgspec.Struct, frozen=True):
    """What ``wx.requestMerchantTransfer`` takes; ``package`` is None while the platform
    is still accepting the bill (ask again)."""

    mch_id: str
    app_id: str
    package: str | None


async def pay_out(tenant: api.TenantInfo, payout: Payout) -> bool | None:
    """The payout hook: a transfer the tenant's settings have WeChat Pay make (None when
    they do not); True once paid, False while it waits on its payee or the platform."""
    row = await WeChatPayTransfer.get_or_none(tenant_id=tenant.id, reference=payout.reference)
    if row is None:
        if not settings_of(tenant).transfer_scene_id or payout.currency != "CNY":
            return None
        if payout.amount <= 0:
            return None
        row = await _record(tenant, payout)
    if row.status == "open":
        ctx = await api.gateway_context(tenant, NAME)
        row = await _settle(row, await _bill(ctx, row.out_bill_no))
    return row.status == "paid"


async def _record(tenant: api.TenantInfo, payout: Payout) -> WeChatPayTransfer:
    try:
        return await WeChatPayTransfer.create(
            tenant_id=tenant.id,
            reference=payout.reference,
            member_id=payout.member_id,
            amount=payout.amount,
        )
    except IntegrityError:
        return await WeChatPayTransfer.get(tenant_id=tenant.id, reference=payout.reference)


async def receive(
    tenant: api.TenantInfo, member_id: int, reference: str, openid: str, name: str | None
) -> tuple[WeChatPayTransfer, Confirmation]:
    """The payee asks for their transfer: the open bill, or a new one if none is; what
    their mini-program confirms it with. ``name`` (their real name) is required from
    2,000 yuan, and sent to the platform encrypted, never stored."""
    api.bounded(reference, "reference", 128)
    if not openid or len(openid) > 64:
        raise api.DomainError("INVALID", "the payee's openid, 1 to 64 characters", "openid")
    row = await WeChatPayTransfer.get_or_none(
        tenant_id=tenant.id, reference=reference, member_id=member_id
    )
    if row is None:
        raise api.NotFound("transfer", "reference")
    if row.amount >= NAME_REQUIRED and not name:
        raise api.DomainError("REQUIRED", "a payee's name is required from 2,000 yuan", "name")
    ctx = await api.gateway_context(tenant, NAME)
    settings = settings_of(tenant)
    bill: dict[str, Any] = {}
    if row.status == "open":
        bill = await _create(ctx, settings, row, name)
        row = await _settle(row, bill)
    if row.status == "awaiting":
        row = await _next_attempt(tenant, row, openid)
        bill = await _create(ctx, settings, row, name)
        row = await _settle(row, bill)
    if row.status == "paid":
        raise api.DomainError("ILLEGAL_TRANSITION", "this transfer was received", "reference")
    if row.status == "awaiting":
        raise gateway_error(f"the transfer failed ({row.fail_reason})")
    if row.openid != openid:
        raise api.DomainError(
            "INVALID", "a transfer to another WeChat user is waiting to be confirmed", "openid"
        )
    c: Credentials = ctx.credentials
    package = bill.get("package_info")
    return row, Confirmation(c.mchid, c.appid, package if isinstance(package, str) else None)


async def _next_attempt(
    tenant: api.TenantInfo, row: WeChatPayTransfer, openid: str
) -> WeChatPayTransfer:
    """Open the next attempt's bill number, unless another request just did."""
    n = row.attempt + 1
    await WeChatPayTransfer.filter(id=row.id, status="awaiting", attempt=row.attempt).update(
        status="open", attempt=n, out_bill_no=f"YT{tenant.id}T{row.id}N{n}", openid=openid
    )
    await row.refresh_from_db()
    return row


async def _create(
    ctx: api.GatewayContext, settings: Settings, row: WeChatPayTransfer, name: str | None
) -> dict[str, Any]:
    """Create the attempt's bill, or hear how it stands (the same ``out_bill_no`` again)."""
    c: Credentials = ctx.credentials
    body: dict[str, Any] = {
        "appid": c.appid,
        "out_bill_no": row.out_bill_no,
        "transfer_scene_id": settings.transfer_scene_id,
        "openid": row.openid,
        "transfer_amount": row.amount,
        "transfer_remark": settings.remark,
        "transfer_scene_report_infos": [
            {"info_type": kind, "info_content": content}
            for kind, content in settings.report.items()
        ],
    }
    if ctx.callback_url:
        body["notify_url"] = ctx.callback_url
    if settings.perception:
        body["user_recv_perception"] = settings.perception
    if name and row.amount >= NAME_FROM:
        body["user_name"] = protocol.encrypt(c.platform_public_key, name)
    status, found = await call(ctx, "POST", BILLS, body)
    if status != 200:
        raise refusal(status, found)
    return found


async def _bill(ctx: api.GatewayContext, out_bill_no: str) -> dict[str, Any]:
    """The bill as the platform has it; empty if it has none (never made: not failed)."""
    status, found = await call(ctx, "GET", f"{BILLS}/out-bill-no/{quote(out_bill_no)}")
    if status == 404:
        return {}
    if status != 200:
        raise refusal(status, found)
    return found


async def _settle(row: WeChatPayTransfer, bill: dict[str, Any]) -> WeChatPayTransfer:
    """Record what the platform says of the open attempt's bill: paid, or failed (the
    attempt ends). Word of another bill, or an earlier attempt's, changes nothing."""
    if bill.get("out_bill_no") != row.out_bill_no or row.status != "open":
        return row
    amount = bill.get("transfer_amount", row.amount)
    if amount != row.amount:
        raise gateway_error(f"the bill {row.out_bill_no} there is of another amount")
    state = bill.get("state")
    changes: dict[str, Any]
    if state == "SUCCESS":
        changes = {"status": "paid", "paid_at": api.now()}
    elif state in FAILED:
        changes = {"status": "awaiting", "fail_reason": str(bill.get("fail_reason") or state)[:64]}
    else:
        return row
    number = bill.get("transfer_bill_no")
    if isinstance(number, str):
        changes["transfer_bill_no"] = number[:64]
    await WeChatPayTransfer.filter(id=row.id, status="open", out_bill_no=row.out_bill_no).update(
        **changes
    )
    await row.refresh_from_db()
    return row


async def notified(tenant: api.TenantInfo, resource: dict[str, Any]) -> None:
    """A ``MCHTRANSFER.BILL.FINISHED`` notification (verified, opened): its bill's end."""
    number = resource.get("out_bill_no")
    if not isinstance(number, str):
        return
    row = await WeChatPayTransfer.get_or_none(tenant_id=tenant.id, out_bill_no=number)
    if row is not None:
        await _settle(row, resource)
