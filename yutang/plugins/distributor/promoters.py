"""Becoming a promoter: by application and staff review, automatically, or by spend, as the
tenant's settings say — never by paying anything. Staff (导购) are appointed for their store."""

from __future__ import annotations

import secrets

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.distributor.codes import CODES
from yutang.plugins.distributor.models import DistributorPromoter
from yutang.plugins.distributor.settings import settings_of

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread
CODE_LENGTH = 8


def new_code() -> str:
    """An unguessable invite code, easy to read aloud."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def _create(
    tenant: api.TenantInfo,
    member_id: int,
    status: str,
    source: str,
    staff_id: int | None = None,
    store_id: int | None = None,
) -> DistributorPromoter:
    """A new promoter row, or the member's existing one (a concurrent insert lost)."""
    now = api.now()
    for _ in range(5):
        try:
            async with in_transaction():
                return await DistributorPromoter.create(
                    tenant_id=tenant.id,
                    member_id=member_id,
                    status=status,
                    source=source,
                    code=new_code(),
                    joined_at=now,
                    reviewed_at=now if status == "active" else None,
                    staff_id=staff_id,
                    store_id=store_id,
                )
        except IntegrityError:
            found = await DistributorPromoter.get_or_none(tenant_id=tenant.id, member_id=member_id)
            if found is not None:
                return found
    raise api.DomainError("CONFLICT", "could not allocate an invite code; retry", "code")


async def apply(tenant: api.TenantInfo, member_id: int) -> DistributorPromoter:
    """The member asks to become a promoter: active at once (auto, or spend reached) or
    waiting for staff (apply). A rejected member may apply again."""
    settings = settings_of(tenant)
    async with in_transaction():
        row = (
            await DistributorPromoter.filter(tenant_id=tenant.id, member_id=member_id)
            .select_for_update()
            .first()
        )
        if row is not None and row.status != "rejected":
            return row
        if settings.promoter_mode == "spend":
            spend = (await api.member_info(tenant, member_id)).paid_spend
            if spend < settings.spend_threshold:
                raise api.DomainError(
                    "NOT_ELIGIBLE",
                    f"promoters must have spent {settings.spend_threshold} first",
                    "memberId",
                )
        status = "applied" if settings.promoter_mode == "apply" else "active"
        if row is None:
            return await _create(tenant, member_id, status, settings.promoter_mode)
        now = api.now()
        await DistributorPromoter.filter(id=row.id).update(
            status=status, source=settings.promoter_mode, joined_at=now, reviewed_at=None
        )
        await row.refresh_from_db()
        return row


async def enrol(tenant: api.TenantInfo, member_id: int, source: str) -> None:
    """Make a member a promoter without asking (auto mode at sign-up, spend threshold
    reached); one who applied is activated, one already active or rejected is left."""
    row = await DistributorPromoter.get_or_none(tenant_id=tenant.id, member_id=member_id)
    if row is None:
        await _create(tenant, member_id, "active", source)
    elif row.status == "applied":
        await DistributorPromoter.filter(id=row.id, status="applied").update(
            status="active", source=source, reviewed_at=api.now()
        )


async def review(tenant: api.TenantInfo, promoter_id: int, approve: bool) -> DistributorPromoter:
    """Staff approve or reject an application."""
    async with in_transaction():
        updated = await DistributorPromoter.filter(
            tenant_id=tenant.id, id=promoter_id, status="applied"
        ).update(status="active" if approve else "rejected", reviewed_at=api.now())
        row = await DistributorPromoter.get_or_none(tenant_id=tenant.id, id=promoter_id)
        if row is None:
            raise api.NotFound("promoter", "promoterId")
        if not updated:
            raise api.DomainError(
                "ILLEGAL_TRANSITION", f"this promoter is {row.status}, not applied", "promoterId"
            )
    return row


async def appoint_staff(
    tenant: api.TenantInfo, member_id: int, staff_id: int, store_id: int
) -> DistributorPromoter:
    """Make a staff member's member account a promoter bound to their store (导购); the
    staff must be active and belong to that store."""
    if await api.staff_role(tenant, staff_id) is None:
        raise api.NotFound("staff", "staffId")
    stores = await api.store_views(tenant, [store_id])
    if not stores:
        raise api.NotFound("store", "storeId")
    if staff_id not in stores[0].staff_ids:
        raise CODES.error(
            "DISTRIBUTOR_NOT_STORE_STAFF", "this staff does not work at that store", "storeId"
        )
    if await api.member_joined_at(tenant, member_id) is None:
        raise api.NotFound("member", "memberId")
    async with in_transaction():
        row = await _create(
            tenant, member_id, "active", "staff", staff_id=staff_id, store_id=store_id
        )
        await DistributorPromoter.filter(id=row.id).update(
            status="active",
            source="staff",
            staff_id=staff_id,
            store_id=store_id,
            reviewed_at=api.now(),
        )
        await row.refresh_from_db()
    return row
