"""Sessions over HTTP through the real app: tokens last ``token_days`` and say so, logout and
password changes end sessions, owners deactivate staff and change roles (never the last
owner), a deactivated staff member's token stops working everywhere, expired tokens are
purged by a durable job, and a token that stands for no one is UNAUTHENTICATED — also on
the paths answered before GraphQL (the response cache, persisted queries, admission).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from yutang.core.auth import hash_password
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import AuthToken, Operator, Staff
from yutang.core.runtime import Runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import (
    PASSWORD,
    GraphQLClient,
    app_with,
    client_of,
    create_member,
    create_staff,
)

UNAUTHENTICATED = {
    "errors": [
        {
            "message": "the session has ended or the token is not valid; log in again",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
}
ME = "{ me { phone } }"
PRODUCTS = "{ products { edges { cursor } } }"
LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token expiresAt errors { code field } } }"""
REGISTER = """mutation($phone: String!) {
  register(phone: $phone, password: "secret-1") { token expiresAt errors { code field } } }"""
STAFF_LOGIN = """mutation($name: String!, $password: String!) {
  staffLogin(username: $name, password: $password) { token expiresAt errors { code field } } }"""
OPERATOR_LOGIN = """mutation($name: String!, $password: String!) {
  operatorLogin(username: $name, password: $password) {
    token expiresAt errors { code field } } }"""
LOGOUT = "mutation { logout { loggedOut errors { code field message } } }"
CHANGE_PASSWORD = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    changed errors { code field message } } }"""
STAFF = "{ staff { username role active } }"
DEACTIVATE = """mutation($id: ID!) { deactivateStaff(staffId: $id) {
  staff { username active } errors { code field message } } }"""
REACTIVATE = """mutation($id: ID!) { reactivateStaff(staffId: $id) {
  staff { username active } errors { code field message } } }"""
SET_ROLE = """mutation($id: ID!, $role: String!) { setStaffRole(staffId: $id, role: $role) {
  staff { username role } errors { code field message } } }"""
MEMBERS = "{ members { edges { node { phone } } } }"


async def post(
    http: httpx.AsyncClient, path: str, query: str, variables: Any = None, token: str | None = None
) -> httpx.Response:
    headers = {"X-Tenant": "shop"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post(path, json={"query": query, "variables": variables}, headers=headers)


def refused(response: httpx.Response) -> bool:
    """Answered 401 UNAUTHENTICATED before anything ran."""
    return response.status_code == 401 and response.json() == UNAUTHENTICATED


async def test_tokens_last_token_days_and_login_payloads_say_until_when(
    yutang_db: Runtime, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    await create_member(tenant, "13900000001")
    await create_staff(tenant, "owner", "owner")
    await Operator.create(username="platform", password_hash=hash_password(PASSWORD))
    expected = (frozen_clock.current + timedelta(days=3)).isoformat()
    async with client_of(app_with(yutang_db, token_days=3)) as http:
        answers = {
            "login": await post(
                http, "/graphql", LOGIN, {"phone": "13900000001", "password": PASSWORD}
            ),
            "register": await post(http, "/graphql", REGISTER, {"phone": "13900000002"}),
            "staffLogin": await post(
                http, "/admin/graphql", STAFF_LOGIN, {"name": "owner", "password": PASSWORD}
            ),
            "operatorLogin": await post(
                http, "/admin/graphql", OPERATOR_LOGIN, {"name": "platform", "password": PASSWORD}
            ),
        }
        tokens = {}
        for field, response in answers.items():
            payload = response.json()["data"][field]
            assert payload["errors"] == [] and payload["expiresAt"] == expected, field
            tokens[field] = payload["token"]
        member = await post(http, "/graphql", ME, token=tokens["login"])
        assert member.json() == {"data": {"me": {"phone": "13900000001"}}}
        frozen_clock.advance(timedelta(days=3) - timedelta(seconds=1))
        assert (await post(http, "/admin/graphql", STAFF, token=tokens["staffLogin"])).is_success
        frozen_clock.advance(timedelta(seconds=1))
        for field, token in tokens.items():
            path = "/graphql" if field in ("login", "register") else "/admin/graphql"
            assert refused(await post(http, path, PRODUCTS, token=token)), field


async def test_logout_ends_the_session_it_was_sent_with(
    storefront: GraphQLClient, admin: GraphQLClient, tenant: TenantInfo
) -> None:
    await create_member(tenant, "13900000001")
    login = {"phone": "13900000001", "password": PASSWORD}
    first, second = [(await storefront(LOGIN, login))["login"]["token"] for _ in range(2)]
    out = await storefront.as_(first)(LOGOUT)
    assert out == {"logout": {"loggedOut": True, "errors": []}}
    assert refused(await post(storefront.http, "/graphql", ME, token=first))
    assert await storefront.as_(second)(ME) == {"me": {"phone": "13900000001"}}
    anonymous = await storefront(LOGOUT)
    assert anonymous["logout"]["errors"][0]["code"] == "UNAUTHENTICATED"
    # Staff too, on the admin API.
    assert (await admin(LOGOUT))["logout"]["loggedOut"] is True
    assert refused(await post(admin.http, "/admin/graphql", STAFF, token=admin.token))


@pytest.mark.parametrize("kind", ["member", "staff", "operator"])
async def test_changing_a_password_ends_the_other_sessions(
    http: httpx.AsyncClient, tenant: TenantInfo, kind: str
) -> None:
    path, login, variables = {
        "member": ("/graphql", LOGIN, {"phone": "13900000001"}),
        "staff": ("/admin/graphql", STAFF_LOGIN, {"name": "owner"}),
        "operator": ("/admin/graphql", OPERATOR_LOGIN, {"name": "platform"}),
    }[kind]
    field = {"member": "login", "staff": "staffLogin", "operator": "operatorLogin"}[kind]
    await create_member(tenant, "13900000001")
    await create_staff(tenant, "owner", "owner")
    await Operator.create(username="platform", password_hash=hash_password(PASSWORD))

    async def log_in(password: str) -> dict[str, Any]:
        response = await post(http, path, login, {**variables, "password": password})
        payload: dict[str, Any] = response.json()["data"][field]
        return payload

    mine, other = (await log_in(PASSWORD))["token"], (await log_in(PASSWORD))["token"]
    client = GraphQLClient(http, path, "shop", mine)
    wrong = await client(CHANGE_PASSWORD, {"current": "nope-nope", "new": "brand-new-1"})
    assert wrong["changePassword"]["errors"] == [
        {
            "code": "INVALID_CREDENTIALS",
            "field": "currentPassword",
            "message": "wrong current password",
        }
    ]
    short = await client(CHANGE_PASSWORD, {"current": PASSWORD, "new": "short"})
    assert [e["field"] for e in short["changePassword"]["errors"]] == ["newPassword"]
    changed = await client(CHANGE_PASSWORD, {"current": PASSWORD, "new": "brand-new-1"})
    assert changed == {"changePassword": {"changed": True, "errors": []}}
    assert (await post(http, path, PRODUCTS, token=mine)).is_success
    assert refused(await post(http, path, PRODUCTS, token=other))
    assert [e["code"] for e in (await log_in(PASSWORD))["errors"]] == ["INVALID_CREDENTIALS"]
    assert (await log_in("brand-new-1"))["token"]


async def test_an_owner_deactivates_reactivates_and_changes_roles(
    http: httpx.AsyncClient, admin: GraphQLClient, tenant: TenantInfo
) -> None:
    row, token = await create_staff(tenant, "mia", "manager")
    mia = admin.as_(token)
    staff_id = to_global("Staff", row.id)
    assert (await mia(PRODUCTS))["products"] == {"edges": []}
    # Only owners manage staff.
    denied = await mia(DEACTIVATE, {"id": staff_id})
    assert denied["deactivateStaff"]["errors"][0]["code"] == "FORBIDDEN"

    gone = await admin(DEACTIVATE, {"id": staff_id})
    assert gone["deactivateStaff"] == {"staff": {"username": "mia", "active": False}, "errors": []}
    # Her token stops working at once, on fields that name no role too.
    assert refused(await post(http, "/admin/graphql", PRODUCTS, token=token))
    login = {"name": "mia", "password": PASSWORD}
    cannot = (await admin.as_()(STAFF_LOGIN, login))["staffLogin"]
    assert [e["code"] for e in cannot["errors"]] == ["INVALID_CREDENTIALS"]
    assert {"username": "mia", "role": "manager", "active": False} in (await admin(STAFF))["staff"]

    back = await admin(REACTIVATE, {"id": staff_id})
    assert back["reactivateStaff"]["staff"] == {"username": "mia", "active": True}
    assert refused(await post(http, "/admin/graphql", PRODUCTS, token=token))  # stays ended
    fresh = admin.as_((await admin.as_()(STAFF_LOGIN, login))["staffLogin"]["token"])
    assert "members" in await fresh(MEMBERS)

    clerk = await admin(SET_ROLE, {"id": staff_id, "role": "clerk"})
    assert clerk["setStaffRole"] == {"staff": {"username": "mia", "role": "clerk"}, "errors": []}
    body = await fresh.raw(MEMBERS)  # in force on her next request
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await admin(SET_ROLE, {"id": staff_id, "role": "boss"})
    assert bad["setStaffRole"]["errors"][0]["field"] == "role"
    unknown = await admin(DEACTIVATE, {"id": to_global("Staff", 999_999)})
    assert unknown["deactivateStaff"]["errors"][0] == {
        "code": "NOT_FOUND",
        "field": "staffId",
        "message": "staff not found",
    }


async def test_a_staff_member_deactivated_outside_the_api_is_refused_everywhere(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    row, token = await create_staff(tenant, "left", "owner")
    assert (await post(http, "/admin/graphql", PRODUCTS, token=token)).is_success
    await Staff.filter(id=row.id).update(active=False)
    assert refused(await post(http, "/admin/graphql", PRODUCTS, token=token))
    assert refused(await post(http, "/graphql", PRODUCTS, token=token))


ANY_MESSAGE = "…"


def strip(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors with their message replaced (the code and field are the contract)."""
    return [{**e, "message": ANY_MESSAGE} for e in errors]


async def test_the_last_active_owner_can_neither_go_nor_be_demoted(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    owner = await Staff.get(tenant_id=tenant.id, username="owner")
    me = to_global("Staff", owner.id)
    last = [{"code": "LAST_OWNER", "field": "staffId", "message": ANY_MESSAGE}]
    assert strip((await admin(DEACTIVATE, {"id": me}))["deactivateStaff"]["errors"]) == last
    demoted = await admin(SET_ROLE, {"id": me, "role": "manager"})
    assert strip(demoted["setStaffRole"]["errors"]) == last
    # An inactive owner does not count; an active second one does.
    second, _ = await create_staff(tenant, "second", "owner")
    await admin(DEACTIVATE, {"id": to_global("Staff", second.id)})
    assert strip((await admin(DEACTIVATE, {"id": me}))["deactivateStaff"]["errors"]) == last
    await admin(REACTIVATE, {"id": to_global("Staff", second.id)})
    assert (await admin(SET_ROLE, {"id": me, "role": "manager"}))["setStaffRole"]["errors"] == []


def outcome(body: dict[str, Any]) -> str:
    """``ok``, or the code of a payload's or a refused request's error."""
    if "data" not in body:
        code: str = body["errors"][0]["extensions"]["code"]
        return code
    errors = body["data"]["deactivateStaff"]["errors"]
    return str(errors[0]["code"]) if errors else "ok"


@pytest.mark.postgres_only
async def test_two_owners_removing_each_other_at_once_leave_one(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    a, a_token = await create_staff(tenant, "a", "owner")
    b, b_token = await create_staff(tenant, "b", "owner")
    await Staff.filter(tenant_id=tenant.id, username="owner").update(active=False)
    bodies = await asyncio.gather(
        admin.as_(a_token).raw(DEACTIVATE, {"id": to_global("Staff", b.id)}),
        admin.as_(b_token).raw(DEACTIVATE, {"id": to_global("Staff", a.id)}),
    )
    outcomes = sorted(outcome(body) for body in bodies)
    # The loser finds the other is the last owner, or (had it come later) that its own
    # token ended with its deactivation.
    assert outcomes in (["LAST_OWNER", "ok"], ["UNAUTHENTICATED", "ok"]), bodies
    assert await Staff.filter(tenant_id=tenant.id, role="owner", active=True).count() == 1


async def test_expired_tokens_are_purged_by_a_durable_job(
    storefront: GraphQLClient,
    tenant: TenantInfo,
    worker: Worker,
    frozen_clock: FrozenClock,
) -> None:
    await create_member(tenant, "13900000001")
    await Operator.create(username="platform", password_hash=hash_password(PASSWORD))
    login = {"phone": "13900000001", "password": PASSWORD}
    await storefront(LOGIN, login)
    operator = GraphQLClient(storefront.http, "/admin/graphql", "shop")
    await operator(OPERATOR_LOGIN, {"name": "platform", "password": PASSWORD})
    before = await AuthToken.all().count()
    assert before >= 2
    frozen_clock.advance(timedelta(days=30))
    kept = (await storefront(LOGIN, login))["login"]["token"]
    await worker.run_until_idle()
    assert await AuthToken.all().count() == before + 1  # expired, but the day is not over
    frozen_clock.advance(timedelta(days=1))
    await worker.run_until_idle()
    assert await AuthToken.all().count() == 1
    assert await storefront.as_(kept)(ME) == {"me": {"phone": "13900000001"}}


async def test_a_token_that_stands_for_no_one_is_unauthenticated_even_before_graphql(
    yutang_db: Runtime, tenant: TenantInfo, make_product: Any
) -> None:
    await make_product("Tea", [(1000, 5)])
    query = "query { products { edges { node { name } } } }"
    async with client_of(app_with(yutang_db, response_cache=True, response_cache_ttl=30.0)) as http:
        shop = {"X-Tenant": "shop"}
        for _ in range(2):  # the second is a hit
            hit = await http.get("/graphql", params={"query": query}, headers=shop)
        assert hit.headers["x-yutang-cache"] == "hit"
        for header in ("Bearer made-up", "Bearer ", "Basic eDp5"):
            made_up = {**shop, "Authorization": header}
            by_get = await http.get("/graphql", params={"query": query}, headers=made_up)
            assert refused(by_get) and "x-yutang-cache" not in by_get.headers, header
            by_post = await http.post("/graphql", json={"query": query}, headers=made_up)
            assert refused(by_post), header
            admin = await http.post("/admin/graphql", json={"query": query}, headers=made_up)
            assert refused(admin), header
        # A persisted query's hash and an order admitted before GraphQL are refused alike.
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
        refused_hash = await http.post(
            "/graphql",
            json={"extensions": persisted},
            headers={**shop, "Authorization": "Bearer made-up"},
        )
        assert refused(refused_hash)
        place = (
            'mutation { placeOrder(input: {lines: [], idempotencyKey: "k"}) { errors { code } } }'
        )
        order = await post(http, "/graphql", place, token="made-up")
        assert refused(order)
