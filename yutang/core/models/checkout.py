"""Checkout essentials: address books, carts, shipping fee templates and shipments."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from yutang.core.models.base import Timestamped
from yutang.core.models.orders import Order


class Address(Timestamped):
    """An entry of a member's address book, with 6-digit region codes."""

    member: fields.ForeignKeyRelation[Timestamped] = fields.ForeignKeyField(
        "core.Member", related_name="addresses", on_delete=fields.CASCADE
    )
    member_id: int
    receiver = fields.CharField(max_length=64)
    phone = fields.CharField(max_length=32)
    province = fields.CharField(max_length=6)
    city = fields.CharField(max_length=6)
    district = fields.CharField(max_length=6, default="")
    detail = fields.CharField(max_length=200)
    is_default = fields.BooleanField(default=False)

    class Meta:
        table = "address"
        indexes = (("tenant_id", "member_id"),)


class Cart(Timestamped):
    """A server-side cart: a member's (one each), or a guest's found by its token digest."""

    member: fields.ForeignKeyNullableRelation[Timestamped] = fields.ForeignKeyField(
        "core.Member", related_name="carts", null=True, on_delete=fields.CASCADE
    )
    member_id: int | None
    token_digest = fields.CharField(max_length=64, null=True, unique=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "cart"
        unique_together = (("tenant", "member"),)


class CartLine(Timestamped):
    """A SKU in a cart with its activity reference and per-plugin checkout input.

    ``sku_id`` is no foreign key: a SKU that disappears leaves its line behind, and the
    cart warns about it instead of losing it silently.
    """

    cart: fields.ForeignKeyRelation[Cart] = fields.ForeignKeyField(
        "core.Cart", related_name="lines", on_delete=fields.CASCADE
    )
    cart_id: int
    sku_id = fields.BigIntField()
    quantity = fields.IntField()
    selected = fields.BooleanField(default=True)
    activity_plugin = fields.CharField(max_length=64, default="")
    activity_ref = fields.CharField(max_length=128, default="")
    extensions: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "cart_line"
        unique_together = (("tenant", "cart", "sku_id", "activity_plugin", "activity_ref"),)


class ShippingTemplate(Timestamped):
    """A shipping fee template (运费模板), charged by units or by weight.

    Quantities are units, or grams when charged by weight. The template's own prices
    apply to every region its ``rules`` do not name, and regions in ``excluded`` are not
    delivered to. Each rule is a dict with ``regions`` and the same price fields.
    """

    name = fields.CharField(max_length=100)
    charge_by = fields.CharField(max_length=8, default="unit")
    first_quantity = fields.IntField(default=1)
    first_fee = fields.BigIntField(default=0)
    additional_quantity = fields.IntField(default=1)
    additional_fee = fields.BigIntField(default=0)
    free_over = fields.BigIntField(null=True)
    rules: list[dict[str, Any]] = fields.JSONField(default=list)
    excluded: list[str] = fields.JSONField(default=list)
    is_default = fields.BooleanField(default=False)

    class Meta:
        table = "shipping_template"
        indexes = (("tenant_id", "is_default"),)


class Shipment(Timestamped):
    """Order lines handed to a carrier: ``lines`` holds ``line_id`` and ``quantity`` each."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "core.Order", related_name="shipments", on_delete=fields.CASCADE
    )
    order_id: int
    carrier = fields.CharField(max_length=64)
    tracking_number = fields.CharField(max_length=64)
    lines: list[dict[str, int]] = fields.JSONField()

    class Meta:
        table = "shipment"
        indexes = (("tenant_id", "order_id"),)
