"""Seckill tables: activities, their sessions and items, and the counters that sell them.

SKU, product, member and order ids are plain columns, not foreign keys into the core: a
plugin's rows must not block (or vanish with) catalogue edits, and orders keep their own copy.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped


class SeckillActivity(Timestamped):
    """A seckill campaign: a time window, sessions, member limits and a payment timeout.

    ``limits`` maps each limited scope (``item_session``, ``session``, ``activity``) to
    the units one member may hold in it; they are read with every item, so they live on
    the row. Stopping is final.
    """

    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    limits: dict[str, int] = fields.JSONField(default=dict, db_default="{}")
    payment_minutes = fields.IntField()
    stopped_at = fields.DatetimeField(null=True)

    class Meta:
        table = "seckill_activity"
        indexes = (("tenant_id", "ends_at"),)


class SeckillSession(Timestamped):
    """A slot of an activity (场次): daily times of day, or one-off datetimes.

    Daily times are seconds after midnight in the tenant's zone; an end not after the
    start crosses midnight.
    """

    activity: fields.ForeignKeyRelation[SeckillActivity] = fields.ForeignKeyField(
        "seckill.SeckillActivity", related_name="sessions", on_delete=fields.CASCADE
    )
    activity_id: int
    position = fields.IntField()
    daily_start = fields.IntField(null=True)
    daily_end = fields.IntField(null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)

    class Meta:
        table = "seckill_session"
        indexes = (("tenant_id", "activity_id"),)


class SeckillItem(Timestamped):
    """A SKU sold in a session: its activity price and units for each occurrence."""

    activity: fields.ForeignKeyRelation[SeckillActivity] = fields.ForeignKeyField(
        "seckill.SeckillActivity", related_name="items", on_delete=fields.CASCADE
    )
    activity_id: int
    session: fields.ForeignKeyRelation[SeckillSession] = fields.ForeignKeyField(
        "seckill.SeckillSession", related_name="items", on_delete=fields.CASCADE
    )
    session_id: int
    position = fields.IntField()
    sku_id = fields.BigIntField()
    product_id = fields.BigIntField()
    price = fields.BigIntField()
    stock = fields.IntField()

    class Meta:
        table = "seckill_item"
        indexes = (("tenant_id", "sku_id"), ("tenant_id", "product_id"))
        constraints = (
            CheckConstraint(check="price >= 0", name="seckill_item_price_not_negative"),
            CheckConstraint(check="stock >= 0", name="seckill_item_stock_not_negative"),
        )


class SeckillStock(TenantModel):
    """Activity units left of one item in one occurrence of its session.

    Created on the occurrence's first order, decremented only by a conditional UPDATE.
    """

    item: fields.ForeignKeyRelation[SeckillItem] = fields.ForeignKeyField(
        "seckill.SeckillItem", related_name="stocks", on_delete=fields.CASCADE
    )
    item_id: int
    slot_start = fields.DatetimeField()
    remaining = fields.IntField()

    class Meta:
        table = "seckill_stock"
        unique_together = (("item", "slot_start"),)
        constraints = (CheckConstraint(check="remaining >= 0", name="seckill_stock_not_negative"),)


class SeckillMemberQuota(TenantModel):
    """Units a member holds within one limit's scope, unpaid orders included: that limit's
    counter. ``scope`` is the scope's key (see ``limits.scope_key``): ``activity``, or a
    session or an item in one occurrence.

    Raised only by a conditional UPDATE.
    """

    activity: fields.ForeignKeyRelation[SeckillActivity] = fields.ForeignKeyField(
        "seckill.SeckillActivity", related_name="member_quotas", on_delete=fields.CASCADE
    )
    activity_id: int
    member_id = fields.BigIntField()
    scope = fields.CharField(max_length=64)
    taken = fields.IntField()

    class Meta:
        table = "seckill_member_quota"
        unique_together = (("activity", "member_id", "scope"),)
        constraints = (
            CheckConstraint(check="taken >= 0", name="seckill_member_quota_not_negative"),
        )


class SeckillReservation(Timestamped):
    """What one order took of one item, so cancel, timeout and refund give back exactly that."""

    order_id = fields.BigIntField()
    member_id = fields.BigIntField()
    activity: fields.ForeignKeyRelation[SeckillActivity] = fields.ForeignKeyField(
        "seckill.SeckillActivity", related_name="reservations", on_delete=fields.CASCADE
    )
    activity_id: int
    item: fields.ForeignKeyRelation[SeckillItem] = fields.ForeignKeyField(
        "seckill.SeckillItem", related_name="reservations", on_delete=fields.CASCADE
    )
    item_id: int
    slot_start = fields.DatetimeField()
    quantity = fields.IntField()
    released = fields.IntField(default=0)
    paid = fields.BooleanField(default=False)

    class Meta:
        table = "seckill_reservation"
        unique_together = (("tenant", "order_id", "item"),)
        indexes = (("tenant_id", "item_id"),)
        constraints = (
            CheckConstraint(
                check="released >= 0 AND released <= quantity",
                name="seckill_reservation_released_range",
            ),
        )


class SeckillSkuGuard(TenantModel):
    """A lock row per SKU ever put in an activity, taken while an activity is created.

    Two overlapping activities for the same SKU cannot then both pass the overlap check.
    """

    sku_id = fields.BigIntField()

    class Meta:
        table = "seckill_sku_guard"
        unique_together = (("tenant", "sku_id"),)
