"""Group-buy tables: activities and their SKUs, teams, seats and the per-member counter.

SKU, product, member and order ids are plain columns, not foreign keys into the core: a
plugin's rows must not block (or vanish with) catalogue edits. A team's ``seats`` (held
and paid) only moves by conditional UPDATEs bounded by ``size``, and a CHECK constraint
backs it, so a team of N can never hold N+1 members.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped

# team states
PENDING, OPEN, SUCCEEDED, FAILED, ABANDONED = "pending", "open", "succeeded", "failed", "abandoned"
# seat states
HELD, PAID, RELEASED, REFUNDED = "held", "paid", "released", "refunded"


class GroupbuyActivity(Timestamped):
    """A group-buy campaign: window, team size, team validity, member limit, seat hold.

    Stopping is final. ``virtual_completion`` completes expiring teams with virtual members.
    """

    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    team_size = fields.IntField()
    validity_minutes = fields.IntField()
    member_limit = fields.IntField()
    payment_minutes = fields.IntField()
    virtual_completion = fields.BooleanField(default=False)
    stopped_at = fields.DatetimeField(null=True)

    class Meta:
        table = "groupbuy_activity"
        indexes = (("tenant_id", "ends_at"),)
        constraints = (
            CheckConstraint(check="team_size >= 2", name="groupbuy_activity_team_size_min"),
        )


class GroupbuyItem(Timestamped):
    """A SKU sold in an activity at the group price, and optionally a leader price."""

    activity: fields.ForeignKeyRelation[GroupbuyActivity] = fields.ForeignKeyField(
        "groupbuy.GroupbuyActivity", related_name="items", on_delete=fields.CASCADE
    )
    activity_id: int
    position = fields.IntField()
    sku_id = fields.BigIntField()
    product_id = fields.BigIntField()
    price = fields.BigIntField()
    leader_price = fields.BigIntField(null=True)

    class Meta:
        table = "groupbuy_item"
        indexes = (("tenant_id", "sku_id"), ("tenant_id", "product_id"))
        constraints = (
            CheckConstraint(check="price >= 0", name="groupbuy_item_price_not_negative"),
        )


class GroupbuyTeam(Timestamped):
    """A team (团): pending until its leader paid, then open until full or expired.

    ``seats`` counts held and paid seats, ``paid`` the paid ones, ``virtual`` the members
    added by virtual completion. Expiry is counted from the leader's payment.
    """

    activity: fields.ForeignKeyRelation[GroupbuyActivity] = fields.ForeignKeyField(
        "groupbuy.GroupbuyActivity", related_name="teams", on_delete=fields.CASCADE
    )
    activity_id: int
    leader_id = fields.BigIntField()
    status = fields.CharField(max_length=16, default=PENDING)
    size = fields.IntField()
    seats = fields.IntField(default=1)
    paid = fields.IntField(default=0)
    virtual = fields.IntField(default=0)
    opened_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "groupbuy_team"
        indexes = (("tenant_id", "activity_id", "status"), ("tenant_id", "status", "expires_at"))
        constraints = (
            CheckConstraint(check="seats >= 0 AND seats <= size", name="groupbuy_team_seats_range"),
            CheckConstraint(check="paid >= 0 AND paid <= size", name="groupbuy_team_paid_range"),
        )


class GroupbuySeat(Timestamped):
    """One member's place in a team, bought by one order.

    held (unpaid) then paid, released (order cancelled) or refunded. A late payment may
    move the seat to another team (``moved_from_id``). ``late_payment_id`` records a
    payment that arrived after the order was cancelled (refunded by the core).
    """

    team: fields.ForeignKeyRelation[GroupbuyTeam] = fields.ForeignKeyField(
        "groupbuy.GroupbuyTeam", related_name="members", on_delete=fields.CASCADE
    )
    team_id: int
    activity: fields.ForeignKeyRelation[GroupbuyActivity] = fields.ForeignKeyField(
        "groupbuy.GroupbuyActivity", related_name="seats", on_delete=fields.CASCADE
    )
    activity_id: int
    item_id = fields.BigIntField()
    member_id = fields.BigIntField()
    order_id = fields.BigIntField()
    quantity = fields.IntField()
    released = fields.IntField(default=0)
    leader = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default=HELD)
    paid_at = fields.DatetimeField(null=True)
    moved_from_id = fields.BigIntField(null=True)
    late_payment_id = fields.BigIntField(null=True)

    class Meta:
        table = "groupbuy_seat"
        unique_together = (("tenant", "order_id"),)
        indexes = (("tenant_id", "team_id"), ("tenant_id", "member_id", "id"))
        constraints = (
            CheckConstraint(
                check="released >= 0 AND released <= quantity", name="groupbuy_seat_released_range"
            ),
        )


class GroupbuyQuota(TenantModel):
    """Units a member holds in an activity, unpaid orders included: the limit's counter.

    Raised only by a conditional UPDATE.
    """

    activity: fields.ForeignKeyRelation[GroupbuyActivity] = fields.ForeignKeyField(
        "groupbuy.GroupbuyActivity", related_name="quotas", on_delete=fields.CASCADE
    )
    activity_id: int
    member_id = fields.BigIntField()
    taken = fields.IntField(default=0)

    class Meta:
        table = "groupbuy_quota"
        unique_together = (("activity", "member_id"),)
        constraints = (CheckConstraint(check="taken >= 0", name="groupbuy_quota_not_negative"),)
