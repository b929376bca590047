"""The wechatpay plugin's table: merchant transfers (商家转账) paying other plugins'
payouts. Member ids are plain columns: the core's rows are read through ``yutang.api``."""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import Timestamped

TRANSFER_STATUSES = ("awaiting", "open", "paid")


class WeChatPayTransfer(Timestamped):
    """A payout (another plugin's ``reference``) transferred to a member's WeChat balance.

    Status ``awaiting`` (no transfer bill is open: the payee has not asked for it yet, or
    the last bill failed), ``open`` (bill ``out_bill_no`` of attempt ``attempt`` waits on
    the payee's confirmation or the platform) or ``paid``. An attempt ends only when the
    platform says its bill failed or was cancelled, so two bills are never open at once.
    """

    reference = fields.CharField(max_length=128)
    member_id = fields.BigIntField()
    amount = fields.BigIntField()
    status = fields.CharField(max_length=16, default="awaiting")
    attempt = fields.IntField(default=0)
    out_bill_no = fields.CharField(max_length=32, default="")
    openid = fields.CharField(max_length=64, default="")
    transfer_bill_no = fields.CharField(max_length=64, default="")
    fail_reason = fields.CharField(max_length=64, default="")
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "wechatpay_transfer"
        unique_together = (("tenant", "reference"),)
        indexes = (("tenant_id", "member_id"), ("tenant_id", "out_bill_no"))
        constraints = (
            CheckConstraint(
                check="amount > 0 AND status IN ('awaiting', 'open', 'paid')",
                name="wechatpay_transfer_valid",
            ),
        )
