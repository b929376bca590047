"""One permission model: every admin field requires a declared permission, checked the
same way for the core and every plugin; roles an owner makes; store scope; the caller's
own permissions; the audit log.

The matrix is generated from the schema and the declarations: every root field of the
admin schema of a tenant with every plugin, called by each built-in role, an operator,
a member and no one, must be refused exactly when the declarations say so.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from graphql.pyutils import Undefined

from yutang import api
from yutang.core import auth, builtin
from yutang.core.contract import ROLES, TenantInfo
from yutang.core.errors import ConfigError
from yutang.core.models import AuditEntry, Operator, Staff, Store, StoreStaff
from yutang.core.permissions import Grants
from yutang.core.plugins import PluginRegistry
from yutang.core.runtime import Runtime
from yutang.graphql.permissions import ANY_STAFF, ANYONE, OPERATORS, required
from yutang.graphql.schema import build_schema
from yutang.testing import GraphQLClient, create_member, create_staff

DENIED = {"FORBIDDEN", "UNAUTHENTICATED"}
SCALARS = {
    "ID": '"AAAA"',
    "String": '"x"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "false",
    "JSON": "{}",
    "DateTime": '"2026-01-01T00:00:00+00:00"',
    "Date": '"2026-01-01"',
}


@pytest_asyncio.fixture
async def tenant(make_tenant, yutang_runtime: Runtime) -> TenantInfo:  # type: ignore[no-untyped-def]
    names = sorted(set(yutang_runtime.registry.plugins) - {"core"})
    return await make_tenant("shop", plugins=names)


def literal(kind: GraphQLInputType) -> str:
    """A well-typed value for an input of ``kind``: the resolver may refuse it, GraphQL
    may not, so the permission check is what answers first."""
    if isinstance(kind, GraphQLNonNull):
        return literal(kind.of_type)
    if isinstance(kind, GraphQLList):
        return "[]"
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        needed = (
            f"{name}: {literal(f.type)}"
            for name, f in kind.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        )
        return "{" + ", ".join(needed) + "}"
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS.get(kind.name, '"1"')


def document(op: str, name: str, field: GraphQLField) -> str:
    """``op { name(required args) { selection } }`` for a root field."""
    args = ", ".join(
        f"{arg_name}: {literal(arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    )
    call = f"{name}({args})" if args else name
    result = get_named_type(field.type)
    if isinstance(result, GraphQLObjectType) and "errors" in result.fields:
        selection = " { errors { code } }"
    elif isinstance(result, GraphQLScalarType | GraphQLEnumType):
        selection = ""
    else:
        selection = " { __typename }"
    return f"{op} {{ {call}{selection} }}"


def refusal(body: dict[str, Any], name: str) -> set[str]:
    """The denial codes a response carries, in its payload or as GraphQL errors."""
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    payload = (body.get("data") or {}).get(name)
    if isinstance(payload, dict):
        codes |= {e["code"] for e in payload.get("errors") or []}
    return codes & DENIED


def allowed(permission: str, caller: str, declared: dict[str, api.Permission]) -> bool:
    if permission == OPERATORS:
        return caller == "operator"
    if caller in ("member", "anonymous"):
        return False
    if caller in ("operator", "owner") or permission == ANY_STAFF:
        return True
    return caller in declared[permission].roles


def admin_fields(schema: Any) -> list[tuple[str, str, GraphQLField, str]]:
    """(operation, name, field, permission) of every admin root field but logging in."""
    found = []
    for op, root in (
        ("query", schema._schema.query_type),
        ("mutation", schema._schema.mutation_type),
    ):
        for name, field in root.fields.items():
            requires = required(field.extensions["strawberry-definition"])
            assert requires is not None, f"{name} requires nothing"
            if requires.permission != ANYONE:
                found.append((op, name, field, requires.permission))
    return found


async def test_every_admin_field_refuses_exactly_whom_the_declarations_say(
    http: Any, tenant: TenantInfo, yutang_runtime: Runtime
) -> None:
    declared = dict(yutang_runtime.registry.permissions)
    schema = build_schema("admin", yutang_runtime.registry.plugin_set(sorted(tenant.plugins)))
    staff = {role: (await create_staff(tenant, role, role))[0] for role in ROLES}
    operator = await Operator.create(username="op", password_hash="x")
    member, _ = await create_member(tenant, "13900000009")
    fields = admin_fields(schema)
    assert len(fields) > 60
    wrong: list[str] = []
    for op, name, field, permission in fields:
        text = document(op, name, field)
        for caller in ("owner", "manager", "clerk", "operator", "member", "anonymous"):
            if caller in staff:
                token: str | None = await auth.issue_token("staff", staff[caller].id, tenant.id)
            elif caller == "operator":
                token = await auth.issue_token("operator", operator.id, None)
            elif caller == "member":
                token = await auth.issue_token("member", member.id, tenant.id)
            else:
                token = None
            body = await GraphQLClient(http, "/admin/graphql", tenant.slug, token).raw(text)
            assert body.get("data") is not None or body.get("errors"), body
            denied = bool(refusal(body, name))
            if denied == allowed(permission, caller, declared):
                wrong.append(f"{name} ({permission}) as {caller}: {body}")
    assert not wrong, "\n".join(wrong)


async def loose(info: api.Info) -> int:
    return 1


def admin_schema_with(name: str, contribution: api.GraphQLContribution) -> None:
    """Build the admin schema of a registry holding the core and a plugin contributing
    ``contribution``."""
    module = ModuleType(f"{name}_plugin")

    @api.hookimpl
    def yutang_graphql_admin() -> api.GraphQLContribution:
        return contribution

    module.yutang_graphql_admin = yutang_graphql_admin  # type: ignore[attr-defined]
    registry = PluginRegistry()
    registry.register("core", builtin)
    registry.register(name, module)
    build_schema("admin", registry.plugin_set([name]))


def test_an_admin_field_without_a_permission_does_not_build() -> None:
    with pytest.raises(ConfigError, match=r"admin field Query.loose names no permission"):
        admin_schema_with("loose", api.GraphQLContribution(query=[api.field(loose)]))


# --- an owner's own roles, through the admin API -------------------------------------------

SAVE_ROLE = """mutation($key: String!, $name: String!, $permissions: [String!]!, $all: Boolean!) {
  saveStaffRole(key: $key, name: $name, permissions: $permissions, allStores: $all) {
    role { key name builtIn permissions allStores } errors { code field } } }"""
CREATE_STAFF = """mutation($u: String!, $role: String!) {
  createStaff(username: $u, password: "s3cret-pass", role: $role) {
    staff { id role } errors { code field } } }"""
LOGIN = """mutation($u: String!) {
  staffLogin(username: $u, password: "s3cret-pass") { token errors { code } } }"""
MINE = "{ myPermissions { role everything permissions allStores storeIds } }"
TEMPLATE = """mutation {
  createCouponTemplate(input: {name: "满100减10", kind: "fixed", value: 1000, minSpend: 10000,
    validDays: 7}) { template { id } errors { code field } } }"""
ORDERS = "{ orders { edges { node { id } } } }"
AUDIT = """query($staff: ID) { auditLog(staffId: $staff) {
  edges { node { actor username action plugin target } } } }"""


async def test_an_owner_makes_a_coupon_clerk_role_and_it_works(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    made = await admin(
        SAVE_ROLE,
        {
            "key": "coupon_clerk",
            "name": "优惠券专员",
            "permissions": ["coupons.view", "coupons.manage"],
            "all": False,
        },
    )
    assert made["saveStaffRole"] == {
        "role": {
            "key": "coupon_clerk",
            "name": "优惠券专员",
            "builtIn": False,
            "permissions": ["coupons.manage", "coupons.view"],
            "allStores": False,
        },
        "errors": [],
    }
    created = (await admin(CREATE_STAFF, {"u": "xiaomei", "role": "coupon_clerk"}))["createStaff"]
    assert created["errors"] == [] and created["staff"]["role"] == "coupon_clerk"
    login = (await admin.as_(None)(LOGIN, {"u": "xiaomei"}))["staffLogin"]
    clerk = admin.as_(login["token"])

    mine = (await clerk(MINE))["myPermissions"]
    assert mine == {
        "role": "coupon_clerk",
        "everything": False,
        "permissions": ["coupons.manage", "coupons.view"],
        "allStores": False,
        "storeIds": [],
    }
    template = (await clerk(TEMPLATE))["createCouponTemplate"]
    assert template["errors"] == [], template
    body = await clerk.raw(ORDERS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    entries = (await admin(AUDIT, {"staff": created["staff"]["id"]}))["auditLog"]["edges"]
    assert [e["node"] for e in entries] == [
        {
            "actor": f"staff:{api.pk_of(created['staff']['id'], 'Staff')}",
            "username": "xiaomei",
            "action": "createCouponTemplate",
            "plugin": "coupons",
            "target": template["template"]["id"],
        }
    ]
    # the owner's own actions are there too, under the owner
    actions = {e["node"]["action"] for e in (await admin(AUDIT))["auditLog"]["edges"]}
    assert {"saveStaffRole", "createStaff", "createCouponTemplate"} <= actions

    # narrowing the role is in force on the clerk's next request
    await admin(
        SAVE_ROLE,
        {
            "key": "coupon_clerk",
            "name": "优惠券专员",
            "permissions": ["coupons.view"],
            "all": False,
        },
    )
    refused = (await clerk(TEMPLATE))["createCouponTemplate"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    assert await AuditEntry.filter(tenant_id=tenant.id, action="createCouponTemplate").count() == 1


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"key": "manager", "permissions": []}, "INVALID", "key"),
        ({"key": "x", "permissions": []}, "INVALID", "key"),
        ({"key": "spy", "permissions": ["core.audit.view"]}, "INVALID", "permissions[0]"),
        ({"key": "spy", "permissions": ["coupons.view", "nope.view"]}, "INVALID", "permissions[1]"),
        ({"key": "spy", "permissions": ["coupons.view"] * 2}, "DUPLICATE", "permissions"),
    ],
)
async def test_a_bad_role_is_refused_naming_the_field_and_writes_nothing(
    admin: GraphQLClient, variables: dict[str, Any], code: str, field: str
) -> None:
    payload = (await admin(SAVE_ROLE, {"name": "n", "all": False, **variables}))["saveStaffRole"]
    assert payload["errors"] == [{"code": code, "field": field}]
    roles = (await admin("{ staffRoles { key } }"))["staffRoles"]
    assert [r["key"] for r in roles] == ["owner", "manager", "clerk"]


async def test_only_the_owner_makes_roles_and_a_held_role_stays(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    _, token = await create_staff(tenant, "boss2", "manager")
    manager = admin.as_(token)
    role = {"key": "packer", "name": "打包", "permissions": ["core.orders.ship"], "all": True}
    refused = (await manager(SAVE_ROLE, role))["saveStaffRole"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    assert (await admin(SAVE_ROLE, role))["saveStaffRole"]["errors"] == []
    await admin(CREATE_STAFF, {"u": "packer1", "role": "packer"})
    delete = 'mutation { deleteStaffRole(key: "packer") { deleted errors { code field } } }'
    held = (await admin(delete))["deleteStaffRole"]
    assert held == {"deleted": False, "errors": [{"code": "ROLE_IN_USE", "field": "key"}]}
    staff = await Staff.get(tenant_id=tenant.id, username="packer1")
    set_role = """mutation($id: ID!, $role: String!) {
      setStaffRole(staffId: $id, role: $role) { errors { code field } } }"""
    staff_id = api.to_global("Staff", staff.id)
    changed = await admin(set_role, {"id": staff_id, "role": "clerk"})
    assert changed["setStaffRole"]["errors"] == []
    assert (await admin(delete))["deleteStaffRole"] == {"deleted": True, "errors": []}
    gone = await admin(set_role, {"id": staff_id, "role": "packer"})
    assert gone["setStaffRole"]["errors"] == [{"code": "INVALID", "field": "role"}]


# --- store scope (pickup orders through a real checkout: tests/test_pickup.py) -------------


def test_a_store_bound_grant_reaches_its_stores_and_no_storeless_object() -> None:
    scoped = api.Permission("core.orders.view", "x", ("clerk",), store_scoped=True)
    flat = api.Permission("core.catalog.view", "x", ("clerk",))
    clerk = Grants("clerk", False, frozenset({scoped.name, flat.name}), frozenset({7}))
    manager = Grants("manager", False, frozenset({scoped.name}), None)
    assert clerk.reaches(scoped, 7) and not clerk.reaches(scoped, 8)
    assert not clerk.reaches(scoped, None)
    assert clerk.reaches(flat, None) and manager.reaches(scoped, None)


async def test_a_deactivated_staff_member_is_refused_everywhere(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    row, token = await create_staff(tenant, "gone", "manager")
    await Staff.filter(id=row.id).update(active=False)
    for text in (ORDERS, MINE, "{ couponTemplates { edges { node { id } } } }"):
        body = await admin.as_(token).raw(text)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_declared_permissions_are_listed_for_a_role_editor(
    admin: GraphQLClient,
) -> None:
    listed = (await admin("{ permissions { name defaultRoles storeScoped grantable } }"))[
        "permissions"
    ]
    by_name = {p["name"]: p for p in listed}
    assert by_name["core.orders.view"] == {
        "name": "core.orders.view",
        "defaultRoles": ["owner", "manager", "clerk"],
        "storeScoped": True,
        "grantable": True,
    }
    assert by_name["core.audit.view"]["defaultRoles"] == ["owner"]
    assert by_name["core.audit.view"]["grantable"] is False
    assert by_name["pickup.verify"]["storeScoped"] is True
    assert {"coupons.manage", "seckill.view", "core.catalog.manage"} <= by_name.keys()


# --- the list in docs: every permission, who holds it, which fields require it -------------

LIST = Path(__file__).resolve().parents[1] / "docs" / "schema" / "permissions.md"


def render(runtime: Runtime, schema: Any, plugins: set[str]) -> str:
    """Every permission ``plugins`` declare with its defaults and the fields requiring it."""
    fields: dict[str, list[str]] = {}
    for op, name, _, permission in admin_fields(schema):
        fields.setdefault(permission, []).append(f"`{name}`" + (" (mutation)" * (op != "query")))
    out = [
        "# Permissions",
        "",
        "Generated from the core's and each first-party plugin's `yutang_permissions` and the",
        "admin schema (regenerate with `UPDATE_SDL=1 pytest tests/test_permissions.py`).",
        "Owners and platform operators hold every permission. *Store-scoped* ones reach a",
        "store-bound role's (a clerk's) own stores only; the owner's own cannot be granted to a",
        "role an owner makes. `staff` fields are open to any of the tenant's staff, `operators`",
        "fields to platform operators only.",
        "",
        "| permission | default roles | scope | what | admin fields |",
        "|---|---|---|---|---|",
    ]
    declared = runtime.registry.permissions
    ours = sorted(n for n in declared if n.partition(".")[0] in plugins)
    for name in [*ours, ANY_STAFF, OPERATORS]:
        p = declared.get(name)
        roles = ", ".join(r for r in ROLES if p is not None and (r == "owner" or r in p.roles))
        scope = (
            ""
            if p is None
            else ("store" if p.store_scoped else "") + (" owner's own" if not p.grantable else "")
        )
        what = p.description if p is not None else ""
        needs = ", ".join(fields.get(name, [])) or "—"
        out.append(f"| `{name}` | {roles} | {scope.strip()} | {what} | {needs} |")
    return "\n".join(out) + "\n"


def test_the_list_in_docs_is_current(yutang_runtime: Runtime) -> None:
    groups = importlib.metadata.entry_points(group="yutang.plugins")
    shipped = sorted(ep.name for ep in groups if ep.value.startswith("yutang.plugins."))
    schema = build_schema("admin", yutang_runtime.registry.plugin_set(shipped))
    expected = render(yutang_runtime, schema, {"core", *shipped})
    if os.environ.get("UPDATE_SDL"):
        LIST.write_text(expected, encoding="utf-8")
    assert LIST.read_text(encoding="utf-8") == expected, (
        "regenerate: UPDATE_SDL=1 pytest tests/test_permissions.py"
    )


ASSIGN = """mutation($store: ID!, $staff: ID!) {
  assignStoreStaff(storeId: $store, staffId: $staff) { staff { id } errors { code } } }"""


async def test_no_made_role_can_widen_its_own_stores(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    """A branch manager bound to its stores cannot join another store to reach its orders;
    the owner's assignment is in the audit log against the staff member."""
    store = await Store.create(tenant_id=tenant.id, name="西门店")
    shop_manage = {"key": "branch", "name": "店长", "permissions": ["core.shop.manage"]}
    assert (await admin(SAVE_ROLE, shop_manage | {"all": False}))["saveStaffRole"]["errors"] == []
    staff, token = await create_staff(tenant, "branch1", "branch")
    ids = {"store": api.to_global("Store", store.id), "staff": api.to_global("Staff", staff.id)}
    refused = (await admin.as_(token)(ASSIGN, ids))["assignStoreStaff"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    assert not await StoreStaff.exists(tenant_id=tenant.id, staff_id=staff.id)
    assert (await admin(ASSIGN, ids))["assignStoreStaff"]["errors"] == []
    entry = await AuditEntry.get(tenant_id=tenant.id, action="assignStoreStaff")
    assert entry.target == ids["staff"]


async def test_an_operators_platform_actions_stay_out_of_the_tenants_log(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    operator = await Operator.create(username="op", password_hash="x")
    token = await auth.issue_token("operator", operator.id, None)
    made = (
        'mutation { createTenant(slug: "other", name: "别家") { tenant { slug } errors { code } } }'
    )
    assert (await admin.as_(token)(made))["createTenant"]["errors"] == []
    assert not await AuditEntry.filter(tenant_id=tenant.id).exists()


def test_root_fields_cannot_hide_in_extend() -> None:
    with pytest.raises(ConfigError, match=r"root fields go in query= and mutation="):
        admin_schema_with("hiding", api.GraphQLContribution(extend={"Query": [api.field(loose)]}))
