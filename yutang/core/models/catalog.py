"""Catalog: categories, products with images, SKUs with price and stock."""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from yutang.core.models.base import Timestamped


class Category(Timestamped):
    """A product category, nested one level through ``parent``."""

    name = fields.CharField(max_length=100)
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "core.Category", related_name="children", null=True, on_delete=fields.SET_NULL
    )
    parent_id: int | None
    position = fields.IntField(default=0)

    class Meta:
        table = "category"
        indexes = (("tenant_id", "position"),)


class Product(Timestamped):
    """A product. SKUs carry the price and stock, spec names order the SKU options."""

    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "core.Category", related_name="products", null=True, on_delete=fields.SET_NULL
    )
    category_id: int | None
    published = fields.BooleanField(default=False)
    spec_names: list[str] = fields.JSONField(default=list)
    tags: list[str] = fields.JSONField(default=list, db_default="[]")
    # Goods that ship nothing (deposits, e-tickets, services): no address, no shipping fee.
    virtual = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "product"
        indexes = (("tenant_id", "published", "id"), ("tenant_id", "category_id"))


class ProductImage(Timestamped):
    """An image of a product, in display order."""

    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "core.Product", related_name="images", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=500)
    position = fields.IntField(default=0)

    class Meta:
        table = "product_image"
        indexes = (("tenant_id", "product_id"),)


class Sku(Timestamped):
    """A sellable variant defined by spec options (颜色: 红, 尺码: M)."""

    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "core.Product", related_name="skus", on_delete=fields.CASCADE
    )
    product_id: int
    specs: dict[str, str] = fields.JSONField(default=dict)
    code = fields.CharField(max_length=64, default="")
    price = fields.BigIntField()
    stock = fields.IntField(default=0)
    weight_grams = fields.IntField(default=0)
    shipping_template: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "core.ShippingTemplate", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    shipping_template_id: int | None

    class Meta:
        table = "sku"
        indexes = (("tenant_id", "product_id"),)
        constraints = (
            CheckConstraint(check="stock >= 0", name="sku_stock_not_negative"),
            CheckConstraint(check="price >= 0", name="sku_price_not_negative"),
        )
