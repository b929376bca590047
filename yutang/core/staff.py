"""An owner's say over the tenant's staff: deactivating, reactivating, changing roles.

A tenant always keeps an active owner: the last one can be neither deactivated nor
demoted (LAST_OWNER). The active owners are locked first, so two owners removing each
other at once cannot both succeed. Deactivation ends the staff member's sessions at
once; a role change is in force on their next request (the role is read with the token).
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from yutang.core import auth, roles
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import Staff


async def _locked(tenant_id: int, staff_id: int) -> Staff:
    """The staff member, with every active owner of the tenant locked first."""
    await (
        Staff.filter(tenant_id=tenant_id, role="owner", active=True)
        .order_by("id")
        .select_for_update()
    )
    staff = await Staff.filter(tenant_id=tenant_id, id=staff_id).select_for_update().first()
    if staff is None:
        raise NotFound("staff", "staffId")
    return staff


async def _keep_an_owner(tenant_id: int, leaving: Staff) -> None:
    if leaving.role != "owner" or not leaving.active:
        return
    others = Staff.filter(tenant_id=tenant_id, role="owner", active=True).exclude(id=leaving.id)
    if not await others.exists():
        raise DomainError("LAST_OWNER", "the tenant's last active owner must stay", "staffId")


async def set_active(tenant_id: int, staff_id: int, active: bool) -> Staff:
    """Deactivate (sessions end now, logins refused) or reactivate a staff member."""
    async with in_transaction():
        staff = await _locked(tenant_id, staff_id)
        if not active:
            await _keep_an_owner(tenant_id, staff)
            await auth.revoke_sessions("staff", staff.id, tenant_id)
        await Staff.filter(id=staff.id).update(active=active)
        return await Staff.get(id=staff.id)


async def set_role(tenant_id: int, staff_id: int, role: str) -> Staff:
    """Give a staff member another role: built in or one the owner made."""
    async with in_transaction():
        await roles.check_role(tenant_id, role)
        staff = await _locked(tenant_id, staff_id)
        if role != "owner":
            await _keep_an_owner(tenant_id, staff)
        await Staff.filter(id=staff.id).update(role=role)
        return await Staff.get(id=staff.id)
