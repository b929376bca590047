"""Orders, their lines, payments, after-sale refunds and idempotency records."""

from __future__ import annotations

from tortoise import fields

from yutang.core.models.base import Timestamped


class Order(Timestamped):
    """One checkout. ``quote`` is exactly the quote the member saw and was charged."""

    number = fields.CharField(max_length=32)
    member: fields.ForeignKeyRelation[Timestamped] = fields.ForeignKeyField(
        "core.Member", related_name="orders", on_delete=fields.RESTRICT
    )
    member_id: int
    status = fields.CharField(max_length=24, default="pending_payment")
    currency = fields.CharField(max_length=3)
    subtotal = fields.BigIntField()
    discount = fields.BigIntField()
    fees = fields.BigIntField(default=0)
    total = fields.BigIntField()
    points_used = fields.BigIntField(default=0)
    paid_amount = fields.BigIntField(default=0)
    refunded_amount = fields.BigIntField(default=0)
    quote: dict[str, object] = fields.JSONField()
    quote_hash = fields.CharField(max_length=64)
    plugins: list[str] = fields.JSONField(default=list)
    extensions: dict[str, object] = fields.JSONField(default=dict)
    fulfilment = fields.CharField(max_length=32, default="delivery")
    store_id = fields.BigIntField(null=True)
    address: dict[str, str] | None = fields.JSONField(null=True)
    payment_deadline = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    fulfilled_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    after_sale_closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "orders"
        unique_together = (("tenant", "number"),)
        indexes = (
            ("tenant_id", "member_id", "id"),
            ("tenant_id", "status", "id"),
            ("tenant_id", "store_id", "id"),
            ("tenant_id", "created_at"),
        )


class OrderLine(Timestamped):
    """A line as priced: ``amount`` is what it paid after every discount."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "core.Order", related_name="lines", on_delete=fields.CASCADE
    )
    order_id: int
    position = fields.IntField()
    sku_id = fields.BigIntField()
    product_id = fields.BigIntField()
    product_name = fields.CharField(max_length=200)
    # The product's first image when the order was placed, so the line shows what was bought.
    image_url = fields.CharField(max_length=500, default="", db_default="")
    specs: dict[str, str] = fields.JSONField(default=dict)
    quantity = fields.IntField()
    unit_price = fields.BigIntField()
    amount = fields.BigIntField()
    points = fields.BigIntField(default=0)
    refunded_points = fields.BigIntField(default=0)
    activity_plugin = fields.CharField(max_length=64, null=True)
    activity_ref = fields.CharField(max_length=128, null=True)
    refunded_quantity = fields.IntField(default=0)
    refunded_amount = fields.BigIntField(default=0)
    shipped_quantity = fields.IntField(default=0)

    class Meta:
        table = "order_line"
        indexes = (("tenant_id", "order_id"),)


class Instalment(Timestamped):
    """One part of an order paid in parts, ``pending`` until ``paid``.

    It is ``cancelled`` or ``forfeited`` when the order ends before it is paid. The first
    is due by the order's payment deadline, a later one between ``opens_at`` and
    ``due_at``."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "core.Order", related_name="instalments", on_delete=fields.CASCADE
    )
    order_id: int
    position = fields.IntField()
    label = fields.CharField(max_length=64)
    amount = fields.BigIntField()
    opens_at = fields.DatetimeField()
    due_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="pending")
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "instalment"
        unique_together = (("order", "position"),)
        indexes = (("tenant_id", "order_id"),)


class Payment(Timestamped):
    """A payment attempt through a provider, ``captured`` once the provider confirms;
    ``instalment`` is the position of the part it pays (0 for an order paid at once),
    ``refunded_amount`` what refunds have taken back from it. A capture the order could
    not take is ``claimed_by`` a plugin (``plugin``) or refunded whole (``core``)."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "core.Order", related_name="payments", on_delete=fields.RESTRICT
    )
    order_id: int
    instalment = fields.IntField(default=0, db_default=0)
    provider = fields.CharField(max_length=32)
    amount = fields.BigIntField()
    refunded_amount = fields.BigIntField(default=0, db_default=0)
    status = fields.CharField(max_length=16, default="pending")
    reference = fields.CharField(max_length=128)
    claimed_by = fields.CharField(max_length=64, null=True)
    captured_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment"
        unique_together = (("tenant", "provider", "reference"),)
        indexes = (("tenant_id", "order_id"),)


class Refund(Timestamped):
    """An after-sale request: open, then approved or rejected, then refunded. ``parts``
    is, once approved, how much goes back through each captured payment;
    ``requested_by`` who asked (``member:<id>``, ``staff:<id>``, ``operator:<id>``,
    ``plugin:<name>``; empty for refunds recorded before it was kept)."""

    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "core.Order", related_name="refunds", on_delete=fields.RESTRICT
    )
    order_id: int
    status = fields.CharField(max_length=16, default="open")
    amount = fields.BigIntField()
    lines: list[dict[str, int]] = fields.JSONField()
    reason = fields.CharField(max_length=500, default="")
    parts: list[dict[str, int]] = fields.JSONField(default=list, db_default="[]")
    requested_by = fields.CharField(max_length=64, default="", db_default="")
    decided_at = fields.DatetimeField(null=True)
    refunded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refund"
        indexes = (("tenant_id", "order_id"), ("tenant_id", "status", "id"))


class IdempotencyRecord(Timestamped):
    """The first result of a keyed mutation, replayed to every retry with the same key."""

    actor = fields.CharField(max_length=64)
    operation = fields.CharField(max_length=64)
    key = fields.CharField(max_length=128)
    request_hash = fields.CharField(max_length=64)
    result: dict[str, object] | None = fields.JSONField(null=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("tenant", "actor", "operation", "key"),)
