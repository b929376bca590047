"""Verification codes over HTTP through the real app: a tenant that asks for one makes every
sign-up prove a phone, codes are stored hashed, expire and allow few attempts, sending
them is limited per phone and per client address, a password reset by code ends every
other session, providers come from plugins, and the ``dev`` provider's codes never reach
a response (nor are sent at all in production).
"""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import Any

import httpx
import pytest

from yutang import api
from yutang.core.clock import FrozenClock
from yutang.core.models import Member, Tenant, VerificationCode
from yutang.core.runtime import Runtime, build_runtime
from yutang.testing import (
    PASSWORD,
    GraphQLClient,
    MakeTenant,
    SentCodes,
    app_with,
    client_of,
    create_member,
)

ASKS_FOR_CODES = {"core": {"register_requires_code": True}}
REQUEST = """mutation($phone: String!, $purpose: VerificationPurpose!) {
  requestVerificationCode(phone: $phone, purpose: $purpose) {
    sent expiresAt errors { code field message retryAfter } } }"""
REGISTER = """mutation($phone: String!, $code: String) {
  register(phone: $phone, password: "secret-1", code: $code) {
    token member { phone } errors { code field message } } }"""
RESET = """mutation($phone: String!, $code: String!, $password: String!) {
  resetPassword(phone: $phone, code: $code, newPassword: $password) {
    token member { phone } errors { code field message } } }"""
LOGIN = """mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token errors { code } } }"""


async def ask(client: GraphQLClient, phone: str, purpose: str = "REGISTER") -> dict[str, Any]:
    payload: dict[str, Any] = (await client(REQUEST, {"phone": phone, "purpose": purpose}))[
        "requestVerificationCode"
    ]
    return payload


def codes_of(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_registration_needs_the_code_sent_to_the_phone(
    http: httpx.AsyncClient,
    make_tenant: MakeTenant,
    sent_codes: SentCodes,
    frozen_clock: FrozenClock,
) -> None:
    await make_tenant("shop", settings=ASKS_FOR_CODES)
    shop = GraphQLClient(http, "/graphql", "shop")
    phone = "13900000001"
    without = (await shop(REGISTER, {"phone": phone}))["register"]
    assert without["token"] is None and codes_of(without) == ["CODE_REQUIRED"]
    asked = await ask(shop, phone)
    expires = (frozen_clock.current + timedelta(minutes=10)).isoformat()
    assert asked == {"sent": True, "expiresAt": expires, "errors": []}
    code = sent_codes.last(phone)
    assert len(code) == 6 and code.isdigit()
    stored = await VerificationCode.get(phone=phone)
    assert stored.code_hash.startswith("$argon2id$") and code not in stored.code_hash
    wrong = "000000" if code != "000000" else "111111"
    mistaken = (await shop(REGISTER, {"phone": phone, "code": wrong}))["register"]
    assert codes_of(mistaken) == ["INVALID_CODE"]
    done = (await shop(REGISTER, {"phone": phone, "code": code}))["register"]
    assert done["errors"] == [] and done["token"] and done["member"] == {"phone": phone}
    assert not await VerificationCode.exists(phone=phone)  # used up
    # The next account needs another phone and another code: farming costs phones.
    again = (await shop(REGISTER, {"phone": "13900000002", "code": code}))["register"]
    assert codes_of(again) == ["CODE_EXPIRED"]
    assert await Member.all().count() == 1


async def test_a_phone_in_use_is_phone_taken_with_or_without_a_code(
    http: httpx.AsyncClient, make_tenant: MakeTenant, sent_codes: SentCodes
) -> None:
    tenant = await make_tenant("shop", settings=ASKS_FOR_CODES)
    await create_member(tenant, "13900000001")
    shop = GraphQLClient(http, "/graphql", "shop")
    assert codes_of(await ask(shop, "13900000001")) == ["PHONE_TAKEN"]
    assert sent_codes.sent == []
    taken = (await shop(REGISTER, {"phone": "13900000001", "code": "123456"}))["register"]
    assert codes_of(taken) == ["PHONE_TAKEN"]


async def test_codes_expire_and_allow_few_attempts(
    yutang_db: Runtime, make_tenant: MakeTenant, sent_codes: SentCodes, frozen_clock: FrozenClock
) -> None:
    await make_tenant("shop", settings=ASKS_FOR_CODES)
    async with client_of(app_with(yutang_db, code_limit_phone="10/1minute")) as http:
        shop = GraphQLClient(http, "/graphql", "shop")
        phone = "13900000001"
        await ask(shop, phone)
        frozen_clock.advance(timedelta(minutes=10))
        late = await shop(REGISTER, {"phone": phone, "code": sent_codes.last(phone)})
        assert codes_of(late["register"]) == ["CODE_EXPIRED"]

        await ask(shop, phone)
        code = sent_codes.last(phone)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            guess = (await shop(REGISTER, {"phone": phone, "code": wrong}))["register"]
            assert codes_of(guess) == ["INVALID_CODE"]
        spent = (await shop(REGISTER, {"phone": phone, "code": code}))["register"]
        assert spent["errors"][0]["code"] == "CODE_EXPIRED"
        assert "too many wrong codes" in spent["errors"][0]["message"]


async def test_sending_codes_is_limited_per_phone_and_per_address(
    yutang_db: Runtime, make_tenant: MakeTenant, sent_codes: SentCodes
) -> None:
    await make_tenant("shop", settings=ASKS_FOR_CODES)
    app = app_with(yutang_db, code_limit_address="3/1hour")
    async with client_of(app, "203.0.113.8") as farm, client_of(app, "198.51.100.4") as home:
        farmer = GraphQLClient(farm, "/graphql", "shop")
        assert (await ask(farmer, "13900000001"))["sent"]
        again = await ask(farmer, "13900000001")
        assert codes_of(again) == ["TOO_MANY_ATTEMPTS"]
        assert 1 <= again["errors"][0]["retryAfter"] <= 60
        for phone in ("13900000002", "13900000003"):
            assert (await ask(farmer, phone))["sent"]
        held = await ask(farmer, "13900000004")
        assert codes_of(held) == ["TOO_MANY_ATTEMPTS"] and held["errors"][0]["retryAfter"] > 60
        shopper = await ask(GraphQLClient(home, "/graphql", "shop"), "13900000004")
        assert shopper["sent"] is True
    assert len(sent_codes.sent) == 4


async def test_sign_ups_are_limited_per_address_even_without_codes(
    yutang_db: Runtime, make_tenant: MakeTenant
) -> None:
    """15 accounts in 4.6 s from one address, each claiming the same coupon, was the
    farm; a tenant asking for no code still holds an address to its share."""
    await make_tenant("shop")
    app = app_with(yutang_db, register_limit_address="3/1hour")
    async with client_of(app, "203.0.113.9") as farm, client_of(app, "198.51.100.5") as home:
        farmer = GraphQLClient(farm, "/graphql", "shop")
        for n in range(3):
            done = (await farmer(REGISTER, {"phone": f"1390000010{n}"}))["register"]
            assert done["errors"] == [] and done["token"]
        held = (await farmer(REGISTER, {"phone": "13900000109"}))["register"]
        assert codes_of(held) == ["TOO_MANY_ATTEMPTS"] and held["token"] is None
        shopper = GraphQLClient(home, "/graphql", "shop")
        assert (await shopper(REGISTER, {"phone": "13900000109"}))["register"]["errors"] == []
    assert await Member.filter(phone="13900000109").count() == 1


async def test_a_password_reset_by_code_ends_every_other_session(
    storefront: GraphQLClient, tenant: Any, sent_codes: SentCodes
) -> None:
    phone = "13900000001"
    _, old_token = await create_member(tenant, phone)
    assert (await ask(storefront, phone, "RESET_PASSWORD"))["sent"]
    code = sent_codes.last(phone, "reset_password")
    wrong = "000000" if code != "000000" else "111111"
    variables = {"phone": phone, "code": wrong, "password": "new-secret"}
    assert codes_of((await storefront(RESET, variables))["resetPassword"]) == ["INVALID_CODE"]
    reset = (await storefront(RESET, {**variables, "code": code}))["resetPassword"]
    assert reset["errors"] == [] and reset["member"] == {"phone": phone}
    assert await storefront.as_(reset["token"])("{ me { phone } }") == {"me": {"phone": phone}}
    stale = await storefront.http.post(
        "/graphql",
        json={"query": "{ me { phone } }"},
        headers={"X-Tenant": "shop", "Authorization": f"Bearer {old_token}"},
    )
    assert stale.status_code == 401
    old = await storefront(LOGIN, {"phone": phone, "password": PASSWORD})
    assert old["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert (await storefront(LOGIN, {"phone": phone, "password": "new-secret"}))["login"]["token"]
    # An unknown phone gets the same answer, but nothing is sent, and no code resets it.
    assert (await ask(storefront, "13700000000", "RESET_PASSWORD"))["sent"] is True
    assert [p for _, p, _, _ in sent_codes.sent] == [phone]
    unknown = {"phone": "13700000000", "code": "123456", "password": "new-secret"}
    assert codes_of((await storefront(RESET, unknown))["resetPassword"]) == ["CODE_EXPIRED"]
    # A value that is no phone at all (too long for the column) is refused as invalid.
    junk = {**unknown, "phone": "1" * 40}
    assert codes_of((await storefront(RESET, junk))["resetPassword"]) == ["INVALID"]


async def test_the_dev_provider_never_answers_with_its_code_and_is_refused_in_production(
    yutang_db: Runtime, make_tenant: MakeTenant, sent_codes: SentCodes
) -> None:
    await make_tenant("shop", settings=ASKS_FOR_CODES)
    async with client_of(app_with(yutang_db)) as http:
        response = await http.post(
            "/graphql",
            json={"query": REQUEST, "variables": {"phone": "13900000001", "purpose": "REGISTER"}},
            headers={"X-Tenant": "shop"},
        )
        assert sent_codes.last("13900000001") not in response.text
    async with client_of(app_with(yutang_db, production=True)) as http:
        shop = GraphQLClient(http, "/graphql", "shop")
        refused = await ask(shop, "13900000002")
        assert refused["sent"] is False and codes_of(refused) == ["VERIFICATION_UNAVAILABLE"]
    assert len(sent_codes.sent) == 1


class Sms:
    """A provider a plugin adds: it records what it was asked to send."""

    name = "test_sms"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, tenant: api.TenantInfo, phone: str, code: str, purpose: str) -> None:
        self.sent.append((phone, code, purpose))


def sms_plugin(provider: Sms) -> ModuleType:
    module = ModuleType("sms_plugin")

    @api.hookimpl
    def yutang_verification_providers() -> list[api.VerificationProvider]:
        return [provider]

    module.yutang_verification_providers = yutang_verification_providers  # type: ignore[attr-defined]
    return module


async def test_a_plugin_provides_the_tenants_verification_provider(
    yutang_db: Runtime, sent_codes: SentCodes
) -> None:
    provider = Sms()
    runtime = build_runtime(yutang_db.settings, extra_plugins=[("sms", sms_plugin(provider))])
    settings = {"core": {"register_requires_code": True, "verification_provider": "test_sms"}}
    # Rows of their own: the session's runtime does not know this plugin.
    await Tenant.create(slug="shop", name="shop", plugins=["sms"], settings=settings)
    plain = {"core": {"verification_provider": "test_sms"}}
    await Tenant.create(slug="plain", name="plain", settings=plain)
    async with client_of(app_with(runtime, production=True)) as http:
        shop = GraphQLClient(http, "/graphql", "shop")
        assert (await ask(shop, "13900000001"))["sent"] is True
        [(phone, code, purpose)] = provider.sent
        assert (phone, purpose) == ("13900000001", "register")
        done = (await shop(REGISTER, {"phone": phone, "code": code}))["register"]
        assert done["errors"] == [] and done["token"]
        # A tenant whose plugins do not include the provider cannot send with it.
        plain = GraphQLClient(http, "/graphql", "plain")
        reset = await ask(plain, "13900000002", "RESET_PASSWORD")
        assert codes_of(reset) == ["VERIFICATION_UNAVAILABLE"]
    assert sent_codes.sent == []


@pytest.mark.parametrize("purpose", ["REGISTER", "RESET_PASSWORD"])
async def test_a_tenant_that_sends_no_codes_for_a_purpose_refuses_them(
    http: httpx.AsyncClient, make_tenant: MakeTenant, purpose: str
) -> None:
    off = {"core": {"register_requires_code": False, "password_reset_by_code": False}}
    await make_tenant("shop", settings=off)
    payload = await ask(GraphQLClient(http, "/graphql", "shop"), "13900000001", purpose)
    assert payload["errors"] == [
        {
            "code": "INVALID",
            "field": "purpose",
            "message": "this shop does not send codes for that",
            "retryAfter": None,
        }
    ]
