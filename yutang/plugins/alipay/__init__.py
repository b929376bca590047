"""Alipay (支付宝): mini-program and H5 payments and refunds, each merchant with its own
Alipay app.

Enable ``alipay`` for a tenant in ``plugins.toml``; its owner sets the app's keys through
the admin API (``setPaymentCredentials``). The notification URL
``<public URL>/payments/<tenant>/alipay/callback`` is sent with every trade.
``docs/payments.md`` walks through it. Written against ``yutang.api`` only, as any
third-party plugin.
"""

from __future__ import annotations

from yutang import api
from yutang.plugins.alipay.provider import Alipay


@api.hookimpl
def yutang_payment_providers() -> list[api.PaymentProvider]:
    """The ``alipay`` provider."""
    return [Alipay()]
