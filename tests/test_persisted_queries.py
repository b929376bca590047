"""Persisted queries over the real app: the automatic protocol over GET and POST, and the
allowlist a tenant's staff upload, enforced for anonymous callers in ``allowlist`` mode."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import msgspec
import pytest_asyncio

from yutang.app import create_app
from yutang.core.contract import TenantInfo
from yutang.core.models import PersistedOperation, Product
from yutang.core.runtime import Runtime
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

PRODUCTS = "query Products($first: Int!) { products(first: $first) { edges { node { name } } } }"
LOGIN = 'mutation Login($phone: String!) { login(phone: $phone, password: "x") { token } }'
UPLOAD = """
mutation($ops: [PersistedOperationInput!]!, $replace: Boolean! = false) {
  uploadPersistedOperations(operations: $ops, replace: $replace) {
    operations { sha256 name } errors { code field message } } }"""
SHOP = {"X-Tenant": "shop"}

Make = Callable[..., Awaitable[Product]]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(text: str) -> str:
    return msgspec.json.encode({"persistedQuery": {"version": 1, "sha256Hash": sha(text)}}).decode()


@asynccontextmanager
async def serving(runtime: Runtime, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    runtime = dataclasses.replace(
        runtime, settings=msgspec.structs.replace(runtime.settings, response_cache=True, **settings)
    )
    app = create_app(runtime, worker=False, manage_db=False, debug=True)
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as client:
        yield client


@pytest_asyncio.fixture
async def http(yutang_db: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the cache on, any query accepted (``open``)."""
    async with serving(yutang_db) as client:
        yield client


@pytest_asyncio.fixture
async def locked(yutang_db: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app in ``allowlist`` mode."""
    async with serving(yutang_db, persisted_queries="allowlist") as client:
        yield client


async def get(
    http: httpx.AsyncClient, query: str | None, hashed: str, headers: dict[str, str] = SHOP
) -> httpx.Response:
    """A GET sending the hash of ``hashed``, and ``query`` when given."""
    params = {"variables": '{"first": 5}', "extensions": apq(hashed)}
    if query is not None:
        params["query"] = query
    return await http.get("/graphql", params=params, headers=headers)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_the_automatic_protocol_over_get(
    http: httpx.AsyncClient, tenant: TenantInfo, make_product: Make
) -> None:
    await make_product("Tea")
    unknown = await get(http, None, PRODUCTS)
    assert unknown.status_code == 200 and code(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    sent = await get(http, PRODUCTS, PRODUCTS)
    expected = {"data": {"products": {"edges": [{"node": {"name": "Tea"}}]}}}
    assert sent.json() == expected

    by_hash = await get(http, None, PRODUCTS)
    assert by_hash.json() == expected
    assert by_hash.headers["x-yutang-cache"] == "hit" and by_hash.headers["etag"]


async def test_a_hash_that_does_not_match_the_text_is_refused(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    other = "query Products($first: Int!) { products(first: $first) { edges { node { id } } } }"
    wrong = await get(http, PRODUCTS, other)
    assert wrong.status_code == 400 and code(wrong) == "BAD_REQUEST"
    assert code(await get(http, None, PRODUCTS)) == "PERSISTED_QUERY_NOT_FOUND"
    # Nor does a cached answer to the hash go to a request whose text differs.
    assert (await get(http, PRODUCTS, PRODUCTS)).status_code == 200
    assert (await get(http, None, PRODUCTS)).headers.get("x-yutang-cache") == "hit"
    wrong = await get(http, other, PRODUCTS)
    assert wrong.status_code == 400 and code(wrong) == "BAD_REQUEST"


async def test_the_protocol_over_post_runs_mutations_too(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    await create_member(tenant, "13900000001")
    ext = msgspec.json.decode(apq(LOGIN))
    body: dict[str, Any] = {"variables": {"phone": "13900000001"}, "extensions": ext}
    missing = await http.post("/graphql", json=body, headers=SHOP)
    assert code(missing) == "PERSISTED_QUERY_NOT_FOUND"
    await http.post("/graphql", json={**body, "query": LOGIN}, headers=SHOP)
    again = await http.post("/graphql", json=body, headers=SHOP)
    assert again.json()["data"]["login"]["token"] is None
    assert again.headers["cache-control"] == "no-store"
    assert "x-yutang-cache" not in again.headers


async def test_staff_upload_the_allowlist_and_anonymous_callers_are_held_to_it(
    locked: httpx.AsyncClient, tenant: TenantInfo, make_product: Make
) -> None:
    await make_product("Tea")
    refused = await get(locked, PRODUCTS, PRODUCTS)
    assert refused.status_code == 403 and code(refused) == "PERSISTED_QUERY_NOT_ALLOWED"
    plain = await locked.get(
        "/graphql", params={"query": PRODUCTS, "variables": '{"first": 5}'}, headers=SHOP
    )
    assert code(plain) == "PERSISTED_QUERY_NOT_ALLOWED"

    _, token = await create_staff(tenant, "boss", "manager")
    admin = GraphQLClient(locked, "/admin/graphql", "shop", token)
    done = await admin(UPLOAD, {"ops": [{"query": PRODUCTS, "name": "Products"}]})
    assert done["uploadPersistedOperations"] == {
        "operations": [{"sha256": sha(PRODUCTS), "name": "Products"}],
        "errors": [],
    }
    expected = {"data": {"products": {"edges": [{"node": {"name": "Tea"}}]}}}
    assert (await get(locked, None, PRODUCTS)).json() == expected
    assert (await get(locked, PRODUCTS, PRODUCTS)).json() == expected
    assert (await get(locked, None, PRODUCTS)).headers["x-yutang-cache"] == "hit"

    replaced = await admin(UPLOAD, {"ops": [{"query": LOGIN}], "replace": True})
    assert [o["sha256"] for o in replaced["uploadPersistedOperations"]["operations"]] == [
        sha(LOGIN)
    ]
    gone = await get(locked, None, PRODUCTS)
    assert code(gone) == "PERSISTED_QUERY_NOT_FOUND"


async def test_members_and_other_tenants_under_the_allowlist(
    locked: httpx.AsyncClient, tenant: TenantInfo, make_tenant: MakeTenant
) -> None:
    await make_tenant("other")
    _, owner = await create_staff(tenant, "owner", "owner")
    admin = GraphQLClient(locked, "/admin/graphql", "shop", owner)
    await admin(UPLOAD, {"ops": [{"query": PRODUCTS}]})
    assert "data" in (await get(locked, None, PRODUCTS)).json()
    elsewhere = await get(locked, None, PRODUCTS, headers={"X-Tenant": "other"})
    assert code(elsewhere) == "PERSISTED_QUERY_NOT_FOUND"

    _, member = await create_member(tenant, "13900000002")
    as_member = {**SHOP, "Authorization": f"Bearer {member}"}
    free = await locked.get("/graphql", params={"query": "{ me { phone } }"}, headers=as_member)
    assert free.json() == {"data": {"me": {"phone": "13900000002"}}}

    # A token that is no one's here is refused, not a way around the allowlist.
    for made_up in ("Bearer nonsense", "Basic eDp5", f"Bearer {owner}"):  # staff of "shop"
        headers = {"X-Tenant": "other", "Authorization": made_up}
        held = await locked.get("/graphql", params={"query": "{ me { phone } }"}, headers=headers)
        assert (held.status_code, code(held)) == (401, "UNAUTHENTICATED"), made_up


async def test_only_owners_and_managers_upload_valid_documents(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    _, clerk = await create_staff(tenant, "clerk", "clerk")
    as_clerk = GraphQLClient(http, "/admin/graphql", "shop", clerk)
    denied = await as_clerk(UPLOAD, {"ops": [{"query": PRODUCTS}]})
    assert denied["uploadPersistedOperations"]["errors"][0]["code"] == "FORBIDDEN"

    _, owner = await create_staff(tenant, "owner", "owner")
    admin = GraphQLClient(http, "/admin/graphql", "shop", owner)
    bad = await admin(UPLOAD, {"ops": [{"query": PRODUCTS}, {"query": "query {"}]})
    assert bad["uploadPersistedOperations"] == {
        "operations": None,
        "errors": [
            {"code": "INVALID", "field": "operations[1].query", "message": "not a GraphQL document"}
        ],
    }
    long = await admin(UPLOAD, {"ops": [{"query": PRODUCTS, "name": "x" * 201}]})
    assert long["uploadPersistedOperations"]["errors"][0]["field"] == "operations[0].name"
    assert not await PersistedOperation.exists(tenant_id=tenant.id)
    listed = await admin("{ persistedOperations { sha256 } }")
    assert listed == {"persistedOperations": []}
