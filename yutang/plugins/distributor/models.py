"""Distributor tables: promoters with their balances, bindings, per-SKU rules, order
snapshots, commissions, the append-only ledger and withdrawals.

Member, staff, store, order, line and SKU ids are plain columns, not foreign keys into
the core: the core's rows are read through ``yutang.api`` only.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped

PROMOTER_STATUSES = ("applied", "active", "rejected")
COMMISSION_STATUSES = ("pending", "frozen", "available", "reversed")
WITHDRAWAL_STATUSES = ("requested", "approved", "paid", "rejected")


class DistributorPromoter(Timestamped):
    """A member who may earn commission, with the balance of each ledger bucket.

    Status applied, active or rejected. A staff promoter (导购) names their staff
    account and store. Balances change only together with a ledger entry, and the
    available balance may go negative after a refund (netted against later earnings).
    """

    member_id = fields.BigIntField()
    status = fields.CharField(max_length=16)
    source = fields.CharField(max_length=16)
    code = fields.CharField(max_length=16)
    staff_id = fields.BigIntField(null=True)
    store_id = fields.BigIntField(null=True)
    joined_at = fields.DatetimeField()
    reviewed_at = fields.DatetimeField(null=True)
    pending = fields.BigIntField(default=0)
    frozen = fields.BigIntField(default=0)
    available = fields.BigIntField(default=0)
    withdrawing = fields.BigIntField(default=0)
    withdrawn = fields.BigIntField(default=0)

    class Meta:
        table = "distributor_promoter"
        unique_together = (("tenant", "member_id"), ("tenant", "code"))
        indexes = (("tenant_id", "status"),)
        constraints = (
            CheckConstraint(check="withdrawing >= 0", name="distributor_withdrawing_not_negative"),
        )


class DistributorBinding(Timestamped):
    """The promoter a member is bound to now, since when, by what, and until when"""

    member_id = fields.BigIntField()
    promoter: fields.ForeignKeyRelation[DistributorPromoter] = fields.ForeignKeyField(
        "distributor.DistributorPromoter", related_name="bindings", on_delete=fields.RESTRICT
    )
    promoter_id: int
    source = fields.CharField(max_length=16)
    bound_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    protected_until = fields.DatetimeField(null=True)

    class Meta:
        table = "distributor_binding"
        unique_together = (("tenant", "member_id"),)
        indexes = (("tenant_id", "promoter_id"),)


class DistributorBindingLog(Timestamped):
    """Every binding ever made, kept when latest-link-wins replaces one"""

    member_id = fields.BigIntField()
    promoter_id = fields.BigIntField()
    replaced_promoter_id = fields.BigIntField(null=True)
    source = fields.CharField(max_length=16)
    bound_at = fields.DatetimeField()

    class Meta:
        table = "distributor_binding_log"
        indexes = (("tenant_id", "member_id"),)


class DistributorRule(TenantModel):
    """A SKU's own commission: a percentage (basis points) or a fixed amount per unit"""

    sku_id = fields.BigIntField()
    kind = fields.CharField(max_length=8)
    first_level = fields.BigIntField()
    second_level = fields.BigIntField()

    class Meta:
        table = "distributor_rule"
        unique_together = (("tenant", "sku_id"),)
        constraints = (
            CheckConstraint(
                check="first_level >= 0 AND second_level >= 0", name="distributor_rule_positive"
            ),
        )


class DistributorOrder(Timestamped):
    """The promoters of an order and the rules in force, snapshotted when it was placed"""

    order_id = fields.BigIntField()
    member_id = fields.BigIntField()
    first_promoter_id = fields.BigIntField()
    second_promoter_id = fields.BigIntField(null=True)
    store_id = fields.BigIntField(null=True)
    plan: dict[str, Any] = fields.JSONField()
    refund_ids: list[int] = fields.JSONField(default=list)
    accrued_at = fields.DatetimeField(null=True)

    class Meta:
        table = "distributor_order"
        unique_together = (("tenant", "order_id"),)


class DistributorCommission(Timestamped):
    """What one order line earns one promoter at one level.

    ``line_amount`` is what the line paid, ``basis`` that plus its share of fees when
    fees earn commission. Status pending (paid), frozen (completed), available, or
    reversed (refunded in full). The amount never changes: refunds add up in the
    reversed columns and the ledger.
    """

    order_id = fields.BigIntField()
    line_id = fields.BigIntField()
    level = fields.SmallIntField()
    promoter: fields.ForeignKeyRelation[DistributorPromoter] = fields.ForeignKeyField(
        "distributor.DistributorPromoter", related_name="commissions", on_delete=fields.RESTRICT
    )
    promoter_id: int
    member_id = fields.BigIntField()
    sku_id = fields.BigIntField()
    product_name = fields.CharField(max_length=200)
    quantity = fields.IntField()
    line_amount = fields.BigIntField()
    basis = fields.BigIntField()
    kind = fields.CharField(max_length=8)
    rate = fields.BigIntField()
    amount = fields.BigIntField()
    status = fields.CharField(max_length=16)
    earned_at = fields.DatetimeField()
    unfreeze_at = fields.DatetimeField(null=True)
    reversed_quantity = fields.IntField(default=0)
    reversed_basis = fields.BigIntField(default=0)
    reversed_amount = fields.BigIntField(default=0)

    class Meta:
        table = "distributor_commission"
        unique_together = (("tenant", "line_id", "level"),)
        indexes = (("tenant_id", "order_id"), ("tenant_id", "promoter_id", "status"))
        constraints = (
            CheckConstraint(
                check="reversed_amount >= 0 AND reversed_amount <= amount",
                name="distributor_commission_reversed_range",
            ),
        )


class DistributorEntry(Timestamped):
    """One movement of a promoter's money between buckets, never edited or deleted.

    ``source`` and ``target`` are buckets (pending, frozen, available, withdrawing,
    withdrawn) or null for money coming in (earned) or going away (reversed).
    ``reference`` is unique per tenant and makes every posting idempotent.
    """

    promoter: fields.ForeignKeyRelation[DistributorPromoter] = fields.ForeignKeyField(
        "distributor.DistributorPromoter", related_name="entries", on_delete=fields.RESTRICT
    )
    promoter_id: int
    kind = fields.CharField(max_length=16)
    amount = fields.BigIntField()
    source = fields.CharField(max_length=16, null=True)
    target = fields.CharField(max_length=16, null=True)
    reference = fields.CharField(max_length=64)
    commission_id = fields.BigIntField(null=True)
    withdrawal_id = fields.BigIntField(null=True)
    booked_at = fields.DatetimeField()

    class Meta:
        table = "distributor_entry"
        unique_together = (("tenant", "reference"),)
        indexes = (("tenant_id", "promoter_id"),)
        constraints = (CheckConstraint(check="amount > 0", name="distributor_entry_positive"),)


class DistributorWithdrawal(Timestamped):
    """A promoter's request to be paid out, reserved from the available balance.

    Status requested, approved (payout under way), paid or rejected.
    """

    promoter: fields.ForeignKeyRelation[DistributorPromoter] = fields.ForeignKeyField(
        "distributor.DistributorPromoter", related_name="withdrawals", on_delete=fields.RESTRICT
    )
    promoter_id: int
    idempotency_key = fields.CharField(max_length=128)
    amount = fields.BigIntField()
    fee = fields.BigIntField()
    account = fields.CharField(max_length=200)
    status = fields.CharField(max_length=16)
    requested_at = fields.DatetimeField()
    reviewed_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)
    payout_reference = fields.CharField(max_length=128, default="")

    class Meta:
        table = "distributor_withdrawal"
        unique_together = (("tenant", "promoter", "idempotency_key"),)
        indexes = (("tenant_id", "status"),)
        constraints = (
            CheckConstraint(
                check="amount > 0 AND fee >= 0 AND fee <= amount",
                name="distributor_withdrawal_amounts",
            ),
        )
