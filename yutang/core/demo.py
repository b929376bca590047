"""The demo tenant: a small tea shop catalogue, shipping, members with addresses and staff,
then every enabled plugin's live play (``yutang_demo_data``), loaded with progress."""

from __future__ import annotations

from collections.abc import Callable

from yutang.core import auth, clock
from yutang.core.catalog import ProductInput, SkuInput, save_category, save_product
from yutang.core.contract import DemoShop, TenantInfo
from yutang.core.members import change_points
from yutang.core.models import (
    Address,
    Member,
    MemberLevel,
    Product,
    Sku,
    Staff,
    Store,
    StoreStaff,
    Tenant,
)
from yutang.core.plugins import CORE_PLUGIN, hooks_of
from yutang.core.runtime import Runtime
from yutang.core.shipping import Rule, TemplateInput, save_template
from yutang.core.views import sku_summaries

PRODUCTS = [
    (
        "茶叶",
        "西湖龙井 明前特级",
        ["新茶", "礼盒"],
        [("规格", "50g", 12800, 40), ("规格", "100g", 23800, 25)],
    ),
    ("茶叶", "安溪铁观音 清香型", [], [("规格", "125g", 6800, 60), ("规格", "250g", 12800, 30)]),
    ("茶叶", "云南普洱 熟茶饼", [], [("规格", "357g", 19800, 20)]),
    ("茶具", "宜兴紫砂壶 西施", ["礼盒"], [("颜色", "朱泥", 50000, 3), ("颜色", "紫泥", 45000, 5)]),
    ("茶具", "青瓷品茗杯", [], [("颜色", "粉青", 3800, 100), ("颜色", "梅子青", 3800, 80)]),
    ("茶点", "桂花糕礼盒", ["礼盒"], [("规格", "6枚", 3900, 50), ("规格", "12枚", 6900, 40)]),
]


async def load_demo(runtime: Runtime, slug: str, progress: Callable[[str], None]) -> None:
    """Create the demo tenant with catalogue, levels, a store, staff and members, then
    each enabled plugin's live activities, once."""
    await Tenant.get_or_create(slug=slug, defaults={"name": "Yutang Tea House"})
    tenant = await runtime.tenants.by_slug(slug)
    if await Product.exists(tenant_id=tenant.id):
        progress(f"demo tenant {slug!r} already loaded")
        return
    await save_template(
        tenant,
        TemplateInput(
            name="全国快递",
            first_fee=800,
            additional_fee=200,
            free_over=9900,
            rules=[
                Rule(regions=["540000", "650000", "150000"], first_fee=2000, additional_fee=1000)
            ],
            excluded=["710000", "810000", "820000"],
            is_default=True,
        ),
    )
    progress("shipping: ¥8 (¥20 to remote regions), free over ¥99")
    categories: dict[str, int] = {}
    for i, (cat, name, tags, skus) in enumerate(PRODUCTS, 1):
        if cat not in categories:
            categories[cat] = (await save_category(tenant, cat, None)).id
        spec = skus[0][0]
        await save_product(
            tenant,
            ProductInput(
                name=name,
                category_id=categories[cat],
                published=True,
                spec_names=[spec],
                images=[f"https://img.example.com/demo/{i}.jpg"],
                skus=[SkuInput(price=p, specs={spec: v}, stock=s) for _, v, p, s in skus],
                tags=tags,
            ),
        )
        progress(f"product {i}/{len(PRODUCTS)}: {name}")
    await MemberLevel.create(
        tenant_id=tenant.id, name="银卡", min_spend=200_000, discount_percent=95
    )
    await MemberLevel.create(
        tenant_id=tenant.id, name="金卡", min_spend=1_000_000, discount_percent=90
    )
    store = await Store.create(tenant_id=tenant.id, name="西湖店", address="杭州市西湖区龙井路1号")
    password = auth.hash_password("yutang-demo")
    for username, role in (("owner", "owner"), ("clerk", "clerk")):
        staff = await Staff.create(
            tenant_id=tenant.id, username=username, role=role, password_hash=password
        )
        if role == "clerk":
            await StoreStaff.create(tenant_id=tenant.id, store=store, staff=staff)
    progress("staff: owner / clerk (password yutang-demo)")
    for n in range(3):
        member = await Member.create(
            tenant_id=tenant.id,
            phone=f"1380000000{n}",
            password_hash=password,
            nickname=f"会员{n}",
        )
        await change_points(tenant, member.id, 1000, "welcome", "demo")
        await Address.create(
            tenant_id=tenant.id,
            member_id=member.id,
            receiver=f"会员{n}",
            phone=member.phone,
            province="330000",
            city="330100",
            district="330106",
            detail=f"龙井路{n + 1}号",
            is_default=True,
        )
    progress("members: 13800000000–2 (password yutang-demo), 1000 points and an address each")
    await _plugins_demo(tenant, progress)


async def _plugins_demo(tenant: TenantInfo, progress: Callable[[str], None]) -> None:
    """Hand the catalogue to every enabled plugin's ``yutang_demo_data``."""
    skus = await Sku.filter(tenant_id=tenant.id).order_by("product_id", "id").values("id")
    ids = [int(r["id"]) for r in skus]
    found = await sku_summaries(tenant, ids)
    stores = await Store.filter(tenant_id=tenant.id).order_by("id").values("id")
    shop = DemoShop(
        skus=tuple(found[i] for i in ids if i in found),
        store_ids=tuple(int(r["id"]) for r in stores),
        plugins=tuple(sorted(tenant.plugins - {CORE_PLUGIN})),
        now=clock.now(),
    )
    for line in await hooks_of(tenant).call("yutang_demo_data", tenant=tenant, shop=shop):
        progress(str(line))
