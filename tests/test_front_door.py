"""The front door over the real app: document limits before any parse, the query cost
limit, introspection in production, security headers and one ``X-Tenant``.

Timing claims are comparisons inside a test (an over-limit request against a normal one
answered by the same app), never fixed numbers of seconds. Time is the process's CPU time,
the resource an over-limit document would take from every tenant; unlike wall time it does
not depend on what else the machine runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio

from yutang.core.contract import TenantInfo
from yutang.core.models import Product
from yutang.core.runtime import Runtime
from yutang.core.settings import AppSettings
from yutang.testing import (
    GraphQLClient,
    MakeTenant,
    app_with,
    client_of,
    create_member,
    create_staff,
)

SHOP = {"X-Tenant": "shop"}
JSON = {**SHOP, "Content-Type": "application/json"}
HUGE = "{ " + "a " * 480_000 + "}"  # 960 KB, 480,000 tokens: over the length limit
MANY = "{ " + "a " * 40_000 + "}"  # 80 KB, 40,000 tokens: over the token limit
NORMAL = "query($n: Int!) { products(first: $n) { edges { node { name } } } }"
NODE = (
    "id name images { url position } "
    "skus { id specs { name value } price { amount formatted } stock }"
)
UPLOAD = """mutation($ops: [PersistedOperationInput!]!) {
  uploadPersistedOperations(operations: $ops) {
    operations { sha256 } errors { code field message } } }"""

Make = Callable[..., Awaitable[Product]]


@asynccontextmanager
async def serving(runtime: Runtime, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with the response cache on (as in production) and ``settings``."""
    async with client_of(app_with(runtime, response_cache=True, **settings)) as client:
        yield client


@pytest_asyncio.fixture
async def http(yutang_db: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(yutang_db) as client:
        yield client


def body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return msgspec.json.encode({"query": query, "variables": variables or {}})


def error(response: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


async def cpu_seconds(request: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    """The CPU seconds the app (and the in-process client) spent on one request."""
    start = time.process_time()
    response = await request
    return time.process_time() - start, response


async def normal_cpu_seconds(http: httpx.AsyncClient, runs: int = 7, start: int = 1) -> float:
    """The median time of a small storefront query run by GraphQL (a cache miss each:
    the page sizes differ)."""
    times = []
    for n in range(start, start + runs):
        took, response = await cpu_seconds(
            http.post("/graphql", content=body(NORMAL, {"n": n}), headers=JSON)
        )
        assert response.status_code == 200 and "errors" not in response.json()
        times.append(took)
    return statistics.median(times)


# -- 1. document limits ------------------------------------------------------------------


async def test_an_over_limit_document_is_refused_as_fast_as_a_normal_request_is_answered(
    http: httpx.AsyncClient, tenant: TenantInfo, make_product: Make
) -> None:
    await make_product("Tea")
    _, member = await create_member(tenant, "13900000001")
    _, staff = await create_staff(tenant, "owner", "owner")
    await normal_cpu_seconds(http, 2, start=50)  # schemas built, caches warm
    normal = await normal_cpu_seconds(http)
    callers = {
        "anonymous": ("/graphql", JSON),
        "member": ("/graphql", {**JSON, "Authorization": f"Bearer {member}"}),
        "staff": ("/admin/graphql", {**JSON, "Authorization": f"Bearer {staff}"}),
    }
    for text, code in [(HUGE, "QUERY_TOO_LONG"), (MANY, "TOO_MANY_TOKENS")]:
        for caller, (path, headers) in callers.items():
            # A text of its own each time, as an attacker sends: no cache answers for it.
            contents = [body(f"{text} # {caller} {run}") for run in range(3)]
            runs = [
                await cpu_seconds(http.post(path, content=c, headers=headers)) for c in contents
            ]
            took = statistics.median(t for t, _ in runs)
            assert took < 5 * normal, (caller, code, took, normal)
            for _, response in runs:
                assert response.status_code == 200, (caller, response.text)
                assert response.json()["data"] is None
                assert error(response)["extensions"] == {"code": code}
    over = "{ " + "a " * 6_000 + "}"  # a URL is shorter than a body
    took, response = await cpu_seconds(http.get("/graphql", params={"query": over}, headers=SHOP))
    assert took < 5 * normal, (took, normal)
    assert error(response)["extensions"] == {"code": "TOO_MANY_TOKENS"}


async def longest_health_gap(
    http: httpx.AsyncClient, requests: list[Awaitable[httpx.Response]]
) -> float:
    """The most CPU time spent between two ``/health`` answers while ``requests`` run at
    once: how long the event loop kept /health waiting."""
    polled = asyncio.Event()
    done = False
    gaps: list[float] = []

    async def poll_health() -> None:
        last = time.process_time()
        while not done:
            response = await http.get("/health")
            assert response.status_code == 200
            now = time.process_time()
            gaps.append(now - last)
            last = now
            polled.set()
            await asyncio.sleep(0)

    poller = asyncio.create_task(poll_health())
    await polled.wait()
    answers = await asyncio.gather(*requests)
    done = True
    await poller
    assert all(a.status_code == 200 for a in answers)
    return max(gaps)


async def test_health_answers_while_over_limit_documents_arrive_at_once(
    http: httpx.AsyncClient, tenant: TenantInfo, make_product: Make
) -> None:
    await make_product("Tea")
    await normal_cpu_seconds(http, 2, start=50)
    normal = await normal_cpu_seconds(http)
    texts = [f"{t} # {i}" for i in range(2) for t in (HUGE, MANY)]
    over = [http.post("/graphql", content=body(t), headers=JSON) for t in texts]
    gap = await longest_health_gap(http, over)
    # Four over-limit documents at once hold /health up less than five small queries would.
    assert gap < 5 * normal, (gap, normal)


async def test_an_over_limit_operation_cannot_be_uploaded_to_the_allowlist(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    _, token = await create_staff(tenant, "owner", "owner")
    admin = GraphQLClient(http, "/admin/graphql", "shop", token)
    over = "query { " + "categories { name } " * 1_700 + "}"  # 34 KB, 6,802 tokens
    data = await admin(UPLOAD, {"ops": [{"query": over}]})
    assert data["uploadPersistedOperations"]["errors"] == [
        {"code": "INVALID", "field": "operations[0].query", "message": "not a GraphQL document"}
    ]


# -- 2. query cost -----------------------------------------------------------------------


def aliased(field: str, times: int) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(times)) + " }"


async def test_thirty_aliased_product_pages_are_refused_before_they_run(
    http: httpx.AsyncClient, tenant: TenantInfo, make_product: Make
) -> None:
    await make_product("Tea")
    page = f"products(first: 100) {{ edges {{ node {{ {NODE} }} }} }}"
    response = await http.post("/graphql", content=body(aliased(page, 30)), headers=JSON)
    # node: id 1 + name 1 + images 1 + 10x2 + skus 1 + 10x(1 + specs 21 + price 3 + 1) = 284;
    # node 1 + 284, edges 1 + 285, products 1 + 100 x 286 = 28,601; thirty of them.
    assert response.json()["data"] is None
    assert error(response) == {
        "message": "Query cost 858030 is over the limit of 100000: ask for smaller pages "
        "(first/last), fewer aliases or fewer nested lists.",
        "extensions": {"code": "QUERY_TOO_COSTLY", "cost": 858030, "limit": 100000},
    }
    one = await http.post("/graphql", content=body("{ " + page + " }"), headers=JSON)
    assert one.json()["data"]["products"]["edges"][0]["node"]["name"] == "Tea"


async def test_the_cost_follows_the_variables_of_one_document(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    page = "products(first: $n) { edges { node { id name images { url } skus { id } } } }"
    query = "query($n: Int!) " + aliased(page, 30)
    # Each page: 1 + n x (edges 1 + node 1 + id 1 + name 1 + images 11 + skus 11) = 1 + 26n.
    for n, cost in [(5, 3_930), (100, 78_030), (200, 156_030), (5, 3_930)]:
        response = await http.post("/graphql", content=body(query, {"n": n}), headers=JSON)
        errors = response.json().get("errors")
        if cost <= 100_000:
            assert errors is None, (n, errors)
        else:
            assert error(response)["extensions"] == {
                "code": "QUERY_TOO_COSTLY",
                "cost": cost,
                "limit": 100_000,
            }


async def test_thirty_aliased_order_pages_are_refused_on_the_admin_api(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    _, token = await create_staff(tenant, "owner", "owner")
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    page = (
        "orders(first: 100) { edges { node { id status total { amount } "
        "lines { id quantity amount { amount } } } } }"
    )
    # lines 1 + 10 x 4 = 41; node 1 + (1 + 1 + 2 + 41); edges 1 + 46; orders 1 + 100 x 47.
    response = await http.post("/admin/graphql", content=body(aliased(page, 30)), headers=headers)
    assert error(response)["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 141_030,
        "limit": 100_000,
    }
    one = await http.post("/admin/graphql", content=body("{ " + page + " }"), headers=headers)
    assert one.json() == {"data": {"orders": {"edges": []}}}


async def test_a_plugins_list_fields_are_costed_by_the_default_rule(
    http: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    await make_tenant("shop", plugins=["groupbuy"])
    query = """query($t: Int!) { products(first: 100) { edges { node {
      name groupbuyTeams(first: $t) { id members { name } } } } } }"""
    # teams 1 + t x (id 1 + members 1 + 10 x 1); node 1 + (1 + 1 + 12t);
    # products 1 + 100 x (4 + 12t)
    refused = await http.post("/graphql", content=body(query, {"t": 100}), headers=JSON)
    assert error(refused)["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 120_401,
        "limit": 100_000,
    }
    allowed = await http.post("/graphql", content=body(query, {"t": 10}), headers=JSON)
    assert allowed.json() == {"data": {"products": {"edges": []}}}


async def test_the_limits_are_settings_and_allowlisted_operations_may_cost_more(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    _, token = await create_staff(tenant, "owner", "owner")
    staff = {**JSON, "Authorization": f"Bearer {token}"}
    listing = f"query Listing {{ products(first: 20) {{ edges {{ node {{ {NODE} }} }} }} }}"
    bigger = listing.replace("Listing", "Bigger").replace("first: 20", "first: 100")
    async with serving(
        yutang_db, max_cost_storefront=1_000, max_cost_persisted=10_000, max_cost_admin=5
    ) as http:
        refused = await http.post("/graphql", content=body(listing), headers=JSON)
        assert error(refused)["extensions"] == {
            "code": "QUERY_TOO_COSTLY",
            "cost": 5_721,
            "limit": 1_000,
        }
        ops = [{"query": listing}, {"query": bigger}]
        upload = await http.post(
            "/admin/graphql", content=body(UPLOAD, {"ops": ops}), headers=staff
        )
        assert error(upload)["extensions"]["limit"] == 5  # the admin API's own limit
    async with serving(yutang_db, max_cost_storefront=1_000, max_cost_persisted=10_000) as http:
        upload = await http.post(
            "/admin/graphql", content=body(UPLOAD, {"ops": ops}), headers=staff
        )
        assert upload.json()["data"]["uploadPersistedOperations"]["errors"] == []
        allowed = await http.post("/graphql", content=body(listing), headers=JSON)
        assert allowed.json() == {"data": {"products": {"edges": []}}}
        sha = hashlib.sha256(listing.encode()).hexdigest()
        extensions = msgspec.json.encode({"persistedQuery": {"version": 1, "sha256Hash": sha}})
        by_hash = await http.get(
            "/graphql", params={"extensions": extensions.decode()}, headers=SHOP
        )
        assert by_hash.json() == {"data": {"products": {"edges": []}}}
        over = await http.post("/graphql", content=body(bigger), headers=JSON)
        assert error(over)["extensions"] == {
            "code": "QUERY_TOO_COSTLY",
            "cost": 28_601,
            "limit": 10_000,
        }


def test_the_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AppSettings().max_cost_storefront == 100_000
    monkeypatch.setenv("YUTANG_MAX_COST_STOREFRONT", "2000")
    monkeypatch.setenv("YUTANG_MAX_COST_ADMIN", "3000")
    monkeypatch.setenv("YUTANG_MAX_COST_PERSISTED", "4000")
    monkeypatch.setenv("YUTANG_INTROSPECTION", "on")
    monkeypatch.setenv("YUTANG_HSTS_SECONDS", "600")
    settings = AppSettings.from_env()
    assert (settings.max_cost_storefront, settings.max_cost_admin) == (2000, 3000)
    assert (settings.max_cost_persisted, settings.hsts_seconds) == (4000, 600)
    assert settings.introspection_policy == "on"


# -- 4. introspection --------------------------------------------------------------------

SCHEMA = "{ __schema { queryType { name } } }"
TYPE = '{ __type(name: "Query") { name } }'


async def introspect(http: httpx.AsyncClient, path: str, token: str | None = None) -> Any:
    headers = JSON if token is None else {**JSON, "Authorization": f"Bearer {token}"}
    results = []
    for query in (SCHEMA, TYPE):
        response = await http.post(path, content=body(query), headers=headers)
        results.append(response.json())
    return results


OPEN = [
    {"data": {"__schema": {"queryType": {"name": "Query"}}}},
    {"data": {"__type": {"name": "Query"}}},
]


def closed(results: list[dict[str, Any]]) -> bool:
    return all(
        r.get("data") is None and r["errors"][0]["extensions"] == {"code": "INTROSPECTION_DISABLED"}
        for r in results
    )


async def test_introspection_in_production_is_for_staff_on_the_admin_api_only(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    _, member = await create_member(tenant, "13900000001")
    _, staff = await create_staff(tenant, "clerk", "clerk")
    async with serving(yutang_db, production=True) as http:
        assert closed(await introspect(http, "/graphql"))
        assert closed(await introspect(http, "/graphql", member))
        assert closed(await introspect(http, "/graphql", staff))
        assert closed(await introspect(http, "/admin/graphql"))
        made_up = await introspect(http, "/admin/graphql", "made-up")
        assert [r["errors"][0]["extensions"]["code"] for r in made_up] == ["UNAUTHENTICATED"] * 2
        assert await introspect(http, "/admin/graphql", staff) == OPEN
        # The same documents again: the staff's verdict is not handed to anyone else.
        assert closed(await introspect(http, "/admin/graphql"))
        assert closed(await introspect(http, "/admin/graphql", member))
        typename = await http.post("/graphql", content=body("{ __typename }"), headers=JSON)
        assert typename.json() == {"data": {"__typename": "Query"}}
        message = error(await http.post("/graphql", content=body(SCHEMA), headers=JSON))["message"]
        assert "docs/schema" in message
    async with serving(yutang_db, production=True, introspection="on") as http:
        assert await introspect(http, "/graphql") == OPEN
        assert await introspect(http, "/admin/graphql") == OPEN
    async with serving(yutang_db, production=True, introspection="off") as http:
        assert closed(await introspect(http, "/admin/graphql", staff))
    async with serving(yutang_db) as http:  # development
        assert await introspect(http, "/graphql") == OPEN


# -- 5. security headers and X-Tenant ----------------------------------------------------

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def every_kind_of_response(http: httpx.AsyncClient) -> dict[str, httpx.Response]:
    """One response of each kind the app sends, by what it is."""
    q = body("{ categories { name } }")
    return {
        "health": await http.get("/health"),
        "query": await http.post("/graphql", content=q, headers=JSON),
        "cache hit": await http.post("/graphql", content=q, headers=JSON),
        "graphql error": await http.post("/graphql", content=body("{ nope }"), headers=JSON),
        "bad json": await http.post("/graphql", content=b"{", headers=JSON),
        "unknown tenant": await http.post("/graphql", content=q, headers={"X-Tenant": "nope"}),
        "too large": await http.post("/graphql", content=b" " * (2 << 20), headers=JSON),
        "too many tokens": await http.post("/graphql", content=body(MANY), headers=JSON),
        "admin": await http.post("/admin/graphql", content=q, headers=JSON),
        "graphiql": await http.get("/graphql", headers={**SHOP, "Accept": "text/html"}),
        "payment callback": await http.post("/payments/shop/nope/callback", content=b"{}"),
        "no route": await http.get("/nope", headers=SHOP),
        "wrong method": await http.delete("/health"),
        "two tenants": await http.post(
            "/graphql", content=q, headers=[("X-Tenant", "shop"), ("X-Tenant", "other")]
        ),
    }


async def test_every_response_carries_the_security_headers(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    async with serving(yutang_db) as http:
        responses = await every_kind_of_response(http)
    assert responses["cache hit"].headers.get("x-yutang-cache") == "hit"
    assert "graphiql" in responses["graphiql"].text.lower()
    assert {r.status_code for r in responses.values()} >= {200, 400, 404, 405, 413}
    for kind, response in responses.items():
        assert {k: response.headers.get(k) for k in SECURITY} == SECURITY, kind
        assert "strict-transport-security" not in response.headers, kind
    async with serving(yutang_db, hsts_seconds=63_072_000) as http:
        responses = await every_kind_of_response(http)
    for kind, response in responses.items():
        assert response.headers["strict-transport-security"] == "max-age=63072000", kind


async def test_a_request_with_two_tenant_headers_is_refused(
    http: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    await make_tenant("shop")
    await make_tenant("other")
    q = body("{ categories { name } }")
    for path in ("/graphql", "/admin/graphql"):
        for pair in (("shop", "other"), ("other", "shop"), ("shop", "shop")):
            headers = [("Content-Type", "application/json"), *(("X-Tenant", s) for s in pair)]
            response = await http.post(path, content=q, headers=headers)
            assert response.status_code == 400
            assert response.json() == {
                "errors": [
                    {
                        "code": "BAD_REQUEST",
                        "field": "X-Tenant",
                        "message": "the request names two tenants: send one X-Tenant "
                        "header, and on a tenant's own domain only that tenant's",
                    }
                ]
            }
    one = await http.post("/graphql", content=q, headers=JSON)
    assert one.json() == {"data": {"categories": []}}
