"""Full-reduction tables: rules, a per-tenant lock row for saving them, and the rewards
each order earned.

Member, order, product and category ids are plain columns, not foreign keys into the core.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields

from yutang.api import TenantModel, Timestamped


class FullreductionRule(Timestamped):
    """A full-reduction rule (满减送): a time window, a scope and its tiers.

    ``tiers`` holds the validated tier Structs, ``scope_ids`` the products or categories,
    ``scope_tags`` the product tags of a tag scope.
    Stopping is final.
    """

    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    scope = fields.CharField(max_length=16)
    scope_ids: list[int] = fields.JSONField(default=list)
    scope_tags: list[str] = fields.JSONField(default=list, db_default="[]")
    mode = fields.CharField(max_length=16)
    tiers: list[dict[str, Any]] = fields.JSONField()
    cap = fields.BigIntField(null=True)
    stopped_at = fields.DatetimeField(null=True)

    class Meta:
        table = "fullreduction_rule"
        indexes = (("tenant_id", "ends_at"),)


class FullreductionGuard(TenantModel):
    """One row per tenant, locked while a rule is saved so two overlapping rules saved at
    once cannot both pass the overlap check."""

    class Meta:
        table = "fullreduction_guard"
        unique_together = (("tenant",),)


class FullreductionAward(Timestamped):
    """Points or coupons an order earned from a rule's tier, granted after payment.

    ``status`` moves pending → granted → revoked (or failed when no plugin provides the
    reward), each step a conditional UPDATE, so a redelivered event changes nothing.
    """

    order_id = fields.BigIntField()
    member_id = fields.BigIntField()
    rule_id = fields.BigIntField()
    label = fields.CharField(max_length=200)
    points = fields.IntField(default=0)
    coupon = fields.CharField(max_length=100, default="")
    coupon_count = fields.IntField(default=0)
    status = fields.CharField(max_length=16, default="pending")
    note = fields.CharField(max_length=500, default="")

    class Meta:
        table = "fullreduction_award"
        unique_together = (("tenant", "order_id", "rule_id"),)
