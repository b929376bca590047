"""Members: registration, login, the points ledger and levels by cumulative spend."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import auth, outbox
from yutang.core.errors import DomainError
from yutang.core.inputs import bounded, validate_extensions
from yutang.core.models import Member, MemberLevel, PointsEntry
from yutang.core.pricing import MemberInfo
from yutang.core.tenancy import TenantInfo

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, pattern=r"^\+?[0-9-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=6, max_length=128)]


class RegisterInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A member's sign-up; ``extensions`` are per-plugin inputs (a promoter code)."""

    phone: Phone
    password: Password
    nickname: Annotated[str, msgspec.Meta(max_length=100)] = ""
    referrer_id: int | None = None
    extensions: dict[str, Any] = msgspec.field(default_factory=dict)


async def register(tenant: TenantInfo, data: RegisterInput) -> tuple[Member, str]:
    """Create a member and a token; events ``member_registered`` (and ``_referred``)."""
    extensions = validate_extensions(tenant, "register", data.extensions)
    password_hash = auth.hash_password(data.password)
    async with in_transaction():
        referrer = None
        if data.referrer_id is not None:
            referrer = await Member.get_or_none(tenant_id=tenant.id, id=data.referrer_id)
            if referrer is None:
                raise DomainError("NOT_FOUND", "referrer not found", "referrerId")
        try:
            async with in_transaction():
                member = await Member.create(
                    tenant_id=tenant.id,
                    phone=data.phone,
                    password_hash=password_hash,
                    nickname=data.nickname,
                    referrer=referrer,
                )
        except IntegrityError as exc:
            raise DomainError("PHONE_TAKEN", "this phone is already registered", "phone") from exc
        await tenant.hooks.call(
            "yutang_accept_member", tenant=tenant, member_id=member.id, extensions=extensions
        )
        data_out = {"extensions": {k: msgspec.to_builtins(v) for k, v in extensions.items()}}
        await outbox.emit(tenant, "yutang_member_registered", member_id=member.id, data=data_out)
        if referrer is not None:
            await outbox.emit(
                tenant,
                "yutang_member_referred",
                member_id=member.id,
                data={"referrer_id": referrer.id},
            )
        token = await auth.issue_token("member", member.id, tenant.id)
    return member, token


async def login(tenant: TenantInfo, phone: str, password: str) -> str:
    """A token for a member's phone and password; the same error for both mistakes."""
    bounded(phone, "phone", 32)
    bounded(password, "password", 128)
    member = await Member.get_or_none(tenant_id=tenant.id, phone=phone)
    if member is None or not auth.verify_password(member.password_hash, password):
        raise DomainError("INVALID_CREDENTIALS", "wrong phone or password", "password")
    return await auth.issue_token("member", member.id, tenant.id)


async def change_points(
    tenant: TenantInfo, member_id: int, delta: int, reason: str, reference: str
) -> bool:
    """Append one ledger entry and move the balance, atomically; never below zero.

    Idempotent per (member, reason, reference): a repeat returns False and changes
    nothing. A debit larger than the balance raises INSUFFICIENT_POINTS. Must run in
    the caller's transaction.
    """
    exists = await PointsEntry.exists(
        tenant_id=tenant.id, member_id=member_id, reason=reason, reference=reference
    )
    if exists:
        return False
    query = Member.filter(tenant_id=tenant.id, id=member_id)
    if delta < 0:
        query = query.filter(points__gte=-delta)
    if not await query.update(points=F("points") + delta):
        raise DomainError("INSUFFICIENT_POINTS", "not enough points", "points")
    balance = (await Member.get(id=member_id)).points
    await PointsEntry.create(
        tenant_id=tenant.id,
        member_id=member_id,
        delta=delta,
        balance_after=balance,
        reason=reason,
        reference=reference,
    )
    return True


async def revoke_points(
    tenant: TenantInfo, member_id: int, amount: int, reason: str, reference: str
) -> int:
    """Take back up to ``amount`` points (what is left if the member spent some)."""
    row = await Member.get_or_none(tenant_id=tenant.id, id=member_id)
    take = min(amount, row.points if row else 0)
    if take:
        await change_points(tenant, member_id, -take, reason, reference)
    return take


async def member_info(tenant: TenantInfo, member_id: int) -> MemberInfo:
    """What pricing needs to know about a member, with the level their spend reached."""
    row = await Member.get(tenant_id=tenant.id, id=member_id)
    level = (
        await MemberLevel.filter(tenant_id=tenant.id, min_spend__lte=row.paid_spend)
        .order_by("-min_spend")
        .first()
    )
    return MemberInfo(
        id=row.id,
        tags=list(row.tags),
        points=row.points,
        paid_spend=row.paid_spend,
        level_name=level.name if level else None,
        level_discount_percent=level.discount_percent if level else None,
    )
