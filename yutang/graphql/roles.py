"""Admin: what permissions exist, the roles that hold them, the caller's own grants, the
owner's roles, and the audit log (操作日志)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from yutang.core import roles as core_roles
from yutang.core.contract import ROLES
from yutang.core.models import AuditEntry, Staff, StaffRole
from yutang.core.permissions import default_grants
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import ANY_STAFF, admin_field, admin_mutation, grants
from yutang.graphql.types import Connection, Node, UserError, gid, keyset_page

Info = strawberry.Info[Context, None]


@strawberry.type(description="A permission the core or a plugin declares.")
class PermissionNode:
    name: str
    description: str
    default_roles: list[str] = strawberry.field(
        description="The built-in roles holding it by default (owners hold every one)."
    )
    store_scoped: bool = strawberry.field(
        description="Acts on a store's objects: a role bound to its stores reaches its own only."
    )
    grantable: bool = strawberry.field(
        description="False for the owner's own: no role an owner makes can hold it."
    )


@strawberry.type(description="A role staff can be given: built in, or made by the owner.")
class StaffRoleNode:
    key: str
    name: str
    built_in: bool
    permissions: list[str]
    all_stores: bool = strawberry.field(
        description="Whether store-scoped permissions reach every store or the holder's own."
    )


@strawberry.type(description="What the caller may do here, to show only that.")
class MyPermissions:
    role: str
    everything: bool = strawberry.field(description="Operators and owners: every permission.")
    permissions: list[str] = strawberry.field(description="Every permission the caller holds.")
    all_stores: bool
    store_ids: list[strawberry.ID] = strawberry.field(
        description="The stores a store-scoped permission reaches, unless `allStores`."
    )


@strawberry.type(description="One staff action through the admin API.")
class AuditEntryNode(Node):
    actor: str = strawberry.field(description="`staff:<id>` or `operator:<id>`.")
    username: str | None = strawberry.field(description="The staff member's, if staff.")
    action: str = strawberry.field(description="The admin mutation, e.g. `stopCouponTemplate`.")
    plugin: str
    target: str = strawberry.field(description="The global ID it acted on, or empty.")
    at: datetime


@strawberry.type
class StaffRolePayload:
    role: StaffRoleNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteStaffRolePayload:
    deleted: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


def _made(row: StaffRole) -> StaffRoleNode:
    return StaffRoleNode(
        key=row.key,
        name=row.name,
        built_in=False,
        permissions=list(row.permissions),
        all_stores=row.all_stores,
    )


def _built_in(ctx: Context) -> list[StaffRoleNode]:
    declared = ctx.runtime.registry.permissions
    return [
        StaffRoleNode(
            key=role,
            name=role,
            built_in=True,
            permissions=sorted(declared if role == "owner" else default_grants(declared, role)),
            all_stores=role != "clerk",
        )
        for role in ROLES
    ]


async def _entries(tenant_id: int, rows: list[AuditEntry]) -> list[AuditEntryNode]:
    staff_ids = {int(r.actor.partition(":")[2]) for r in rows if r.actor.startswith("staff:")}
    staff = Staff.filter(tenant_id=tenant_id, id__in=sorted(staff_ids))
    names = dict(await staff.values_list("id", "username"))
    return [
        AuditEntryNode(
            id=gid("AuditEntry", r.id),
            actor=r.actor,
            username=names.get(int(r.actor.partition(":")[2]))
            if r.actor.startswith("staff:")
            else None,
            action=r.action,
            plugin=r.plugin,
            target=r.target,
            at=r.created_at,
        )
        for r in rows
    ]


@strawberry.type
class RolesQuery:
    @admin_field("core.staff.view", description="Every declared permission, by name.")
    async def permissions(self, info: Info) -> list[PermissionNode]:
        declared = info.context.runtime.registry.permissions
        return [
            PermissionNode(
                name=p.name,
                description=p.description,
                default_roles=[r for r in ROLES if r == "owner" or r in p.roles],
                store_scoped=p.store_scoped,
                grantable=p.grantable,
            )
            for p in sorted(declared.values(), key=lambda p: p.name)
        ]

    @admin_field("core.staff.view", description="The built-in roles, then the owner's.")
    async def staff_roles(self, info: Info) -> list[StaffRoleNode]:
        ctx = info.context
        made = await StaffRole.filter(tenant_id=ctx.tenant.id).order_by("key")
        return [*_built_in(ctx), *(_made(r) for r in made)]

    @admin_field(ANY_STAFF, description="The caller's own permissions and stores.")
    async def my_permissions(self, info: Info) -> MyPermissions:
        ctx = info.context
        found = await grants(ctx)
        declared = ctx.runtime.registry.permissions
        held = declared.keys() if found.everything else found.permissions
        return MyPermissions(
            role=found.role,
            everything=found.everything,
            permissions=sorted(held),
            all_stores=found.stores is None,
            store_ids=[gid("Store", s) for s in sorted(found.stores or ())],
        )

    @admin_field(
        "core.audit.view",
        description="Staff actions, newest first; by one staff member or action if given.",
    )
    async def audit_log(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        staff_id: strawberry.ID | None = None,
        action: str | None = None,
    ) -> Connection[AuditEntryNode]:
        ctx = info.context
        query = AuditEntry.filter(tenant_id=ctx.tenant.id)
        if staff_id is not None:
            query = query.filter(actor=f"staff:{pk_of(staff_id, 'Staff', 'staffId')}")
        if action is not None:
            query = query.filter(action=action)
        return await keyset_page(query, first, after, lambda rows: _entries(ctx.tenant.id, rows))


@strawberry.type
class RolesMutation:
    @admin_mutation(
        "core.staff.manage",
        description="Make a role from declared permissions, or replace what it holds (its "
        "staff have the change on their next request).",
    )
    async def save_staff_role(
        self,
        info: Info,
        key: str,
        name: str,
        permissions: list[str],
        all_stores: bool = False,
    ) -> StaffRolePayload:
        ctx = info.context

        async def run() -> StaffRoleNode:
            declared = ctx.runtime.registry.permissions
            row = await core_roles.save_role(
                ctx.tenant.id, declared, key, name, permissions, all_stores
            )
            return _made(row)

        role, errors = await attempt(run)
        return StaffRolePayload(role=role, errors=errors)

    @admin_mutation(
        "core.staff.manage", description="Delete a role nobody holds (ROLE_IN_USE otherwise)."
    )
    async def delete_staff_role(self, info: Info, key: str) -> DeleteStaffRolePayload:
        ctx = info.context

        async def run() -> bool:
            await core_roles.delete_role(ctx.tenant.id, key)
            return True

        done, errors = await attempt(run)
        return DeleteStaffRolePayload(deleted=bool(done), errors=errors)
