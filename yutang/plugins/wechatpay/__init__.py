"""WeChat Pay (微信支付) API v3: mini-program and 公众号 (JSAPI) payments and refunds,
each merchant with its own credentials.

Enable ``wechatpay`` for a tenant in ``plugins.toml``; its owner sets the merchant's
credentials through the admin API (``setPaymentCredentials``), and the merchant registers
the callback URL ``<public URL>/payments/<tenant>/wechatpay/callback`` — sent with every
order, so nothing needs registering by hand. ``docs/payments.md`` walks through it.
Written against ``yutang.api`` only, as any third-party plugin.
"""

from __future__ import annotations

from yutang import api
from yutang.plugins.wechatpay.provider import WeChatPay


@api.hookimpl
def yutang_payment_providers() -> list[api.PaymentProvider]:
    """The ``wechatpay`` provider."""
    return [WeChatPay()]
