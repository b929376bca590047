"""The demo tenant's full reduction: a 满减 ladder on the whole shop for a year."""

from __future__ import annotations

from datetime import timedelta

from yutang import api
from yutang.plugins.fullreduction.rules import RuleInput, create_rule

LADDER = ((9900, 1000), (19900, 3000), (39900, 8000))


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str:
    """Create the ladder; what it made, for the log."""
    data = api.convert(
        {
            "name": "满99减10 满199减30 满399减80",
            "startsAt": shop.now,
            "endsAt": shop.now + timedelta(days=365),
            "mode": "ladder",
            "tiers": [{"threshold": t, "off": off} for t, off in LADDER],
        },
        RuleInput,
        "fullreduction",
    )
    await create_rule(tenant, data)
    return "full reduction: 满99减10, 满199减30, 满399减80 on everything"
