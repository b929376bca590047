"""Catalog reads: a page of products with SKUs, images and category in three queries."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from yutang.core.models import Category as CategoryRow
from yutang.core.models import Product as ProductRow
from yutang.core.models import ProductImage
from yutang.core.models import Sku as SkuRow
from yutang.core.tenancy import TenantInfo
from yutang.graphql.types import (
    Category,
    Connection,
    Image,
    Money,
    Product,
    Sku,
    gid,
    keyset_page,
    specs_of,
)

PRODUCT_FIELDS = (
    "id",
    "name",
    "description",
    "published",
    "spec_names",
    "category_id",
    "category__name",
    "category__parent_id",
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
        for s in (
            await SkuRow.filter(tenant_id=tenant.id, product_id__in=ids)
            .order_by("id")
            .values("id", "product_id", "specs", "code", "price", "stock", "weight_grams")
        ):
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
        for im in (
            await ProductImage.filter(tenant_id=tenant.id, product_id__in=ids)
            .order_by("position", "id")
            .values("product_id", "url", "position")
        ):
            images[im["product_id"]].append(Image(url=im["url"], position=im["position"]))
    return [
        Product(
            id=gid("Product", r["id"]),
            pk=r["id"],
            name=r["name"],
            description=r["description"],
            published=r["published"],
            spec_names=list(r["spec_names"]),
            category=category_node(r["category_id"], r["category__name"], r["category__parent_id"])
            if r["category_id"]
            else None,
            images=images[r["id"]],
            skus=skus[r["id"]],
        )
        for r in rows
    ]


async def product_page(
    tenant: TenantInfo,
    first: int,
    after: str | None,
    *,
    published_only: bool,
    category_pk: int | None = None,
    search: str | None = None,
) -> Connection[Product]:
    """One page of products in id order, keyset-paginated."""
    query = ProductRow.filter(tenant_id=tenant.id)
    if published_only:
        query = query.filter(published=True)
    if category_pk is not None:
        query = query.filter(Q(category_id=category_pk) | Q(category__parent_id=category_pk))
    if search:
        query = query.filter(name__icontains=search)
    return await keyset_page(
        query,
        first,
        after,
        lambda rows: build_products(tenant, rows),
        newest_first=False,
        values=PRODUCT_FIELDS,
    )


async def one_product(tenant: TenantInfo, pk: int, *, published_only: bool) -> Product | None:
    """One product by primary key (None if absent or, for shoppers, unpublished)."""
    query = ProductRow.filter(tenant_id=tenant.id, id=pk)
    if published_only:
        query = query.filter(published=True)
    rows = await query.values(*PRODUCT_FIELDS)
    return (await build_products(tenant, rows))[0] if rows else None


async def categories(tenant: TenantInfo) -> list[Category]:
    """Every category of the tenant in display order."""
    rows = (
        await CategoryRow.filter(tenant_id=tenant.id)
        .order_by("position", "id")
        .values("id", "name", "parent_id")
    )
    return [category_node(r["id"], r["name"], r["parent_id"]) for r in rows]
