"""The product list: category (with subcategories), search, pages, visibility, tenants."""

from __future__ import annotations

from typing import Any

from yutang.core.catalog import ProductInput, SkuInput, save_category, save_product
from yutang.core.contract import TenantInfo
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient

LIST = """
query($first: Int, $after: String, $categoryId: ID, $search: String, $tag: String) {
  products(first: $first, after: $after, categoryId: $categoryId, search: $search, tag: $tag) {
    edges { node { name specNames tags category { name }
                   images { url position } skus { specs { name value } price { amount } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ADMIN_LIST = "query($search: String) { products(search: $search) { edges { node { name } } } }"


async def product(
    tenant: TenantInfo,
    name: str,
    category: int | None = None,
    published: bool = True,
    tags: tuple[str, ...] = (),
) -> None:
    await save_product(
        tenant,
        ProductInput(
            name=name,
            category_id=category,
            published=published,
            tags=list(tags),
            spec_names=["颜色"],
            images=[
                f"https://img.example.com/{name}/b.jpg",
                f"https://img.example.com/{name}/a.jpg",
            ],
            skus=[
                SkuInput(price=100 + i, stock=1, specs={"颜色": c}) for i, c in enumerate("红蓝")
            ],
        ),
    )


async def names(client: GraphQLClient, **variables: Any) -> list[str]:
    data = await client(LIST if client.path == "/graphql" else ADMIN_LIST, variables)
    return [e["node"]["name"] for e in data["products"]["edges"]]


async def test_filters_and_search(
    storefront: GraphQLClient, admin: GraphQLClient, tenant: TenantInfo, make_tenant: Any
) -> None:
    tea = await save_category(tenant, "Tea", None)
    green = await save_category(tenant, "Green tea", tea.id)
    await product(tenant, "Longjing 龙井", green.id, tags=("新品", "礼盒", "新品"))
    await product(tenant, "Pu'er 100% leaf", tea.id, tags=("礼盒",))
    await product(tenant, "Teapot", None, tags=("新品礼盒",))
    await product(tenant, "Draft_tea", tea.id, published=False)
    other = await make_tenant("other")
    await product(other, "Longjing from elsewhere", None)

    assert await names(storefront) == ["Longjing 龙井", "Pu'er 100% leaf", "Teapot"]
    assert await names(admin) == ["Longjing 龙井", "Pu'er 100% leaf", "Teapot", "Draft_tea"]
    tea_id, green_id = to_global("Category", tea.id), to_global("Category", green.id)
    assert await names(storefront, categoryId=tea_id) == ["Longjing 龙井", "Pu'er 100% leaf"]
    assert await names(storefront, categoryId=green_id) == ["Longjing 龙井"]
    assert await names(storefront, search="LONGJING") == ["Longjing 龙井"]
    assert await names(storefront, search="龙井") == ["Longjing 龙井"]
    assert await names(storefront, search="100%") == ["Pu'er 100% leaf"]
    assert await names(storefront, search="0% ") == ["Pu'er 100% leaf"]
    assert await names(storefront, search="%") == ["Pu'er 100% leaf"]
    assert await names(admin, search="t_a") == []
    assert await names(admin, search="t_t") == ["Draft_tea"]

    assert await names(storefront, tag="礼盒") == ["Longjing 龙井", "Pu'er 100% leaf"]
    assert await names(storefront, tag="新品") == ["Longjing 龙井"]
    assert await names(storefront, tag="新") == []
    assert await names(storefront, tag="礼盒", categoryId=green_id) == ["Longjing 龙井"]

    data = await storefront(LIST, {"first": 1, "search": "longjing"})
    node = data["products"]["edges"][0]["node"]
    assert node["tags"] == ["新品", "礼盒"]
    assert node["category"] == {"name": "Green tea"}
    assert node["specNames"] == ["颜色"]
    assert [i["url"].rsplit("/", 1)[1] for i in node["images"]] == ["b.jpg", "a.jpg"]
    assert [(s["specs"], s["price"]["amount"]) for s in node["skus"]] == [
        ([{"name": "颜色", "value": "红"}], 100),
        ([{"name": "颜色", "value": "蓝"}], 101),
    ]


async def test_pages_follow_the_cursor(storefront: GraphQLClient, tenant: TenantInfo) -> None:
    for n in range(5):
        await product(tenant, f"P{n}")
    seen: list[str] = []
    after = None
    while True:
        data = await storefront(LIST, {"first": 2, "after": after})
        page = data["products"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"P{n}" for n in range(5)]
