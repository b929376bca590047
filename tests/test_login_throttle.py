"""Failed logins are limited per account and per client address, over HTTP through the real
app: members, owners and platform operators alike; ``X-Forwarded-For`` counts only from
trusted proxies; the limits are shared through Redis; an unknown phone costs what a known
one does; password hashing never stalls other requests.

The limiter keeps real time (the ``limits`` library takes no clock), so windows here are
a few seconds long and a test that waits sleeps the ``retryAfter`` it was told.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher

from yutang.core.auth import DUMMY_HASH, hash_password
from yutang.core.contract import TenantInfo
from yutang.core.models import Operator
from yutang.core.runtime import Runtime
from yutang.testing import (
    PASSWORD,
    app_with,
    client_of,
    create_member,
    create_staff,
    redis_keys,
)

REDIS_URL = "redis://127.0.0.1:6379/14"
MEMBER_LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    token expiresAt errors { code field message retryAfter } } }"""
STAFF_LOGIN = """mutation($name: String!, $password: String!) {
  staffLogin(username: $name, password: $password) {
    token expiresAt errors { code field message retryAfter } } }"""
OPERATOR_LOGIN = """mutation($name: String!, $password: String!) {
  operatorLogin(username: $name, password: $password) {
    token expiresAt errors { code field message retryAfter } } }"""

Login = Callable[[httpx.AsyncClient, str, dict[str, str] | None], Awaitable[dict[str, Any]]]


async def login_as(
    http: httpx.AsyncClient, kind: str, name: str, password: str, headers: dict[str, str] | None
) -> dict[str, Any]:
    """The payload of a member, staff or operator login of tenant ``shop``."""
    path, query, field = {
        "member": ("/graphql", MEMBER_LOGIN, "login"),
        "staff": ("/admin/graphql", STAFF_LOGIN, "staffLogin"),
        "operator": ("/admin/graphql", OPERATOR_LOGIN, "operatorLogin"),
    }[kind]
    variables = {"phone" if kind == "member" else "name": name, "password": password}
    response = await http.post(
        path,
        json={"query": query, "variables": variables},
        headers={"X-Tenant": "shop", **(headers or {})},
    )
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


@pytest_asyncio.fixture
async def accounts(tenant: TenantInfo) -> dict[str, str]:
    """A member, an owner and an operator, by kind: the name each logs in with."""
    await create_member(tenant, "13900000001")
    await create_staff(tenant, "owner", "owner")
    await Operator.create(username="platform", password_hash=hash_password(PASSWORD))
    return {"member": "13900000001", "staff": "owner", "operator": "platform"}


@pytest.mark.parametrize("kind", ["member", "staff", "operator"])
async def test_wrong_passwords_run_out_and_then_even_the_right_one_is_refused(
    yutang_db: Runtime, accounts: dict[str, str], kind: str
) -> None:
    name = accounts[kind]
    async with client_of(app_with(yutang_db, login_limit_account="3/3seconds")) as http:
        for _ in range(3):
            wrong = await login_as(http, kind, name, "not-the-password", None)
            assert codes(wrong) == ["INVALID_CREDENTIALS"]
        refused = await login_as(http, kind, name, PASSWORD, None)
        assert refused["token"] is None
        [error] = refused["errors"]
        assert error["code"] == "TOO_MANY_ATTEMPTS"
        assert 1 <= error["retryAfter"] <= 3
        assert f"try again in {error['retryAfter']} seconds" in error["message"]
        # Other accounts are not held by this one's failures.
        if kind == "member":
            await create_member(await yutang_db.tenants.by_slug("shop"), "13900000002")
            other = await login_as(http, "member", "13900000002", PASSWORD, None)
            assert other["token"]
        await asyncio.sleep(error["retryAfter"])
        accepted = await login_as(http, kind, name, PASSWORD, None)
        assert accepted["errors"] == [] and accepted["token"]


async def test_failures_from_one_address_are_limited_across_phones(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    await create_member(tenant, "13900000009")
    limit = {"login_limit_address": "4/1minute"}
    app = app_with(yutang_db, **limit)
    async with client_of(app, "203.0.113.7") as guesser:
        for i in range(4):
            wrong = await login_as(guesser, "member", f"1390000010{i}", "guess", None)
            assert codes(wrong) == ["INVALID_CREDENTIALS"]
        held = await login_as(guesser, "member", "13900000009", PASSWORD, None)
        assert codes(held) == ["TOO_MANY_ATTEMPTS"]
        assert held["errors"][0]["retryAfter"] > 50
        # A shopper at another address of the same app logs in.
        async with client_of(app, "198.51.100.3") as shopper:
            accepted = await login_as(shopper, "member", "13900000009", PASSWORD, None)
            assert accepted["errors"] == [] and accepted["token"]


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    limit = {"login_limit_address": "2/1minute"}

    def via(client: str) -> dict[str, str]:
        return {"X-Forwarded-For": client}

    # No trusted proxy: the header is anyone's to write, so it changes nothing.
    async with client_of(app_with(yutang_db, **limit)) as http:
        for client in ("198.51.100.1", "198.51.100.2"):
            assert codes(await login_as(http, "member", client, "x", via(client))) == [
                "INVALID_CREDENTIALS"
            ]
        third = await login_as(http, "member", "13900000077", "x", via("198.51.100.3"))
        assert codes(third) == ["TOO_MANY_ATTEMPTS"]
    # Behind a trusted proxy (the peer), the nearest address it names is the client.
    async with client_of(
        app_with(yutang_db, trusted_proxies="192.0.2.0/24, 127.0.0.1", **limit)
    ) as http:
        for _ in range(2):
            wrong = await login_as(http, "member", "13900000078", "x", via("198.51.100.1"))
            assert codes(wrong) == ["INVALID_CREDENTIALS"]
        # Forged hops on the left do not help; hops of trusted proxies are skipped.
        for forwarded in ("198.51.100.1", "203.0.113.66, 198.51.100.1", "198.51.100.1, 192.0.2.10"):
            held = await login_as(http, "member", "13900000079", "x", via(forwarded))
            assert codes(held) == ["TOO_MANY_ATTEMPTS"], forwarded
        elsewhere = await login_as(http, "member", "13900000079", "x", via("198.51.100.2"))
        assert codes(elsewhere) == ["INVALID_CREDENTIALS"]


@pytest_asyncio.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in Redis database 14."""
    async with redis_keys(REDIS_URL) as prefix:
        yield prefix


async def test_server_processes_sharing_redis_share_the_counts(
    yutang_db: Runtime, accounts: dict[str, str], redis_prefix: str
) -> None:
    shared = {"redis_url": REDIS_URL, "cache_prefix": redis_prefix}
    async with (
        client_of(app_with(yutang_db, login_limit_account="4/1minute", **shared)) as one,
        client_of(app_with(yutang_db, login_limit_account="4/1minute", **shared)) as two,
    ):
        for http in (one, two, one, two):
            assert codes(await login_as(http, "staff", "owner", "wrong", None)) == [
                "INVALID_CREDENTIALS"
            ]
        for http in (one, two):
            held = await login_as(http, "staff", "owner", PASSWORD, None)
            assert codes(held) == ["TOO_MANY_ATTEMPTS"]
    # Another prefix (another deployment) counts on its own.
    fresh = {"redis_url": REDIS_URL, "cache_prefix": redis_prefix + "other:"}
    async with client_of(app_with(yutang_db, **fresh)) as http:
        assert (await login_as(http, "staff", "owner", PASSWORD, None))["token"]


async def test_an_unknown_phone_costs_what_a_wrong_password_costs(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    assert not PasswordHasher().check_needs_rehash(DUMMY_HASH)  # same parameters as real ones
    await create_member(tenant, "13900000001")
    unknown: list[float] = []
    known: list[float] = []
    async with client_of(app_with(yutang_db)) as http:
        for i in range(4):  # interleaved, so a busy moment of the machine hits both
            for phone, times in ((f"1370000000{i}", unknown), ("13900000001", known)):
                started = time.perf_counter()
                wrong = await login_as(http, "member", phone, f"wrong-{i}", None)
                times.append(time.perf_counter() - started)
                assert codes(wrong) == ["INVALID_CREDENTIALS"]
    assert statistics.median(unknown) > 0.5 * statistics.median(known), (unknown, known)


async def test_other_requests_stay_responsive_while_wrong_logins_run(
    yutang_db: Runtime, tenant: TenantInfo
) -> None:
    await create_member(tenant, "13900000001")
    lenient = {"login_limit_account": "100/1minute", "login_limit_address": "100/1minute"}
    products = {"query": "{ products { edges { cursor } } }"}
    async with client_of(app_with(yutang_db, **lenient)) as http:
        alone: list[float] = []
        for i in range(3):
            started = time.perf_counter()
            await login_as(http, "member", "13900000001", f"alone-{i}", None)
            alone.append(time.perf_counter() - started)
        one_login = statistics.median(alone)

        storm = asyncio.gather(
            *(login_as(http, "member", "13900000001", f"wrong-{i}", None) for i in range(12))
        )
        await asyncio.sleep(0.01)  # the storm's logins are under way
        waits: list[float] = []
        for _ in range(5):
            started = time.perf_counter()
            assert (await http.get("/health")).status_code == 200
            response = await http.post("/graphql", json=products, headers={"X-Tenant": "shop"})
            assert response.json() == {"data": {"products": {"edges": []}}}
            waits.append(time.perf_counter() - started)
        overlapped = not storm.done()
        assert all(codes(p) == ["INVALID_CREDENTIALS"] for p in await storm)
    # Each health check and query, made while the logins still ran, took less than one
    # login alone (with the hashing on the event loop, the first waited for the storm).
    assert max(waits) < one_login, (waits, one_login)
    assert overlapped, "the logins ended before the other requests were measured"
