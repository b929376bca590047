"""WeChat Pay (微信支付) API v3: mini-program and 公众号 (JSAPI) payments and refunds,
each merchant with its own credentials, and merchant transfers (商家转账) that pay a
distributor's withdrawals into the promoter's WeChat balance.

Enable ``wechatpay`` for a tenant in ``plugins.toml``; its owner sets the merchant's
credentials through the admin API (``setPaymentCredentials``), and the merchant registers
the callback URL ``<public URL>/payments/<tenant>/wechatpay/callback`` — sent with every
order, so nothing needs registering by hand. Transfers start once the tenant's settings
name a transfer scene. ``docs/payments.md`` walks through it. Written against
``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

import msgspec

from yutang import api
from yutang.plugins.wechatpay import transfers
from yutang.plugins.wechatpay.provider import WeChatPay
from yutang.plugins.wechatpay.settings import Settings
from yutang.plugins.wechatpay.storefront import contribution


@api.hookimpl
def yutang_payment_providers() -> list[api.PaymentProvider]:
    """The ``wechatpay`` provider."""
    return [WeChatPay()]


@api.hookimpl
def yutang_models() -> str:
    """Merchant transfers."""
    return "yutang.plugins.wechatpay.models"


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    """The transfer scene that pays withdrawals out."""
    return Settings


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    """My transfers, and asking for one."""
    return contribution()


@api.hookimpl(optionalhook=True)
async def yutang_distributor_payout(
    tenant: api.TenantInfo, payout: transfers.Payout
) -> bool | None:
    """Pay a distributor's withdrawal by merchant transfer (the distributor plugin
    declares this hook; without it, nothing calls it)."""
    return await transfers.pay_out(tenant, payout)
