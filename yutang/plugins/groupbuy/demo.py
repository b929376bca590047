"""The demo tenant's group buy: teams of two at 80 % of the list price for a month."""

from __future__ import annotations

from datetime import timedelta

from yutang import api
from yutang.plugins.groupbuy.activities import ActivityInput, create_activity


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """Create the activity on this plugin's demo product; what it made, for the log."""
    skus = shop.skus_for("groupbuy")
    if not skus:
        return None
    data = api.convert(
        {
            "name": "两人拼团",
            "startsAt": shop.now,
            "endsAt": shop.now + timedelta(days=30),
            "teamSize": 2,
            "validityMinutes": 24 * 60,
            "items": [{"skuId": s.id, "price": s.price * 8 // 10} for s in skus],
        },
        ActivityInput,
        "groupbuy",
    )
    await create_activity(tenant, data)
    return f"group buy: {skus[0].product_name} for two at 80 %"
