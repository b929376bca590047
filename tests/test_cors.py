"""CORS: a storefront page on an allowed origin may call the API, whoever answers.

Every test goes through the real app over ASGI with ``YUTANG_CORS_ORIGINS`` set; each
kind of answer — GraphQL's, a cache hit, a refusal of an edge layer, 413, a
persisted-query error, a preflight — carries the headers for an allowed origin and none
for another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
import pytest

from yutang.core.contract import TenantInfo
from yutang.core.runtime import Runtime
from yutang.core.settings import AppSettings
from yutang.testing import app_with, client_of

SHOP_ORIGIN = "https://shop.example.com"
OTHER_ORIGIN = "https://evil.example.net"
QUERY = msgspec.json.encode({"query": "{ categories { name } }"})


@asynccontextmanager
async def serving(runtime: Runtime, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = app_with(
        runtime, response_cache=True, cors_origins=f"{SHOP_ORIGIN}, https://admin.example.com/"
    )
    async with client_of(app) as client:
        yield client


def headers(origin: str = SHOP_ORIGIN, **extra: str) -> dict[str, str]:
    return {"Origin": origin, "Content-Type": "application/json", "X-Tenant": "shop", **extra}


def allowed(response: httpx.Response, origin: str = SHOP_ORIGIN) -> bool:
    """The browser lets the page read ``response``: its origin is named, and ``Vary``
    keeps caches from handing it to another origin."""
    return (
        response.headers.get("access-control-allow-origin") == origin
        and "Origin" in response.headers.get("vary", "")
        and "x-yutang-cache" in response.headers.get("access-control-expose-headers", "")
    )


def no_cors(response: httpx.Response) -> bool:
    return not [name for name in response.headers if name.startswith("access-control-")]


async def test_a_graphql_answer_and_a_cache_hit_carry_cors_headers(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    async with serving(yutang_db) as http:
        first = await http.post("/graphql", content=QUERY, headers=headers())
        hit = await http.post("/graphql", content=QUERY, headers=headers())
        params = {"query": "{ categories { name } }"}
        await http.get("/graphql", params=params, headers=headers())
        got = await http.get("/graphql", params=params, headers=headers())
    assert first.status_code == 200 and first.json() == {"data": {"categories": []}}
    for response in (hit, got):
        assert response.headers.get("x-yutang-cache") == "hit" and response.content == first.content
    assert allowed(first) and allowed(hit) and allowed(got)
    vary = got.headers.get_list("vary", split_commas=True)
    assert {"X-Tenant", "Authorization", "Origin"} <= set(vary)  # the cache's own kept


async def test_refusals_of_the_edge_carry_cors_headers(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    async with serving(yutang_db) as http:
        refusals = {
            401: await http.post(
                "/graphql", content=QUERY, headers=headers(Authorization="Bearer made-up")
            ),
            404: await http.post("/graphql", content=QUERY, headers=headers(**{"X-Tenant": "no"})),
            400: await http.post(
                "/graphql",
                content=QUERY,
                headers=[*headers().items(), ("X-Tenant", "other")],
            ),
            413: await http.post("/graphql", content=b" " * (2 << 20), headers=headers()),
        }
    for status, response in refusals.items():
        assert response.status_code == status, response.text
        assert allowed(response), status
    assert refusals[401].json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert refusals[413].json()["errors"][0]["extensions"]["code"] == "TOO_LARGE"


async def test_a_suspended_tenant_refused_in_front_carries_cors_headers(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    from yutang.core.models import Tenant

    await Tenant.filter(id=tenant.id).update(status="suspended")
    async with serving(yutang_db) as http:
        response = await http.post("/graphql", content=QUERY, headers=headers())
    assert response.status_code == 403 and allowed(response)


async def test_a_persisted_query_error_carries_cors_headers(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    unknown = msgspec.json.encode(
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    )
    mismatched = msgspec.json.encode(
        {
            "query": "{ categories { name } }",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "1" * 64}},
        }
    )
    async with serving(yutang_db) as http:
        not_found = await http.post("/graphql", content=unknown, headers=headers())
        bad = await http.post("/graphql", content=mismatched, headers=headers())
    assert not_found.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert bad.status_code == 400
    assert allowed(not_found) and allowed(bad)


async def test_a_preflight_is_answered_for_an_allowed_origin(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    ask = {
        "Origin": "https://admin.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-tenant",
    }
    async with serving(yutang_db) as http:
        storefront = await http.options("/graphql", headers=ask)
        admin = await http.options("/admin/graphql", headers=ask)
    for response in (storefront, admin):
        assert response.status_code == 204
        assert allowed(response, "https://admin.example.com")
        assert "POST" in response.headers["access-control-allow-methods"]
        sent = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "x-tenant", "if-none-match"} <= sent
        assert int(response.headers["access-control-max-age"]) > 0
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_another_origin_gets_no_cors_headers(yutang_db: Runtime, tenant: TenantInfo) -> None:
    ask = {"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"}
    async with serving(yutang_db) as http:
        preflight = await http.options("/graphql", headers=ask)
        answer = await http.post("/graphql", content=QUERY, headers=headers(OTHER_ORIGIN))
        refusal = await http.post(
            "/graphql", content=QUERY, headers=headers(OTHER_ORIGIN, **{"X-Tenant": "no"})
        )
        lookalike = await http.post(
            "/graphql", content=QUERY, headers=headers(SHOP_ORIGIN + ".evil.example.net")
        )
    assert answer.json() == {"data": {"categories": []}}  # answered; the browser hides it
    assert refusal.status_code == 404
    for response in (preflight, answer, refusal, lookalike):
        assert no_cors(response)
    assert preflight.status_code == 204 and preflight.headers["allow"]  # litestar's OPTIONS


async def test_no_origins_configured_means_no_cors(yutang_db: Runtime, tenant: TenantInfo) -> None:
    async with client_of(app_with(yutang_db)) as http:
        answer = await http.post("/graphql", content=QUERY, headers=headers())
        preflight = await http.options(
            "/graphql", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST"}
        )
    assert answer.status_code == 200 and no_cors(answer) and no_cors(preflight)
    assert "vary" not in answer.headers


async def test_a_star_allows_any_origin(yutang_db: Runtime, tenant: TenantInfo) -> None:
    async with client_of(app_with(yutang_db, cors_origins="*")) as http:
        answer = await http.post("/graphql", content=QUERY, headers=headers(OTHER_ORIGIN))
        unrouted = await http.get("/nope", headers={"Origin": OTHER_ORIGIN})
    assert allowed(answer, OTHER_ORIGIN)
    assert unrouted.status_code == 404 and allowed(unrouted, OTHER_ORIGIN)  # litestar's own


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", frozenset()),
        (" https://a.example/ ,HTTPS://B.example", {"https://a.example", "https://b.example"}),
    ],
)
def test_the_origins_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: frozenset[str]
) -> None:
    from yutang.edge.cors import origins

    monkeypatch.setenv("YUTANG_CORS_ORIGINS", value)
    assert origins(AppSettings.from_env().cors_origins) == expected
