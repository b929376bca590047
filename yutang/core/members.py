"""Members: registration, login, password reset, the points ledger and levels by
cumulative spend."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import auth, outbox, verification
from yutang.core.accounts import Account, Gate, Password, Phone, checked_password, log_in
from yutang.core.accounts import set_password as store_password
from yutang.core.auth import IssuedToken
from yutang.core.contract import MemberInfo, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.inputs import convert, validate_extensions
from yutang.core.models import Member, MemberLevel, PointsEntry
from yutang.core.plugins import hooks_of


class RegisterInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A member's sign-up; ``code`` was sent to the phone (when the tenant asks for one);
    ``extensions`` are per-plugin inputs (a promoter code)."""

    phone: Phone
    password: Password
    nickname: Annotated[str, msgspec.Meta(max_length=100)] = ""
    referrer_id: int | None = None
    code: str | None = None
    extensions: dict[str, Any] = msgspec.field(default_factory=dict)


async def register(
    tenant: TenantInfo, data: RegisterInput, token_days: int
) -> tuple[Member, IssuedToken]:
    """Create a member and a session; events ``member_registered`` (and ``_referred``).

    A phone in use is PHONE_TAKEN whether or not a code was sent (the product tells a
    shopper they already have an account); a tenant that asks for a code refuses the
    registration without the right one."""
    extensions = validate_extensions(tenant, "register", data.extensions)
    if await Member.exists(tenant_id=tenant.id, phone=data.phone):
        raise DomainError("PHONE_TAKEN", "this phone is already registered", "phone")
    code_id = None
    if verification.enabled(tenant, "register"):
        if not data.code:
            raise DomainError("CODE_REQUIRED", "enter the code sent to this phone", "code")
        code_id = await verification.check_code(tenant, data.phone, "register", data.code)
    password_hash = await auth.hash_in_thread(data.password)
    async with in_transaction():
        if code_id is not None:
            await verification.use_code(tenant, code_id)
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
        await hooks_of(tenant).call(
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
        issued = await auth.open_session("member", member.id, tenant.id, token_days)
    return member, issued


async def login(
    tenant: TenantInfo, phone: str, password: str, gate: Gate
) -> tuple[int, IssuedToken]:
    """The member and a session for a phone and password; one error for both mistakes."""
    account, issued = await log_in(
        gate, "member", tenant.id, phone, password, "wrong phone or password"
    )
    return account.id, issued


async def reset_password(
    tenant: TenantInfo, phone: str, code: str, password: str, token_days: int
) -> tuple[Member, IssuedToken]:
    """A new password for the member of ``phone``, proven by a code sent to it; every
    session of theirs ends and a new one opens. An unknown phone is CODE_EXPIRED, as
    for a phone no code was sent to."""
    if not verification.enabled(tenant, "reset_password"):
        raise DomainError("INVALID", "this shop does not reset passwords by code", "code")
    new = checked_password(password, "newPassword")
    phone = convert(phone, Phone, "phone")  # a value that is no phone cannot fit the column
    member = await Member.get_or_none(tenant_id=tenant.id, phone=phone)
    if member is None:
        raise DomainError("CODE_EXPIRED", "no valid code; ask for a new one", "code")
    code_id = await verification.check_code(tenant, phone, "reset_password", code)
    password_hash = await auth.hash_in_thread(new)
    account = Account("member", member.id, tenant.id, phone, member.password_hash)
    async with in_transaction():
        await verification.use_code(tenant, code_id)
        await store_password(account, password_hash, keep=None)
        issued = await auth.open_session("member", member.id, tenant.id, token_days)
    return member, issued


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
