"""Roles an owner makes from declared permissions, and the check that a role exists.

A made role has a ``key`` staff are assigned by (``coupon_clerk``), a display ``name``
(``优惠券专员``), its permissions and whether it reaches every store. It holds exactly
its list: permissions declared later are not added, ones no longer declared (a plugin
uninstalled) are ignored, the owner's own (``grantable=False``) are refused. A role still
assigned to someone cannot be deleted (ROLE_IN_USE).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from tortoise.transactions import in_transaction

from yutang.core.contract import ROLES, Permission
from yutang.core.errors import DomainError, NotFound
from yutang.core.inputs import bounded
from yutang.core.models import Staff, StaffRole

KEY = re.compile(r"[a-z][a-z0-9_]{1,31}")


async def check_role(tenant_id: int, role: str, field: str = "role") -> None:
    """Refuse a role that is neither built in nor made in this tenant. Called in the
    assigning transaction: the made role's row stays locked until it commits, so a
    concurrent ``delete_role`` waits and then sees the staff member holding it."""
    if role in ROLES:
        return
    if await StaffRole.filter(tenant_id=tenant_id, key=role).select_for_update().first():
        return
    raise DomainError("INVALID", f"no role {role!r}: {', '.join(ROLES)} or one you made", field)


def _checked(declared: Mapping[str, Permission], permissions: Sequence[str]) -> list[str]:
    for i, name in enumerate(permissions):
        permission = declared.get(name)
        if permission is None:
            raise DomainError("INVALID", f"no permission {name!r}", f"permissions[{i}]")
        if not permission.grantable:
            raise DomainError("INVALID", f"{name} is the owner's alone", f"permissions[{i}]")
    if len(set(permissions)) != len(permissions):
        raise DomainError("DUPLICATE", "a permission is listed twice", "permissions")
    return sorted(permissions)


async def save_role(
    tenant_id: int,
    declared: Mapping[str, Permission],
    key: str,
    name: str,
    permissions: Sequence[str],
    all_stores: bool,
) -> StaffRole:
    """Create the role ``key``, or replace what it holds (its staff have it next request)."""
    if key in ROLES or not KEY.fullmatch(key):
        raise DomainError(
            "INVALID", "2 to 32 of a-z, 0-9 and _, starting with a letter, not built in", "key"
        )
    if not name.strip():
        raise DomainError("REQUIRED", "a role needs a name", "name")
    bounded(name, "name", 64)
    held = _checked(declared, permissions)
    async with in_transaction():
        values = {"name": name, "permissions": held, "all_stores": all_stores}
        row, created = await StaffRole.get_or_create(tenant_id=tenant_id, key=key, defaults=values)
        if not created:
            await row.update_from_dict(values).save()
        return row


async def delete_role(tenant_id: int, key: str) -> None:
    """Delete a made role nobody holds."""
    if not KEY.fullmatch(key):  # no such role could exist; the column would refuse it
        raise NotFound("role", "key")
    async with in_transaction():
        row = await StaffRole.filter(tenant_id=tenant_id, key=key).select_for_update().first()
        if row is None:
            raise NotFound("role", "key")
        if await Staff.exists(tenant_id=tenant_id, role=key):
            raise DomainError("ROLE_IN_USE", "give its staff another role first", "key")
        await row.delete()
