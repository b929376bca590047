"""Catalog writes: categories, products with images, SKUs, stock adjustments."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import Category, Product, ProductImage, ShippingTemplate, Sku

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Price = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
MAX_STOCK = 10**9
Stock = Annotated[int, msgspec.Meta(ge=0, le=MAX_STOCK)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=30)]


class SkuInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A SKU: its spec options (颜色: 红), price in minor units, stock."""

    price: Price
    specs: dict[str, str] = msgspec.field(default_factory=dict)
    stock: Stock = 0
    code: Annotated[str, msgspec.Meta(max_length=64)] = ""
    weight_grams: Annotated[int, msgspec.Meta(ge=0)] = 0
    shipping_template_id: int | None = None


class ProductInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A product with its images, SKUs (they replace the existing ones on update) and tags:
    words merchants group goods by (新品, 礼盒), which promotions may be scoped to.
    ``virtual`` goods ship nothing (deposits, e-tickets, services)."""

    name: Name
    description: str = ""
    category_id: int | None = None
    published: bool = False
    virtual: bool = False
    spec_names: list[str] = msgspec.field(default_factory=list)
    images: list[str] = msgspec.field(default_factory=list)
    skus: list[SkuInput] | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)


async def save_category(
    tenant: TenantInfo, name: str, parent_id: int | None, category_id: int | None = None
) -> Category:
    """Create or rename a category of this tenant."""
    if not name or len(name) > 100:
        raise DomainError("INVALID", "a name of 1–100 characters is required", "name")
    if parent_id is not None and not await Category.exists(tenant_id=tenant.id, id=parent_id):
        raise NotFound("parent category", "parentId")
    if category_id is None:
        return await Category.create(tenant_id=tenant.id, name=name, parent_id=parent_id)
    category = await Category.get_or_none(tenant_id=tenant.id, id=category_id)
    if category is None:
        raise NotFound("category", "id")
    category.name, category.parent_id = name, parent_id
    await category.save()
    return category


async def delete_category(tenant: TenantInfo, category_id: int) -> None:
    """Delete a category; its products become uncategorised."""
    if not await Category.filter(tenant_id=tenant.id, id=category_id).delete():
        raise NotFound("category", "id")


def _check_specs(data: ProductInput) -> None:
    for i, sku in enumerate(data.skus or []):
        unknown = set(sku.specs) - set(data.spec_names)
        if unknown:
            raise DomainError(
                "INVALID",
                f"spec {sorted(unknown)[0]!r} is not one of specNames",
                f"skus[{i}].specs",
            )


async def _check_templates(tenant: TenantInfo, data: ProductInput) -> None:
    wanted = {s.shipping_template_id for s in data.skus or []} - {None}
    rows = await ShippingTemplate.filter(tenant_id=tenant.id, id__in=wanted).values("id")
    known = {r["id"] for r in rows}
    for i, sku in enumerate(data.skus or []):
        if sku.shipping_template_id is not None and sku.shipping_template_id not in known:
            raise NotFound("shipping template", f"skus[{i}].shippingTemplateId")


async def save_product(
    tenant: TenantInfo, data: ProductInput, product_id: int | None = None
) -> Product:
    """Create or update a product, its images and (when given) its SKUs, in one go."""
    _check_specs(data)
    async with in_transaction():
        if data.category_id is not None and not await Category.exists(
            tenant_id=tenant.id, id=data.category_id
        ):
            raise NotFound("category", "categoryId")
        await _check_templates(tenant, data)
        fields: dict[str, Any] = {
            "name": data.name,
            "description": data.description,
            "category_id": data.category_id,
            "published": data.published,
            "virtual": data.virtual,
            "spec_names": data.spec_names,
            "tags": sorted(set(data.tags)),
        }
        if product_id is None:
            product = await Product.create(tenant_id=tenant.id, **fields)
        else:
            found = await Product.get_or_none(tenant_id=tenant.id, id=product_id)
            if found is None:
                raise NotFound("product", "id")
            product = found
            await Product.filter(id=product.id).update(**fields)
            await ProductImage.filter(tenant_id=tenant.id, product_id=product.id).delete()
        await ProductImage.bulk_create(
            [
                ProductImage(tenant_id=tenant.id, product_id=product.id, url=url, position=i)
                for i, url in enumerate(data.images)
            ]
        )
        if data.skus is not None:
            await Sku.filter(tenant_id=tenant.id, product_id=product.id).delete()
            await Sku.bulk_create(
                [
                    Sku(
                        tenant_id=tenant.id,
                        product_id=product.id,
                        specs=s.specs,
                        price=s.price,
                        stock=s.stock,
                        code=s.code,
                        weight_grams=s.weight_grams,
                        shipping_template_id=s.shipping_template_id,
                    )
                    for s in data.skus
                ]
            )
    return await Product.get(id=product.id)


async def delete_product(tenant: TenantInfo, product_id: int) -> None:
    """Delete a product with its SKUs and images (orders keep their own copy)."""
    if not await Product.filter(tenant_id=tenant.id, id=product_id).delete():
        raise NotFound("product", "id")


async def update_sku(
    tenant: TenantInfo, sku_id: int, price: int | None, specs: dict[str, str] | None
) -> Sku:
    """Change a SKU's price or specs."""
    sku = await Sku.get_or_none(tenant_id=tenant.id, id=sku_id)
    if sku is None:
        raise NotFound("SKU", "skuId")
    if price is not None:
        if price < 0:
            raise DomainError("INVALID", "a price cannot be negative", "price")
        sku.price = price
    if specs is not None:
        names = (await Product.get(id=sku.product_id)).spec_names
        unknown = sorted(set(specs) - set(names))
        if unknown:
            raise DomainError("INVALID", f"spec {unknown[0]!r} is not one of specNames", "specs")
        sku.specs = specs
    await sku.save()
    return sku


async def adjust_stock(tenant: TenantInfo, sku_id: int, delta: int) -> Sku:
    """Add or remove stock atomically; refuses to go below zero or above the maximum."""
    if abs(delta) > MAX_STOCK:
        raise DomainError("INVALID", f"at most {MAX_STOCK:,} at a time", "delta")
    query = Sku.filter(tenant_id=tenant.id, id=sku_id)
    if delta < 0:
        query = query.filter(stock__gte=-delta)
    else:
        query = query.filter(stock__lte=MAX_STOCK - delta)
    if not await query.update(stock=F("stock") + delta):
        if not await Sku.exists(tenant_id=tenant.id, id=sku_id):
            raise NotFound("SKU", "skuId")
        if delta > 0:
            raise DomainError("INVALID", f"stock cannot exceed {MAX_STOCK:,}", "delta")
        raise DomainError("INVALID", "stock cannot go below zero", "delta")
    return await Sku.get(tenant_id=tenant.id, id=sku_id)
