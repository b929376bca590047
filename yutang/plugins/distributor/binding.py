"""Binding a member to the promoter whose link or code brought them.

The settings choose first-link-wins (a live binding is never replaced), latest-link-wins
(replaced unless still within its protection period) or sign-up-only (bound only by the
code given when registering). A binding may expire (``binding_days``); an expired one
earns nothing and may be replaced. Nobody binds to themselves, and no chain of bindings
may loop back to the member.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.distributor.codes import CODES
from yutang.plugins.distributor.models import (
    DistributorBinding,
    DistributorBindingLog,
    DistributorPromoter,
)
from yutang.plugins.distributor.settings import Settings, settings_of

SOURCES = frozenset({"link", "code", "register"})
MAX_CHAIN = 1000  # hops walked looking for a loop; chains are short in practice


def live(binding: DistributorBinding | None, now: datetime) -> bool:
    """True if ``binding`` exists and has not expired."""
    return binding is not None and (binding.expires_at is None or now < binding.expires_at)


async def bind(
    tenant: api.TenantInfo, member_id: int, code: str, source: str
) -> DistributorBinding:
    """Bind the member to the active promoter with ``code``; errors name ``code``."""
    if source not in SOURCES:
        raise api.DomainError("INVALID", f"unknown source {source!r}", "source")
    settings = settings_of(tenant)
    if settings.bind_mode == "signup" and source != "register":
        raise CODES.error(
            "DISTRIBUTOR_BINDING_CLOSED", "members are bound only when signing up", "code"
        )
    typed = api.bounded(code.strip().upper(), "code", 16)
    async with in_transaction():
        promoter = await DistributorPromoter.get_or_none(
            tenant_id=tenant.id, code=typed, status="active"
        )
        if promoter is None:
            raise api.NotFound("promoter code", "code")
        if promoter.member_id == member_id:
            raise CODES.error(
                "DISTRIBUTOR_SELF_BINDING", "a promoter cannot bind to themselves", "code"
            )
        await _lock_pair(tenant.id, member_id, promoter)
        if await _leads_back(tenant.id, promoter.member_id, member_id):
            raise CODES.error(
                "DISTRIBUTOR_BINDING_LOOP", "this promoter is already in the member's team", "code"
            )
        current = (
            await DistributorBinding.filter(tenant_id=tenant.id, member_id=member_id)
            .select_for_update()
            .first()
        )
        now = api.now()
        if current is None:
            return await _create(tenant, settings, member_id, promoter.id, source, now)
        if current.promoter_id == promoter.id and live(current, now):
            return current
        _check_replaceable(settings, current, now)
        return await _replace(tenant, settings, current, promoter.id, source, now)


async def _lock_pair(tenant_id: int, member_id: int, promoter: DistributorPromoter) -> None:
    """Lock the promoter rows of both ends, in id order: two binds that would close a
    loop between them (A to B, B to A) then run one after the other."""
    ids = {promoter.id}
    own = await DistributorPromoter.get_or_none(tenant_id=tenant_id, member_id=member_id)
    if own is not None:
        ids.add(own.id)
    for pk in sorted(ids):
        await DistributorPromoter.filter(id=pk).select_for_update().first()


async def _leads_back(tenant_id: int, start_member_id: int, member_id: int) -> bool:
    """True if walking up the bindings from ``start_member_id`` reaches ``member_id``."""
    seen = {start_member_id}
    current = start_member_id
    for _ in range(MAX_CHAIN):
        up = (
            await DistributorBinding.filter(tenant_id=tenant_id, member_id=current)
            .select_related("promoter")
            .first()
        )
        if up is None:
            return False
        current = up.promoter.member_id
        if current == member_id:
            return True
        if current in seen:
            return False
        seen.add(current)
    return False


def _check_replaceable(settings: Settings, current: DistributorBinding, now: datetime) -> None:
    if not live(current, now):
        return
    if settings.bind_mode in ("first", "signup"):
        raise CODES.error("DISTRIBUTOR_ALREADY_BOUND", "this member is already bound", "code")
    if current.protected_until is not None and now < current.protected_until:
        raise CODES.error(
            "DISTRIBUTOR_BINDING_PROTECTED", "this member's binding is still protected", "code"
        )


def _terms(settings: Settings, now: datetime) -> dict[str, Any]:
    days, protect = settings.binding_days, settings.protection_days
    return {
        "bound_at": now,
        "expires_at": now + timedelta(days=days) if days else None,
        "protected_until": now + timedelta(days=protect) if protect else None,
    }


async def _create(
    tenant: api.TenantInfo,
    settings: Settings,
    member_id: int,
    promoter_id: int,
    source: str,
    now: datetime,
) -> DistributorBinding:
    try:
        async with in_transaction():
            row = await DistributorBinding.create(
                tenant_id=tenant.id,
                member_id=member_id,
                promoter_id=promoter_id,
                source=source,
                **_terms(settings, now),
            )
    except IntegrityError:
        raise api.DomainError("CONFLICT", "the member was bound meanwhile; retry", "code") from None
    await _log(tenant.id, row, None)
    return row


async def _replace(
    tenant: api.TenantInfo,
    settings: Settings,
    current: DistributorBinding,
    promoter_id: int,
    source: str,
    now: datetime,
) -> DistributorBinding:
    replaced = current.promoter_id
    terms = _terms(settings, now)
    await DistributorBinding.filter(id=current.id).update(
        promoter_id=promoter_id, source=source, **terms
    )
    await current.refresh_from_db()
    await _log(tenant.id, current, replaced)
    return current


async def _log(tenant_id: int, row: DistributorBinding, replaced: int | None) -> None:
    await DistributorBindingLog.create(
        tenant_id=tenant_id,
        member_id=row.member_id,
        promoter_id=row.promoter_id,
        replaced_promoter_id=replaced,
        source=row.source,
        bound_at=row.bound_at,
    )


async def upline(tenant_id: int, member_id: int, now: datetime) -> DistributorPromoter | None:
    """The active promoter a member's live binding points at, if any."""
    row = (
        await DistributorBinding.filter(tenant_id=tenant_id, member_id=member_id)
        .select_related("promoter")
        .first()
    )
    if row is None or not live(row, now) or row.promoter.status != "active":
        return None
    return row.promoter
