"""The bargain over the real app: offers, starting, friends' cuts, buying at the reached
price, expiry, per-tenant enablement and the race on the last cut (PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from yutang import api
from yutang.testing import GraphQLClient, create_member, create_staff

OFFER = """mutation($sku: ID!, $floor: Int!, $helpers: Int!) {
  saveBargainOffer(skuId: $sku, floorPrice: $floor, helpers: $helpers) {
    offer { id floorPrice { amount } helpers } errors { code field message } } }"""
BARGAIN_FIELDS = """id status helpers helpersNeeded reached startPrice { amount }
    price { amount } floorPrice { amount } cuts { amount { amount } }"""
START = f"""mutation($sku: ID!) {{
  startBargain(skuId: $sku) {{
    bargain {{ {BARGAIN_FIELDS} }} errors {{ code field message }} }} }}"""
HELP = f"""mutation($id: ID!) {{
  helpBargain(bargainId: $id) {{
    cut {{ amount }} bargain {{ {BARGAIN_FIELDS} }} errors {{ code field message }} }} }}"""
SHOW = f"query($id: ID!) {{ bargain(id: $id) {{ {BARGAIN_FIELDS} }} }}"
PLACE = """mutation($lines: [LineInput!]!, $key: String!) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key}) {
    order { id status total { amount } } errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code } } }"""
CANCEL = "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }"

PRICE = 5800


async def offered_sku(
    admin: GraphQLClient, make_product: Any, floor: int = 0, helpers: int = 3
) -> str:
    product = await make_product("Tea", [(PRICE, 10)])
    sku = api.to_global("Sku", (await product.skus.all())[0].id)
    payload = (await admin(OFFER, {"sku": sku, "floor": floor, "helpers": helpers}))[
        "saveBargainOffer"
    ]
    assert payload["errors"] == []
    return sku


async def friends(
    tenant: api.TenantInfo, storefront: GraphQLClient, count: int
) -> list[GraphQLClient]:
    made = [await create_member(tenant, f"1370000{i:04d}") for i in range(count)]
    return [storefront.as_(token) for _, token in made]


async def started(me: GraphQLClient, sku: str) -> dict[str, Any]:
    payload = (await me(START, {"sku": sku}))["startBargain"]
    assert payload["errors"] == []
    bargain: dict[str, Any] = payload["bargain"]
    return bargain


def bargain_line(sku: str, bargain_id: str, quantity: int = 1) -> dict[str, Any]:
    pk = str(api.pk_of(bargain_id, "Bargain"))
    return {"skuId": sku, "quantity": quantity, "activity": {"plugin": "bargain", "ref": pk}}


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_three_friends_cut_a_58_yuan_tea_to_0_and_the_member_buys_it_free(
    admin, member, tenant, storefront, make_product, worker
) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product)
    bargain = await started(me, sku)
    assert (bargain["price"]["amount"], bargain["helpersNeeded"], bargain["status"]) == (
        PRICE,
        3,
        "open",
    )
    assert (await me(START, {"sku": sku}))["startBargain"]["bargain"]["id"] == bargain["id"]
    cuts = []
    for friend in await friends(tenant, storefront, 3):
        payload = (await friend(HELP, {"id": bargain["id"]}))["helpBargain"]
        assert payload["errors"] == []
        assert payload["cut"]["amount"] > 0
        cuts.append(payload["cut"]["amount"])
    shown = (await storefront(SHOW, {"id": bargain["id"]}))["bargain"]
    assert sum(cuts) == PRICE
    assert [c["amount"]["amount"] for c in shown["cuts"]] == cuts
    assert (shown["price"]["amount"], shown["helpers"], shown["reached"]) == (0, 3, True)

    placed = (await me(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "o1"}))[
        "placeOrder"
    ]
    assert placed["errors"] == []
    assert placed["order"]["total"]["amount"] == 0
    assert placed["order"]["status"] == "PAID"  # nothing to pay: paid when placed
    again = (await me(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "o2"}))[
        "placeOrder"
    ]
    assert codes(again) == ["BARGAIN_CLOSED"]
    assert (await storefront(SHOW, {"id": bargain["id"]}))["bargain"]["status"] == "ordered"


async def test_the_starter_may_buy_before_the_floor_at_the_price_reached(
    admin, member, tenant, storefront, make_product
) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product, floor=800, helpers=5)
    bargain = await started(me, sku)
    (friend,) = await friends(tenant, storefront, 1)
    cut = (await friend(HELP, {"id": bargain["id"]}))["helpBargain"]["cut"]["amount"]
    assert 1 <= cut <= PRICE - 800 - 4
    placed = (await me(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "o1"}))[
        "placeOrder"
    ]
    assert placed["order"]["total"]["amount"] == PRICE - cut
    paid = (await me(PAY, {"id": placed["order"]["id"], "key": "p1"}))["payOrder"]
    assert paid["errors"] == [] and paid["order"]["status"] == "PAID"
    late = (await friend(HELP, {"id": bargain["id"]}))["helpBargain"]
    assert codes(late) == ["BARGAIN_CLOSED"]


async def test_a_member_cannot_help_twice_or_help_themself(
    admin, member, tenant, storefront, make_product
) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product)
    bargain = await started(me, sku)
    own = (await me(HELP, {"id": bargain["id"]}))["helpBargain"]
    assert codes(own) == ["BARGAIN_OWN"] and own["errors"][0]["field"] == "bargainId"
    (friend,) = await friends(tenant, storefront, 1)
    first = (await friend(HELP, {"id": bargain["id"]}))["helpBargain"]
    twice = (await friend(HELP, {"id": bargain["id"]}))["helpBargain"]
    assert codes(twice) == ["BARGAIN_ALREADY_HELPED"]
    shown = (await storefront(SHOW, {"id": bargain["id"]}))["bargain"]
    assert shown["helpers"] == 1
    assert shown["price"]["amount"] == PRICE - first["cut"]["amount"]
    anonymous = (await storefront(HELP, {"id": bargain["id"]}))["helpBargain"]
    assert codes(anonymous) == ["UNAUTHENTICATED"]


async def test_no_cut_after_the_last_helper_and_no_one_else_buys_it(
    admin, member, tenant, storefront, make_product
) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product, floor=100, helpers=1)
    bargain = await started(me, sku)
    first, second = await friends(tenant, storefront, 2)
    assert (await first(HELP, {"id": bargain["id"]}))["helpBargain"]["cut"]["amount"] == PRICE - 100
    assert codes((await second(HELP, {"id": bargain["id"]}))["helpBargain"]) == ["BARGAIN_COMPLETE"]
    stolen = await first(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "x"})
    assert codes(stolen["placeOrder"]) == ["NOT_FOUND"]
    two = await me(PLACE, {"lines": [bargain_line(sku, bargain["id"], 2)], "key": "y"})
    assert [(e["code"], e["field"]) for e in two["placeOrder"]["errors"]] == [
        ("INVALID", "lines[0].quantity")
    ]


async def test_a_bargain_expires_after_its_validity(
    admin, member, tenant, storefront, make_product, worker, frozen_clock
) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product)
    bargain = await started(me, sku)
    (friend,) = await friends(tenant, storefront, 1)
    frozen_clock.advance(timedelta(hours=23, minutes=59))
    await worker.run_until_idle()
    assert (await storefront(SHOW, {"id": bargain["id"]}))["bargain"]["status"] == "open"
    frozen_clock.advance(timedelta(minutes=1))
    await worker.run_until_idle()
    assert (await storefront(SHOW, {"id": bargain["id"]}))["bargain"]["status"] == "expired"
    assert codes((await friend(HELP, {"id": bargain["id"]}))["helpBargain"]) == ["EXPIRED"]
    late = (await me(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "o1"}))[
        "placeOrder"
    ]
    assert codes(late) == ["EXPIRED"]
    fresh = await started(me, sku)
    assert fresh["id"] != bargain["id"] and fresh["status"] == "open"


async def test_a_cancelled_order_gives_the_bargain_back(admin, member, make_product) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product, floor=100)
    bargain = await started(me, sku)
    placed = (await me(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "o1"}))[
        "placeOrder"
    ]
    assert (await me(CANCEL, {"id": placed["order"]["id"]}))["cancelOrder"]["errors"] == []
    again = (await me(PLACE, {"lines": [bargain_line(sku, bargain["id"])], "key": "o2"}))[
        "placeOrder"
    ]
    assert again["errors"] == [] and again["order"]["total"]["amount"] == PRICE


async def test_offers_are_validated_and_need_the_manage_permission(
    admin, tenant, make_product
) -> None:
    product = await make_product("Tea", [(PRICE, 10)])
    sku = api.to_global("Sku", (await product.skus.all())[0].id)
    refused = (await admin(OFFER, {"sku": sku, "floor": PRICE - 2, "helpers": 3}))[
        "saveBargainOffer"
    ]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "floorPrice")]
    _, clerk = await create_staff(tenant, "clerk", "clerk")
    denied = await admin.as_(clerk)(OFFER, {"sku": sku, "floor": 0, "helpers": 3})
    assert codes(denied["saveBargainOffer"]) == ["FORBIDDEN"]
    _, manager = await create_staff(tenant, "manager", "manager")
    made = await admin.as_(manager)(OFFER, {"sku": sku, "floor": 0, "helpers": 3})
    assert made["saveBargainOffer"]["offer"]["helpers"] == 3


async def test_a_tenant_without_the_plugin_has_no_bargain(make_tenant, storefront) -> None:
    await make_tenant("plain")
    body = await storefront.as_(tenant="plain").raw(
        'mutation { startBargain(skuId: "x") { errors { code } } }'
    )
    assert "startBargain" in body["errors"][0]["message"]


def test_the_plugin_declares_its_permission_and_codes(yutang_runtime) -> None:
    info = yutang_runtime.registry.plugins["bargain"]
    assert [p.name for p in info.permissions] == ["bargain.manage"]
    assert all(code.startswith("BARGAIN_") for code in info.error_codes)
    assert "BARGAIN_ALREADY_HELPED" in info.error_codes


@pytest.mark.postgres_only
async def test_friends_racing_for_the_last_cut_stop_the_price_exactly_at_the_floor(
    admin, member, tenant, storefront, make_product
) -> None:
    _, me = member
    sku = await offered_sku(admin, make_product, floor=300, helpers=5)
    bargain = await started(me, sku)
    crowd = await friends(tenant, storefront, 24)
    for friend in crowd[:4]:
        assert (await friend(HELP, {"id": bargain["id"]}))["helpBargain"]["errors"] == []
    results = await asyncio.gather(*(f(HELP, {"id": bargain["id"]}) for f in crowd[4:]))
    payloads = [r["helpBargain"] for r in results]
    assert len([p for p in payloads if p["errors"] == []]) == 1
    assert {c for p in payloads for c in codes(p)} == {"BARGAIN_COMPLETE"}
    shown = (await storefront(SHOW, {"id": bargain["id"]}))["bargain"]
    assert (shown["price"]["amount"], shown["helpers"], shown["reached"]) == (300, 5, True)
    assert sum(c["amount"]["amount"] for c in shown["cuts"]) == PRICE - 300
