"""Admin: the tenant's staff as GraphQL objects, and the owner's mutations over them
(deactivate, reactivate, change role)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from yutang.core import staff as core_staff
from yutang.core.models import Staff, StoreStaff
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import admin_mutation
from yutang.graphql.types import Node, UserError, gid

Info = strawberry.Info[Context, None]


@strawberry.type
class StaffMember(Node):
    username: str
    name: str
    role: str
    active: bool
    store_ids: list[strawberry.ID]


@strawberry.type
class StaffPayload:
    staff: StaffMember | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def staff_nodes(tenant_id: int, rows: list[Staff]) -> list[StaffMember]:
    """Staff with their stores (one query for all links)."""
    links = await StoreStaff.filter(tenant_id=tenant_id, staff_id__in=[s.id for s in rows]).values(
        "staff_id", "store_id"
    )
    return [
        StaffMember(
            id=gid("Staff", s.id),
            username=s.username,
            name=s.name,
            role=s.role,
            active=s.active,
            store_ids=[gid("Store", ln["store_id"]) for ln in links if ln["staff_id"] == s.id],
        )
        for s in rows
    ]


def _pk(staff_id: strawberry.ID) -> int:
    return pk_of(staff_id, "Staff", "staffId")


async def _changed(ctx: Context, change: Callable[[], Awaitable[Staff]]) -> StaffPayload:
    """Run an owner's change of a staff member (its errors in the payload)."""

    async def run() -> StaffMember:
        row = await change()
        return (await staff_nodes(ctx.tenant.id, [row]))[0]

    staff, errors = await attempt(run)
    return StaffPayload(staff=staff, errors=errors)


@strawberry.type
class StaffMutation:
    @admin_mutation(
        "core.staff.manage",
        description="Deactivate a staff member (owners): their sessions end now and they "
        "cannot log in. The last active owner stays (LAST_OWNER).",
    )
    async def deactivate_staff(self, info: Info, staff_id: strawberry.ID) -> StaffPayload:
        ctx = info.context
        return await _changed(
            ctx, lambda: core_staff.set_active(ctx.tenant.id, _pk(staff_id), False)
        )

    @admin_mutation(
        "core.staff.manage", description="Let a deactivated staff member log in again (owners)."
    )
    async def reactivate_staff(self, info: Info, staff_id: strawberry.ID) -> StaffPayload:
        ctx = info.context
        return await _changed(
            ctx, lambda: core_staff.set_active(ctx.tenant.id, _pk(staff_id), True)
        )

    @admin_mutation(
        "core.staff.manage",
        description="Give a staff member another role: owner, manager or clerk (owners); "
        "the last active owner cannot be demoted (LAST_OWNER).",
    )
    async def set_staff_role(self, info: Info, staff_id: strawberry.ID, role: str) -> StaffPayload:
        ctx = info.context
        return await _changed(ctx, lambda: core_staff.set_role(ctx.tenant.id, _pk(staff_id), role))
