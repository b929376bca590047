"""A member's profile over HTTP through the real app: ``updateProfile`` changes only the
fields given, null clears one, each refused field is named and nothing is written, a
guest is UNAUTHENTICATED; and ``login`` answers the member as ``register`` does.
"""

from __future__ import annotations

from typing import Any

from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Member
from yutang.testing import PASSWORD, GraphQLClient, create_member

PROFILE = "id phone nickname avatarUrl birthday gender region"
UPDATE = f"""mutation($input: ProfileInput!) {{
  updateProfile(input: $input) {{ member {{ {PROFILE} }} errors {{ code field message }} }} }}"""
LOGIN = f"""mutation($phone: String!, $password: String!) {{
  login(phone: $phone, password: $password) {{
    token member {{ {PROFILE} points }} errors {{ code field }} }} }}"""
REGISTER = f"""mutation($phone: String!) {{
  register(phone: $phone, password: "secret-1", nickname: "阿茶") {{
    token member {{ {PROFILE} points }} errors {{ code field }} }} }}"""


async def update(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await client(UPDATE, {"input": fields}))["updateProfile"]
    return payload


async def test_a_member_changes_only_the_fields_given_and_null_clears_one(
    storefront: GraphQLClient, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    row, token = await create_member(tenant, "13900000001")
    me = storefront.as_(token)
    done = await update(
        me,
        nickname="  小鱼  ",
        avatarUrl="https://img.example.com/a/1.png",
        birthday="1990-05-20",
        gender="FEMALE",
        region="330106",
    )
    assert done["errors"] == []
    assert done["member"] == {
        "id": done["member"]["id"],
        "phone": "13900000001",
        "nickname": "小鱼",
        "avatarUrl": "https://img.example.com/a/1.png",
        "birthday": "1990-05-20",
        "gender": "FEMALE",
        "region": "330106",
    }
    # Only the region is given: the rest stays; null clears the avatar and the gender.
    again = await update(me, region="310101", avatarUrl=None, gender=None)
    assert again["errors"] == []
    assert again["member"]["nickname"] == "小鱼" and again["member"]["birthday"] == "1990-05-20"
    assert again["member"]["region"] == "310101"
    assert again["member"]["avatarUrl"] is None and again["member"]["gender"] == "UNKNOWN"
    me_now = await me(f"{{ me {{ {PROFILE} }} }}")
    assert me_now["me"] == again["member"]
    stored = await Member.get(id=row.id)
    assert (stored.avatar_url, stored.gender, stored.region) == ("", "unknown", "310101")


async def test_a_refused_field_is_named_and_nothing_is_written(
    storefront: GraphQLClient, tenant: TenantInfo, frozen_clock: FrozenClock
) -> None:
    row, token = await create_member(tenant, "13900000001")
    me = storefront.as_(token)
    today = frozen_clock.current.date().isoformat()  # 10:00 in Shanghai: the same day
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"nickname": "   "}, "input.nickname", "a nickname cannot be blank"),
        ({"nickname": None}, "input.nickname", "a nickname cannot be blank"),
        ({"nickname": "鱼" * 101}, "input.nickname", "at most 100 characters"),
        ({"avatarUrl": "javascript:alert(1)"}, "input.avatarUrl", None),
        ({"avatarUrl": "https://"}, "input.avatarUrl", None),
        ({"avatarUrl": "https://x.cn/" + "a" * 500}, "input.avatarUrl", None),
        ({"birthday": "2026-06-02"}, "input.birthday", "a birthday cannot be in the future"),
        ({"birthday": "1899-12-31"}, "input.birthday", None),
        ({"region": "33010"}, "input.region", "a 6-digit region code, like 330106"),
        ({"region": "033010"}, "input.region", None),
    ]
    for fields, field, message in cases:
        # A valid field beside the refused one is not written either.
        beside = {"region": "110101"} if "nickname" in fields else {"nickname": "改了"}
        payload = await update(me, **beside, **fields)
        assert payload["member"] is None, fields
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("INVALID", field), fields
        if message is not None:
            assert error["message"] == message
    stored = await Member.get(id=row.id)
    assert (stored.nickname, stored.region, stored.birthday) == ("", "", None)
    assert (await update(me, birthday=today))["errors"] == []
    # A gender outside the enum never reaches the resolver.
    body = await me.raw(UPDATE, {"input": {"gender": "OTHER"}})
    assert body["errors"] and body.get("data") is None


async def test_a_guest_cannot_update_a_profile(storefront: GraphQLClient) -> None:
    payload = await update(storefront, nickname="谁")
    assert payload["member"] is None
    assert [e["code"] for e in payload["errors"]] == ["UNAUTHENTICATED"]


async def test_login_answers_the_member_as_register_does(storefront: GraphQLClient) -> None:
    registered = (await storefront(REGISTER, {"phone": "13900000002"}))["register"]
    assert registered["errors"] == [] and registered["member"]["nickname"] == "阿茶"
    logged = (await storefront(LOGIN, {"phone": "13900000002", "password": "secret-1"}))["login"]
    assert logged["errors"] == [] and logged["token"]
    assert logged["member"] == registered["member"]
    wrong = (await storefront(LOGIN, {"phone": "13900000002", "password": PASSWORD}))["login"]
    assert wrong["member"] is None and wrong["token"] is None
    assert wrong["errors"] == [{"code": "INVALID_CREDENTIALS", "field": "password"}]
