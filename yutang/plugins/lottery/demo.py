"""The demo tenant's lottery: a points draw running for a month, one free draw a day."""

from __future__ import annotations

from datetime import timedelta

from yutang import api
from yutang.plugins.lottery.activities import ActivityInput, create_activity


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str:
    """Create the draw; what it made, for the log."""
    data = api.convert(
        {
            "name": "幸运大转盘",
            "startsAt": shop.now,
            "endsAt": shop.now + timedelta(days=30),
            "rules": "每次消耗100积分，每天免费抽一次。",
            "pointsPerDraw": 100,
            "freeDrawsPerDay": 1,
            "prizes": [
                {"name": "500积分", "kind": "points", "weight": 10, "amount": 500},
                {"name": "50积分", "kind": "points", "weight": 40, "amount": 50},
                {"name": "谢谢参与", "kind": "none", "weight": 50},
            ],
        },
        ActivityInput,
        "lottery",
    )
    await create_activity(tenant, data)
    return "lottery: 幸运大转盘, 100 points a draw and one free draw a day"
