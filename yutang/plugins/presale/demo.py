"""The demo tenant's presale: a deposit that counts double, paid now, the balance a week
later."""

from __future__ import annotations

from datetime import timedelta

from yutang import api
from yutang.plugins.presale.activities import PresaleInput, create_presale

WEEK = timedelta(days=7)


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """Create the presale on this plugin's demo product; what it made, for the log."""
    skus = shop.skus_for("presale")
    if not skus:
        return None
    sku, now = skus[0], shop.now
    deposit = sku.price // 10
    data = api.convert(
        {
            "name": f"{sku.product_name} 预售",
            "skuId": sku.id,
            "deposit": deposit,
            "deduction": deposit * 2,
            "price": sku.price * 9 // 10,
            "depositStartsAt": now,
            "depositEndsAt": now + WEEK,
            "balanceStartsAt": now + WEEK,
            "balanceEndsAt": now + 2 * WEEK,
            "stock": 50,
            "memberLimit": 2,
        },
        PresaleInput,
        "presale",
    )
    await create_presale(tenant, data)
    return f"presale: {sku.product_name}, deposit ¥{deposit / 100:.2f} counts double"
