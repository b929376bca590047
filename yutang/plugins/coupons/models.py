"""Coupon tables: templates, each member's claim counter per template, and the coupons.

Member and order ids are plain columns, not foreign keys into the core.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped


class CouponsTemplate(Timestamped):
    """A kind of coupon: fixed amount or percentage (with a maximum), minimum spend, scope,
    validity (fixed dates or days from claim), total and per-member limits.

    ``issued`` counts claims (never above ``total``), ``granted`` coupons given as rewards.
    """

    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=16)
    value = fields.BigIntField()
    max_discount = fields.BigIntField(null=True)
    min_spend = fields.BigIntField(default=0)
    scope = fields.CharField(max_length=16, default="all")
    scope_ids: list[int] = fields.JSONField(default=list)
    scope_tags: list[str] = fields.JSONField(default=list, db_default="[]")
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    valid_days = fields.IntField(null=True)
    total = fields.IntField(null=True)
    issued = fields.IntField(default=0)
    granted = fields.IntField(default=0)
    per_member = fields.IntField(default=1)
    claimable = fields.BooleanField(default=True)
    stacks = fields.BooleanField(default=True)
    return_on_refund = fields.BooleanField(default=False)
    stopped_at = fields.DatetimeField(null=True)

    class Meta:
        table = "coupons_template"
        constraints = (
            CheckConstraint(
                check="total IS NULL OR issued <= total", name="coupons_template_not_over_issued"
            ),
        )


class CouponsHolding(TenantModel):
    """How many coupons of a template a member claimed: the per-member limit's counter,
    raised only by a conditional UPDATE."""

    template: fields.ForeignKeyRelation[CouponsTemplate] = fields.ForeignKeyField(
        "coupons.CouponsTemplate", related_name="holdings", on_delete=fields.CASCADE
    )
    template_id: int
    member_id = fields.BigIntField()
    claimed = fields.IntField(default=0)

    class Meta:
        table = "coupons_holding"
        unique_together = (("template", "member_id"),)


class CouponsCoupon(Timestamped):
    """A member's coupon. ``status``: unused, locked (by an unpaid order), used, void.

    ``reference`` makes a reward grant idempotent.
    """

    template: fields.ForeignKeyRelation[CouponsTemplate] = fields.ForeignKeyField(
        "coupons.CouponsTemplate", related_name="coupons", on_delete=fields.CASCADE
    )
    template_id: int
    member_id = fields.BigIntField()
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="unused")
    order_id = fields.BigIntField(null=True)
    used_at = fields.DatetimeField(null=True)
    reference = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "coupons_coupon"
        unique_together = (("tenant", "reference"),)
        indexes = (("tenant_id", "member_id", "status"), ("tenant_id", "order_id"))
