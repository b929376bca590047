"""Lottery tables: activities and prizes, one counter per member and activity, draws,
claims of goods prizes and the paid orders that earned draws.

Member and order ids are plain columns, not foreign keys into the core: the plugin's rows
must not block (or vanish with) the core's. Draws are append-only: the claim of a goods
prize lives in its own row so the audit record of the draw is never edited.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped


class LotteryActivity(Timestamped):
    """A lucky draw: its time window, how a draw is paid for, who may draw and the caps.

    A draw is paid with a free draw of the day, then a draw earned by a paid order, then
    points. Caps and new_member_days are unlimited when null.
    """

    name = fields.CharField(max_length=100)
    rules = fields.TextField(default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    stopped_at = fields.DatetimeField(null=True)
    points_per_draw = fields.IntField(default=0)
    free_draws_per_day = fields.IntField(default=0)
    draws_per_order = fields.IntField(default=0)
    min_order_amount = fields.BigIntField(default=0)
    member_tags: list[str] = fields.JSONField(default=list)
    member_levels: list[str] = fields.JSONField(default=list)
    new_member_days = fields.IntField(null=True)
    daily_cap = fields.IntField(null=True)
    total_cap = fields.IntField(null=True)

    class Meta:
        table = "lottery_activity"
        indexes = (("tenant_id", "ends_at"),)
        constraints = (
            CheckConstraint(
                check="points_per_draw >= 0 AND free_draws_per_day >= 0 AND draws_per_order >= 0",
                name="lottery_activity_costs_not_negative",
            ),
        )


class LotteryPrize(TenantModel):
    """A prize of an activity with its weight, stock and per-member win cap.

    ``remaining`` is null for unlimited stock and only ever decremented by a conditional
    UPDATE.
    """

    activity: fields.ForeignKeyRelation[LotteryActivity] = fields.ForeignKeyField(
        "lottery.LotteryActivity", related_name="prizes", on_delete=fields.CASCADE
    )
    activity_id: int
    position = fields.IntField()
    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=16)
    amount = fields.BigIntField(default=0)
    item = fields.CharField(max_length=128, default="")
    weight = fields.IntField()
    stock = fields.IntField(null=True)
    remaining = fields.IntField(null=True)
    win_cap = fields.IntField(null=True)
    claim_days = fields.IntField(null=True)

    class Meta:
        table = "lottery_prize"
        indexes = (("tenant_id", "activity_id"),)
        constraints = (
            CheckConstraint(check="weight >= 0", name="lottery_prize_weight_not_negative"),
            CheckConstraint(check="remaining >= 0", name="lottery_prize_remaining_not_negative"),
        )


class LotteryCounter(TenantModel):
    """A member's draws in one activity, locked by every draw: caps are checked under it.

    ``today`` and ``free_today`` count the draws of ``day`` (the tenant's time zone).
    """

    activity: fields.ForeignKeyRelation[LotteryActivity] = fields.ForeignKeyField(
        "lottery.LotteryActivity", related_name="counters", on_delete=fields.CASCADE
    )
    activity_id: int
    member_id = fields.BigIntField()
    day = fields.DateField(null=True)
    today = fields.IntField(default=0)
    free_today = fields.IntField(default=0)
    total = fields.IntField(default=0)
    earned = fields.IntField(default=0)
    earned_used = fields.IntField(default=0)

    class Meta:
        table = "lottery_counter"
        unique_together = (("activity", "member_id"),)
        constraints = (
            CheckConstraint(
                check="earned_used >= 0 AND earned_used <= earned",
                name="lottery_counter_earned_range",
            ),
        )


class LotteryDraw(Timestamped):
    """One draw, never edited: what paid for it and the audit of the choice.

    ``weights`` holds the (prize id, weight) pairs the random value was drawn against,
    ``chosen_prize`` what the value chose and ``prize`` what was awarded (null when it
    fell through to no prize, for the reason in ``fallthrough``).
    """

    activity: fields.ForeignKeyRelation[LotteryActivity] = fields.ForeignKeyField(
        "lottery.LotteryActivity", related_name="draws", on_delete=fields.CASCADE
    )
    activity_id: int
    member_id = fields.BigIntField()
    seq = fields.IntField()
    idempotency_key = fields.CharField(max_length=128)
    paid_with = fields.CharField(max_length=16)
    points_charged = fields.IntField(default=0)
    weights: list[list[int]] = fields.JSONField()
    total_weight = fields.IntField()
    random_value = fields.IntField()
    chosen_prize: fields.ForeignKeyRelation[LotteryPrize] = fields.ForeignKeyField(
        "lottery.LotteryPrize", related_name="chosen_in", on_delete=fields.CASCADE
    )
    chosen_prize_id: int
    prize: fields.ForeignKeyNullableRelation[LotteryPrize] = fields.ForeignKeyField(
        "lottery.LotteryPrize", related_name="won_in", null=True, on_delete=fields.CASCADE
    )
    prize_id: int | None
    fallthrough = fields.CharField(max_length=64, default="")

    class Meta:
        table = "lottery_draw"
        unique_together = (
            ("tenant", "member_id", "idempotency_key"),
            ("activity", "member_id", "seq"),
        )
        indexes = (
            ("tenant_id", "activity_id", "id"),
            ("tenant_id", "member_id", "id"),
            ("tenant_id", "prize_id"),
        )


class LotteryClaim(TenantModel):
    """How a goods prize reaches its winner, from the claim to the shipping.

    The winner claims by the deadline (an address, or pickup), then the merchant ships or
    hands it over. Expired when not claimed in time.
    """

    draw: fields.OneToOneRelation[LotteryDraw] = fields.OneToOneField(
        "lottery.LotteryDraw", related_name="claim", on_delete=fields.CASCADE
    )
    draw_id: int
    activity_id = fields.BigIntField()
    member_id = fields.BigIntField()
    status = fields.CharField(max_length=16, default="pending")
    deadline = fields.DatetimeField()
    method = fields.CharField(max_length=16, default="")
    name = fields.CharField(max_length=100, default="")
    phone = fields.CharField(max_length=32, default="")
    address = fields.CharField(max_length=500, default="")
    claimed_at = fields.DatetimeField(null=True)
    carrier = fields.CharField(max_length=100, default="")
    tracking_number = fields.CharField(max_length=100, default="")
    shipped_at = fields.DatetimeField(null=True)

    class Meta:
        table = "lottery_claim"
        indexes = (("tenant_id", "activity_id", "status"),)


class LotteryOrderCredit(TenantModel):
    """Draws a paid order earned in an activity, once per order: the event's idempotency."""

    activity: fields.ForeignKeyRelation[LotteryActivity] = fields.ForeignKeyField(
        "lottery.LotteryActivity", related_name="order_credits", on_delete=fields.CASCADE
    )
    activity_id: int
    order_id = fields.BigIntField()
    member_id = fields.BigIntField()
    draws = fields.IntField()

    class Meta:
        table = "lottery_order_credit"
        unique_together = (("activity", "order_id"),)
