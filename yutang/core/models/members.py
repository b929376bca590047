"""Members (the customer pond), their points ledger and levels."""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.core.models.base import Timestamped

GENDERS = ("unknown", "male", "female")


class Member(Timestamped):
    """A customer of one tenant. ``points`` is the balance of the ledger, kept in step.

    The profile (nickname, avatar, birthday, gender, region code) is the member's own to
    change; empty strings and null mean not given."""

    phone = fields.CharField(max_length=32)
    password_hash = fields.CharField(max_length=200)
    nickname = fields.CharField(max_length=100, default="")
    avatar_url = fields.CharField(max_length=500, default="", db_default="")
    birthday = fields.DateField(null=True)
    gender = fields.CharField(max_length=8, default="unknown", db_default="unknown")
    region = fields.CharField(max_length=6, default="", db_default="")
    tags: list[str] = fields.JSONField(default=list)
    referrer: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "core.Member", related_name="referred", null=True, on_delete=fields.SET_NULL
    )
    referrer_id: int | None
    points = fields.BigIntField(default=0)
    paid_spend = fields.BigIntField(default=0)

    class Meta:
        table = "member"
        unique_together = (("tenant", "phone"),)
        indexes = (("tenant_id", "paid_spend", "id"),)
        constraints = (CheckConstraint(check="points >= 0", name="member_points_not_negative"),)


class PointsEntry(Timestamped):
    """One append-only movement of the points of a member, never edited or deleted."""

    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "core.Member", related_name="points_entries", on_delete=fields.RESTRICT
    )
    delta = fields.BigIntField()
    balance_after = fields.BigIntField()
    reason = fields.CharField(max_length=64)
    reference = fields.CharField(max_length=128, default="")

    class Meta:
        table = "points_entry"
        indexes = (("tenant_id", "member_id", "id"),)
        unique_together = (("tenant", "member", "reason", "reference"),)


class MemberLevel(Timestamped):
    """A level reached by cumulative paid spend, with its member discount."""

    name = fields.CharField(max_length=64)
    min_spend = fields.BigIntField()
    discount_percent = fields.IntField()

    class Meta:
        table = "member_level"
        unique_together = (("tenant", "min_spend"),)
        constraints = (
            CheckConstraint(
                check="discount_percent > 0 AND discount_percent <= 100",
                name="member_level_discount_range",
            ),
        )


class VerificationCode(Timestamped):
    """The live one-time code sent to a phone for one purpose, replaced by the next one.

    Only its argon2 hash is kept, and it allows ``attempts_left`` more checks."""

    phone = fields.CharField(max_length=32)
    purpose = fields.CharField(max_length=32)
    code_hash = fields.CharField(max_length=200)
    expires_at = fields.DatetimeField()
    attempts_left = fields.IntField()

    class Meta:
        table = "verification_code"
        unique_together = (("tenant", "phone", "purpose"),)
        indexes = (("tenant_id", "expires_at"),)
