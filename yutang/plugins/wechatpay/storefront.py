"""Storefront GraphQL: my WeChat Pay transfers (withdrawals paid into my WeChat balance),
and asking for one to confirm it in the mini-program."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from yutang import api
from yutang.plugins.wechatpay import transfers
from yutang.plugins.wechatpay.models import WeChatPayTransfer


@strawberry.enum(name="WeChatPayTransferStatus")
class TransferStatus(Enum):
    AWAITING = "awaiting"
    OPEN = "open"
    PAID = "paid"


@strawberry.type(name="WeChatPayTransfer")
class TransferNode(api.Node):
    reference: str = strawberry.field(description="The payout's own reference.")
    amount: api.MoneyType
    status: TransferStatus = strawberry.field(
        description="AWAITING: ask for it (receiveWeChatPayTransfer); OPEN: waiting for "
        "the payee to confirm it, or for WeChat Pay; PAID: in the payee's WeChat balance."
    )
    fail_reason: str = strawberry.field(
        description="Why the last attempt failed (a WeChat Pay code), or empty."
    )
    created_at: datetime
    paid_at: datetime | None


@strawberry.type(name="WeChatPayTransferConfirmation")
class ConfirmationNode:
    """The parameters of ``wx.requestMerchantTransfer``."""

    mch_id: str
    app_id: str
    package: str | None = strawberry.field(
        description="The bill's package_info; null while WeChat Pay is still accepting it "
        "(ask again)."
    )


@strawberry.type(name="ReceiveWeChatPayTransferPayload")
class ReceivePayload:
    transfer: TransferNode | None = None
    confirmation: ConfirmationNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


def transfer_node(tenant: api.TenantInfo, row: WeChatPayTransfer) -> TransferNode:
    """A transfer as GraphQL shows it."""
    return TransferNode(
        id=strawberry.ID(api.to_global("WeChatPayTransfer", row.id)),
        reference=row.reference,
        amount=api.MoneyType.of(row.amount, tenant.currency),
        status=TransferStatus(row.status),
        fail_reason=row.fail_reason,
        created_at=row.created_at,
        paid_at=row.paid_at,
    )


async def _transfer(info: api.Info, pk: int) -> TransferNode | None:
    """The caller's own transfer."""
    ctx = info.context
    member_id = await ctx.optional_member_id()
    row = (
        await WeChatPayTransfer.get_or_none(tenant_id=ctx.tenant.id, id=pk, member_id=member_id)
        if member_id is not None
        else None
    )
    return transfer_node(ctx.tenant, row) if row else None


async def my_we_chat_pay_transfers(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[TransferNode]:
    """My transfers into my WeChat balance, newest first."""
    ctx = info.context
    query = WeChatPayTransfer.filter(tenant_id=ctx.tenant.id, member_id=await ctx.member_id())
    return await api.keyset_page(
        query, first, after, lambda rows: [transfer_node(ctx.tenant, r) for r in rows]
    )


async def receive_we_chat_pay_transfer(
    info: api.Info, reference: str, openid: str, name: str | None = None
) -> ReceivePayload:
    """Ask for my transfer to confirm it in the mini-program: pass ``confirmation`` to
    ``wx.requestMerchantTransfer``. ``openid`` is mine in the shop's mini-program;
    ``name`` (my real name) is needed from 2,000 yuan. Asking again answers the same
    transfer until it is received, or starts another once WeChat Pay failed the last."""
    ctx = info.context
    try:
        row, confirmation = await transfers.receive(
            ctx.tenant, await ctx.member_id(), reference, openid, name
        )
    except api.DomainError as err:
        return ReceivePayload(errors=[api.UserError.of(err)])
    return ReceivePayload(
        transfer=transfer_node(ctx.tenant, row),
        confirmation=ConfirmationNode(
            mch_id=confirmation.mch_id, app_id=confirmation.app_id, package=confirmation.package
        ),
    )


def contribution() -> api.GraphQLContribution:
    """The storefront schema's WeChat Pay fields."""
    return api.GraphQLContribution(
        query=[api.field(my_we_chat_pay_transfers, name="myWeChatPayTransfers")],
        mutation=[api.mutation(receive_we_chat_pay_transfer, name="receiveWeChatPayTransfer")],
        nodes=[api.NodeType(TransferNode, _transfer)],
    )
