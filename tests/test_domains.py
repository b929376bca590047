"""Merchants' own domains: the host names the tenant, and a tenant's own CORS origins.

Through the real app over ASGI: an operator sets a tenant's hosts and origins with the
admin API; a storefront request to one of those hosts is the tenant's without
``X-Tenant`` (a cache hit too); names that disagree are refused; a preflight to the
tenant's host is answered for the tenant's origins and no other tenant's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec

from yutang.core.auth import hash_password, issue_token
from yutang.core.contract import TenantInfo
from yutang.core.models import Operator, Tenant, TenantDomain
from yutang.core.runtime import Runtime
from yutang.testing import GraphQLClient, MakeTenant, app_with, client_of, create_staff

SET_DOMAINS = """
mutation($slug: String!, $hosts: [String!]!, $origins: [String!]!) {
  setTenantDomains(slug: $slug, hosts: $hosts, corsOrigins: $origins) {
    domains { slug hosts corsOrigins }
    errors { code field message }
  }
}"""
DOMAINS = "query($slug: String!) { tenantDomains(slug: $slug) { hosts corsOrigins } }"
CATEGORIES = msgspec.json.encode({"query": "{ categories { name } }"})
JSON = {"Content-Type": "application/json"}
SHOP_HOST = "shop.example.com"
SHOP_PAGE = "https://m.shop.example.com"


async def operator_client(http: httpx.AsyncClient) -> GraphQLClient:
    op = await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    return GraphQLClient(http, "/admin/graphql", "shop", await issue_token("operator", op.id, None))


async def set_domains(
    operator: GraphQLClient, slug: str, hosts: list[str], origins: list[str] | None = None
) -> dict[str, Any]:
    data = await operator(SET_DOMAINS, {"slug": slug, "hosts": hosts, "origins": origins or []})
    answer: dict[str, Any] = data["setTenantDomains"]
    return answer


async def two_shops(make_tenant: MakeTenant) -> tuple[TenantInfo, TenantInfo]:
    """``shop`` and ``other``, told apart by their one category each."""
    from yutang.core.models import Category

    shop, other = await make_tenant("shop"), await make_tenant("other")
    await Category.create(tenant_id=shop.id, name="Tea")
    await Category.create(tenant_id=other.id, name="Coffee")
    return shop, other


def categories(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["data"]["categories"]]


async def test_a_request_to_a_tenants_domain_is_the_tenants(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    await two_shops(make_tenant)
    async with client_of(app_with(yutang_db, response_cache=True)) as http:
        operator = await operator_client(http)
        answer = await set_domains(operator, "other", ["Coffee.Example.COM.", "例子.中国"])
        assert answer == {
            "domains": {
                "slug": "other",
                "hosts": ["coffee.example.com", "xn--fsqu00a.xn--fiqs8s"],
                "corsOrigins": [],
            },
            "errors": [],
        }
        on_host = {**JSON, "Host": "coffee.example.com:8443"}
        first = await http.post("/graphql", content=CATEGORIES, headers=on_host)
        hit = await http.post("/graphql", content=CATEGORIES, headers=on_host)
        idn = await http.post(
            "/graphql", content=CATEGORIES, headers={**JSON, "Host": "xn--fsqu00a.xn--fiqs8s"}
        )
        named = await http.post(
            "/graphql", content=CATEGORIES, headers={**on_host, "X-Tenant": "other"}
        )
        by_header = await http.post(
            "/graphql", content=CATEGORIES, headers={**JSON, "X-Tenant": "shop"}
        )
    assert categories(first) == categories(hit) == categories(idn) == ["Coffee"]
    assert hit.headers["x-yutang-cache"] == "hit"
    assert categories(named) == ["Coffee"]
    assert categories(by_header) == ["Tea"]  # the shared host names no tenant


async def test_names_that_disagree_are_refused(yutang_db: Runtime, make_tenant: MakeTenant) -> None:
    await two_shops(make_tenant)
    async with client_of(app_with(yutang_db)) as http:
        await set_domains(await operator_client(http), "other", ["coffee.example.com"])
        on_host = {**JSON, "Host": "coffee.example.com"}
        header = await http.post(
            "/graphql", content=CATEGORIES, headers={**on_host, "X-Tenant": "shop"}
        )
        callback = await http.post("/payments/shop/dev/callback", content=b"{}", headers=on_host)
        health = await http.get("/health", headers={"Host": "coffee.example.com", "X-Tenant": "x"})
    for refused in (header, callback):
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == "BAD_REQUEST"
    assert health.status_code == 200


async def test_an_unknown_host_is_the_default_tenants(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    await make_tenant("demo")
    from yutang.core.models import Category

    demo = await Tenant.get(slug="demo")
    await Category.create(tenant_id=demo.id, name="Demo tea")
    async with client_of(app_with(yutang_db)) as http:
        answer = await http.post(
            "/graphql", content=CATEGORIES, headers={**JSON, "Host": "unknown.example.org"}
        )
    assert categories(answer) == ["Demo tea"]


async def test_replacing_the_domains_moves_the_host_at_once(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    await two_shops(make_tenant)
    async with client_of(app_with(yutang_db)) as http:
        operator = await operator_client(http)
        await set_domains(operator, "other", ["coffee.example.com", "old.example.com"])
        before = await http.post(
            "/graphql", content=CATEGORIES, headers={**JSON, "Host": "old.example.com"}
        )
        await set_domains(operator, "other", ["coffee.example.com"])
        await set_domains(operator, "shop", ["old.example.com"])
        after = await http.post(
            "/graphql", content=CATEGORIES, headers={**JSON, "Host": "old.example.com"}
        )
        listed = await operator(DOMAINS, {"slug": "other"})
    assert categories(before) == ["Coffee"] and categories(after) == ["Tea"]
    assert listed["tenantDomains"] == {"hosts": ["coffee.example.com"], "corsOrigins": []}


async def test_another_worker_sees_a_change_within_its_ttl(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    await two_shops(make_tenant)
    writer, reader = app_with(yutang_db), app_with(yutang_db)
    reader.state.runtime.domains.ttl = 1.0
    on_host = {**JSON, "Host": "coffee.example.com", "X-Tenant": "shop"}
    async with client_of(writer) as one, client_of(reader) as two:
        operator = await operator_client(one)
        assert categories(await two.post("/graphql", content=CATEGORIES, headers=on_host))
        await set_domains(operator, "other", ["coffee.example.com"])
        stale = await two.post("/graphql", content=CATEGORIES, headers=on_host)
        await asyncio.sleep(1.1)
        fresh = await two.post("/graphql", content=CATEGORIES, headers=on_host)
    assert categories(stale) == ["Tea"]  # remembered: the host named no tenant
    assert fresh.status_code == 400  # now it names `other`, and X-Tenant says `shop`


async def test_bad_domains_are_refused_naming_the_field_and_write_nothing(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    await two_shops(make_tenant)
    async with client_of(app_with(yutang_db)) as http:
        operator = await operator_client(http)
        kept = await set_domains(operator, "shop", ["tea.example.com"], [SHOP_PAGE])
        assert kept["errors"] == []
        cases = [
            (["coffee.example.com", "localhost"], [], "INVALID", "hosts[1]"),
            (["coffee.example.com", "http://x.example.com"], [], "INVALID", "hosts[1]"),
            (["a.example.com", "A.example.com"], [], "DUPLICATE", "hosts[1]"),
            (["coffee.example.com", "tea.example.com"], [], "DOMAIN_TAKEN", "hosts[1]"),
            (["coffee.example.com"], ["*"], "INVALID", "corsOrigins[0]"),
            (["coffee.example.com"], ["https://a.example.com/app"], "INVALID", "corsOrigins[0]"),
            (["coffee.example.com"], ["ftp://a.example.com"], "INVALID", "corsOrigins[0]"),
        ]
        for hosts, origins, code, field in cases:
            answer = await set_domains(operator, "other", hosts, origins)
            assert answer["domains"] is None, (hosts, origins)
            assert [(e["code"], e["field"]) for e in answer["errors"]] == [(code, field)]
        missing = await set_domains(operator, "nope", ["n.example.com"])
        assert missing["errors"][0]["code"] == "NOT_FOUND"
        ours = await operator(DOMAINS, {"slug": "shop"})
    assert await TenantDomain.filter(host="coffee.example.com").count() == 0
    assert ours["tenantDomains"] == {"hosts": ["tea.example.com"], "corsOrigins": [SHOP_PAGE]}


async def test_only_platform_operators_set_domains(yutang_db: Runtime, tenant: TenantInfo) -> None:
    _, token = await create_staff(tenant, "owner", "owner")
    async with client_of(app_with(yutang_db)) as http:
        owner = GraphQLClient(http, "/admin/graphql", "shop", token)
        answer = await owner.raw(
            SET_DOMAINS, {"slug": "shop", "hosts": ["mine.example.com"], "origins": []}
        )
    assert answer["data"]["setTenantDomains"]["errors"][0]["code"] == "FORBIDDEN"
    assert await TenantDomain.all().count() == 0


def cors_of(response: httpx.Response) -> str | None:
    return response.headers.get("access-control-allow-origin")


async def test_a_tenants_own_origins_are_allowed_on_its_requests_only(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    await two_shops(make_tenant)
    other_page = "http://localhost:5173"
    async with client_of(app_with(yutang_db, response_cache=True)) as http:
        operator = await operator_client(http)
        await set_domains(operator, "shop", [SHOP_HOST], [SHOP_PAGE.upper() + ":443/"])
        await set_domains(operator, "other", [], [other_page])
        preflight = {"Access-Control-Request-Method": "POST", "Host": SHOP_HOST}
        allowed = await http.options("/graphql", headers={**preflight, "Origin": SHOP_PAGE})
        foreign = await http.options("/graphql", headers={**preflight, "Origin": other_page})
        on_host = {**JSON, "Host": SHOP_HOST, "Origin": SHOP_PAGE}
        answer = await http.post("/graphql", content=CATEGORIES, headers=on_host)
        hit = await http.post("/graphql", content=CATEGORIES, headers=on_host)
        by_header = await http.post(
            "/graphql",
            content=CATEGORIES,
            headers={**JSON, "X-Tenant": "other", "Origin": SHOP_PAGE},
        )
        theirs = await http.post(
            "/graphql",
            content=CATEGORIES,
            headers={**JSON, "X-Tenant": "other", "Origin": other_page},
        )
    assert allowed.status_code == 204 and cors_of(allowed) == SHOP_PAGE
    assert "x-tenant" in allowed.headers["access-control-allow-headers"]
    assert cors_of(foreign) is None
    assert cors_of(answer) == SHOP_PAGE and cors_of(hit) == SHOP_PAGE
    assert hit.headers["x-yutang-cache"] == "hit" and "Origin" in hit.headers["vary"]
    assert cors_of(by_header) is None  # shop's origin, other's request
    assert cors_of(theirs) == other_page
