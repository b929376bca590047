"""The demo tenant's pickup: every store open 09:00–21:00 daily with two slots a day,
offering every SKU."""

from __future__ import annotations

from yutang import api
from yutang.plugins.pickup.stores import StoreInput, save_store

DAYS = range(1, 8)
SLOTS = (("10:00", "12:00"), ("14:00", "18:00"))


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str | None:
    """Save each store's pickup details; what it made, for the log."""
    for store_id in shop.store_ids:
        data = {
            "storeId": store_id,
            "enabled": True,
            "phone": "0571-88888888",
            "hours": [{"weekday": d, "opens": "09:00", "closes": "21:00"} for d in DAYS],
            "slots": [
                {"weekday": d, "starts": s, "ends": e, "capacity": 20}
                for d in DAYS
                for s, e in SLOTS
            ],
            "allSkus": True,
        }
        await save_store(tenant, api.convert(data, StoreInput, "pickup"))
    if not shop.store_ids:
        return None
    return f"pickup: {len(shop.store_ids)} store(s), 10:00–12:00 and 14:00–18:00 slots daily"
