"""One-time codes sent to a phone: the provider contract, the ``dev`` provider, and the
life of a code, which is the core's whatever the provider.

A provider only delivers (an SMS gateway); the core makes the code, keeps its argon2 hash
with an expiry and a number of attempts, limits how often codes are sent per phone and
per client address, checks what the shopper types, and uses a code up once it served. So
no provider can get expiry, attempts or storage wrong.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import auth, clock
from yutang.core.accounts import Gate, Phone
from yutang.core.contract import TenantInfo, VerificationProvider
from yutang.core.errors import DomainError
from yutang.core.expiry import schedule_purge
from yutang.core.inputs import convert
from yutang.core.models import Member, VerificationCode
from yutang.core.plugins import hooks_of
from yutang.core.settings_core import core_settings

Purpose = Literal["register", "reset_password"]
DIGITS = 6

log = logging.getLogger("yutang.verification.dev")


class DevProvider:
    """Writes each code to the log (``yutang.verification.dev``) instead of sending it:
    for development and tests (``yutang.testing``'s ``sent_codes`` reads it). Refused
    with ``YUTANG_ENV=production``; the code is never in a response."""

    name = "dev"

    async def send(self, tenant: TenantInfo, phone: str, code: str, purpose: str) -> None:
        """Log the code."""
        log.warning("verification code for %s %s (%s): %s", tenant.slug, phone, purpose, code)


class CodeRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A shopper asking for a code."""

    phone: Phone
    purpose: Purpose


def providers(tenant: TenantInfo) -> dict[str, VerificationProvider]:
    """Providers installed in the tenant's plugin set, by name."""
    return hooks_of(tenant).by_name("yutang_verification_providers")


def enabled(tenant: TenantInfo, purpose: str) -> bool:
    """Whether this tenant asks for a code for ``purpose``."""
    settings = core_settings(tenant)
    if purpose == "register":
        return settings.register_requires_code
    return settings.password_reset_by_code


async def request_code(
    tenant: TenantInfo, phone: str, purpose: str, gate: Gate, *, production: bool
) -> datetime:
    """Send a new code to ``phone`` for ``purpose``; the moment it expires.

    PHONE_TAKEN for a registration code to a phone in use (as ``register`` answers); for
    a password reset of an unknown phone nothing is sent, but the answer is the same.
    TOO_MANY_ATTEMPTS past the limits per phone and per address.
    """
    data = convert({"phone": phone, "purpose": purpose}, CodeRequest)
    if not enabled(tenant, data.purpose):
        raise DomainError("INVALID", "this shop does not send codes for that", "purpose")
    settings = core_settings(tenant)
    provider = providers(tenant).get(settings.verification_provider)
    if provider is None or (production and provider.name == "dev"):
        raise DomainError("VERIFICATION_UNAVAILABLE", "codes cannot be sent now", "phone")
    await gate.throttle.spend_code(f"{tenant.id}:{data.phone}", gate.address)
    known = await Member.exists(tenant_id=tenant.id, phone=data.phone)
    if data.purpose == "register" and known:
        raise DomainError("PHONE_TAKEN", "this phone is already registered", "phone")
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    code_hash = await auth.hash_in_thread(code)
    expires_at = clock.now() + timedelta(minutes=settings.code_minutes)
    if data.purpose == "reset_password" and not known:
        return expires_at
    async with in_transaction():
        await VerificationCode.filter(
            tenant_id=tenant.id, phone=data.phone, purpose=data.purpose
        ).delete()
        await VerificationCode.create(
            tenant_id=tenant.id,
            phone=data.phone,
            purpose=data.purpose,
            code_hash=code_hash,
            expires_at=expires_at,
            attempts_left=settings.code_attempts,
        )
        await schedule_purge(tenant.id, expires_at)
    await provider.send(tenant, data.phone, code, data.purpose)
    return expires_at


async def check_code(tenant: TenantInfo, phone: str, purpose: str, code: str) -> int:
    """The id of the live code ``code`` is, for :func:`use_code`; each check spends one of
    its attempts. CODE_EXPIRED when there is none (never sent, expired, used, out of
    attempts), INVALID_CODE for another code."""
    now = clock.now()
    row = await VerificationCode.get_or_none(tenant_id=tenant.id, phone=phone, purpose=purpose)
    if row is None or row.expires_at <= now:
        raise DomainError("CODE_EXPIRED", "no valid code; ask for a new one", "code")
    spent = await VerificationCode.filter(id=row.id, attempts_left__gt=0).update(
        attempts_left=F("attempts_left") - 1
    )
    if not spent:
        raise DomainError("CODE_EXPIRED", "too many wrong codes; ask for a new one", "code")
    if not await auth.verify_password(row.code_hash, code.strip()):
        raise DomainError("INVALID_CODE", "wrong code", "code")
    code_id: int = row.id
    return code_id


async def use_code(tenant: TenantInfo, code_id: int) -> None:
    """Use a checked code up, in the transaction of what it allows: a code serves once,
    and of two requests racing with it one gets CODE_EXPIRED."""
    if not await VerificationCode.filter(tenant_id=tenant.id, id=code_id).delete():
        raise DomainError("CODE_EXPIRED", "no valid code; ask for a new one", "code")
