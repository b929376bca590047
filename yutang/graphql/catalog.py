"""Catalog reads: a page of products with SKUs, images and category in three queries."""

from __future__ import annotations

from typing import Any

from yutang.core.catalog_reads import image_rows, product_rows, sku_rows
from yutang.core.contract import TenantInfo
from yutang.core.models import Category as CategoryRow
from yutang.graphql.types import (
    MAX_PAGE,
    Category,
    Connection,
    Image,
    Money,
    PriceRange,
    Product,
    Sku,
    after_pk,
    connection,
    gid,
    specs_of,
)


def category_node(pk: int, name: str, parent_id: int | None) -> Category:
    """A Category object."""
    return Category(
        id=gid("Category", pk),
        name=name,
        pk=pk,
        parent_id=gid("Category", parent_id) if parent_id else None,
    )


async def build_products(tenant: TenantInfo, rows: list[dict[str, Any]]) -> list[Product]:
    """Products with their SKUs and images, fetched in two more queries for the page."""
    ids = [r["id"] for r in rows]
    skus: dict[int, list[Sku]] = {i: [] for i in ids}
    images: dict[int, list[Image]] = {i: [] for i in ids}
    if ids:
        for s in await sku_rows(tenant.id, ids):
            skus[s["product_id"]].append(
                Sku(
                    id=gid("Sku", s["id"]),
                    pk=s["id"],
                    product_pk=s["product_id"],
                    specs=specs_of(s["specs"]),
                    code=s["code"],
                    price=Money.of(s["price"], tenant.currency),
                    stock=s["stock"],
                    weight_grams=s["weight_grams"],
                )
            )
        for im in await image_rows(tenant.id, ids):
            images[im["product_id"]].append(Image(url=im["url"], position=im["position"]))
    return [
        Product(
            id=gid("Product", r["id"]),
            pk=r["id"],
            name=r["name"],
            description=r["description"],
            published=r["published"],
            virtual=r["virtual"],
            spec_names=list(r["spec_names"]),
            tags=list(r["tags"]),
            category=category_node(r["category_id"], r["category_name"], r["category_parent_id"])
            if r["category_id"]
            else None,
            images=images[r["id"]],
            skus=skus[r["id"]],
            price_range=price_range(skus[r["id"]]),
        )
        for r in rows
    ]


def price_range(skus: list[Sku]) -> PriceRange | None:
    """The lowest and highest list price of these SKUs (None for none)."""
    if not skus:
        return None
    cheapest = min(skus, key=lambda s: s.price.amount)
    dearest = max(skus, key=lambda s: s.price.amount)
    return PriceRange(min=cheapest.price, max=dearest.price)


async def product_page(
    tenant: TenantInfo,
    first: int,
    after: str | None,
    *,
    published_only: bool,
    category_pk: int | None = None,
    search: str | None = None,
    tag: str | None = None,
) -> Connection[Product]:
    """One page of products in id order, keyset-paginated."""
    first = max(0, min(first, MAX_PAGE))
    start = after_pk(after)
    rows = await product_rows(
        tenant.id,
        limit=first + 1,
        after_pk=start,
        published_only=published_only,
        category_pk=category_pk,
        search=search,
        tag=tag,
    )
    page = rows[:first]
    nodes = await build_products(tenant, page)
    return connection(nodes, [r["id"] for r in page], len(rows) > first, start is not None)


async def one_product(tenant: TenantInfo, pk: int, *, published_only: bool) -> Product | None:
    """One product by primary key (None if absent or, for shoppers, unpublished)."""
    rows = await product_rows(tenant.id, limit=1, pk=pk, published_only=published_only)
    return (await build_products(tenant, rows))[0] if rows else None


async def categories(tenant: TenantInfo) -> list[Category]:
    """Every category of the tenant in display order."""
    rows = (
        await CategoryRow.filter(tenant_id=tenant.id)
        .order_by("position", "id")
        .values("id", "name", "parent_id")
    )
    return [category_node(r["id"], r["name"], r["parent_id"]) for r in rows]
