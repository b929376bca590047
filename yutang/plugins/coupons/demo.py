"""The demo tenant's coupons: two templates any member may claim now."""

from __future__ import annotations

from yutang import api
from yutang.plugins.coupons.templates import TemplateInput, create_template

TEMPLATES = (
    {"name": "新人券 满50减10", "kind": "fixed", "value": 1000, "minSpend": 5000},
    {"name": "9折券 最高减50", "kind": "percent", "value": 10, "maxDiscount": 5000},
)


async def seed(tenant: api.TenantInfo, shop: api.DemoShop) -> str:
    """Create the templates, claimable for 30 days after claiming; what it made."""
    for raw in TEMPLATES:
        template = {**raw, "validDays": 30, "total": 1000, "perMember": 1, "claimable": True}
        await create_template(tenant, api.convert(template, TemplateInput, "coupons"))
    return "coupons: 新人券 满50减10 and 9折券 to claim"
