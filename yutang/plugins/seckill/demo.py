"""The demo tenant's seckill: one activity with a session open now and one starting in an
hour, at half price."""

from __future__ import annotations

from datetime import timedelta

from yutang import api
from yutang.plugins.seckill.activities import ActivityInput, create_activity

LATER = timedelta(hours=1)
LASTS = timedelta(days=30)


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """Create the activity on this plugin's demo product; what it made, for the log."""
    skus = shop.skus_for("seckill")
    if not skus:
        return None
    now, first, second = shop.now, skus[0], skus[-1]
    later = now + LATER
    # One SKU serves both sessions only one after the other.
    first_ends = later if first.id == second.id else now + LASTS

    def session(sku: api.SkuSummary, start: object, end: object) -> dict[str, object]:
        item = {"skuId": sku.id, "price": sku.price // 2, "stock": 20}
        return {"startsAt": start, "endsAt": end, "items": [item]}

    data = api.convert(
        {
            "name": "限时秒杀",
            "startsAt": now,
            "endsAt": now + LASTS,
            "memberLimit": 2,
            "sessions": [session(first, now, first_ends), session(second, later, now + LASTS)],
        },
        ActivityInput,
        "seckill",
    )
    await create_activity(tenant, data)
    return f"seckill: {first.product_name} half price, a session open now and one in an hour"
