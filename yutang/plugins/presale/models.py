"""Presale tables: activities, the orders placed in them, and each member's units.

SKU, product, member and order ids are plain columns, not foreign keys into the core. An
activity's ``reserved`` (units held by orders not given back) only moves by conditional
UPDATEs bounded by ``stock``, and a CHECK constraint backs it, so a presale of 20 units
never takes a 21st deposit.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped

# order states, in the order they are reached
DEPOSIT_DUE, DEPOSIT_PAID, BALANCE_PAID = "deposit_due", "deposit_paid", "balance_paid"
RELEASED, FORFEITED, REFUNDED = "released", "forfeited", "refunded"
HOLDING = (DEPOSIT_DUE, DEPOSIT_PAID, BALANCE_PAID)


class PresaleActivity(Timestamped):
    """A deposit presale (定金膨胀) of one SKU.

    A unit's deposit counts as ``deduction`` off its final ``price``: the balance is
    ``price - deduction``. Deposits are taken in the deposit window, balances in the
    balance window that opens later. ``refund_forfeited`` is the merchant's policy for a
    balance left unpaid: give the deposit back (else it is kept). Cancelling is final.
    """

    name = fields.CharField(max_length=100)
    sku_id = fields.BigIntField()
    product_id = fields.BigIntField()
    deposit = fields.BigIntField()
    deduction = fields.BigIntField()
    price = fields.BigIntField()
    deposit_starts_at = fields.DatetimeField()
    deposit_ends_at = fields.DatetimeField()
    balance_starts_at = fields.DatetimeField()
    balance_ends_at = fields.DatetimeField()
    stock = fields.IntField()
    reserved = fields.IntField(default=0)
    member_limit = fields.IntField()
    refund_forfeited = fields.BooleanField(default=False)
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "presale_activity"
        indexes = (("tenant_id", "product_id"), ("tenant_id", "balance_ends_at"))
        constraints = (
            CheckConstraint(
                check="reserved >= 0 AND reserved <= stock", name="presale_activity_reserved"
            ),
        )


class PresaleOrder(Timestamped):
    """An order placed in a presale: its units and deposit, and how far it got."""

    activity: fields.ForeignKeyRelation[PresaleActivity] = fields.ForeignKeyField(
        "presale.PresaleActivity", related_name="orders", on_delete=fields.CASCADE
    )
    activity_id: int
    order_id = fields.BigIntField()
    member_id = fields.BigIntField()
    quantity = fields.IntField()
    deposit = fields.BigIntField()
    status = fields.CharField(max_length=16, default=DEPOSIT_DUE)
    deposit_paid_at = fields.DatetimeField(null=True)
    balance_paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "presale_order"
        unique_together = (("tenant", "order_id"),)
        indexes = (("tenant_id", "activity_id", "status"), ("tenant_id", "member_id", "id"))


class PresaleQuota(TenantModel):
    """The units a member holds in an activity (unpaid orders count), for its limit."""

    activity: fields.ForeignKeyRelation[PresaleActivity] = fields.ForeignKeyField(
        "presale.PresaleActivity", related_name="quotas", on_delete=fields.CASCADE
    )
    activity_id: int
    member_id = fields.BigIntField()
    taken = fields.IntField(default=0)

    class Meta:
        table = "presale_quota"
        unique_together = (("tenant", "activity", "member_id"),)
        constraints = (CheckConstraint(check="taken >= 0", name="presale_quota_not_negative"),)
