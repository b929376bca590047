"""``docs/frontend.md`` runs: every GraphQL block in it, as written, against the demo.

The blocks run in the guide's order through the real app, as the demo member once
``Login`` answered its token. The guide's example variables are used as they are, with
each ``<placeholder>`` replaced by the real ID it describes: the ones the demo seeds are
looked up first, the rest come from the answers of earlier blocks. Every payload's
``errors`` must be empty. A block the test does not know, or a placeholder it cannot
fill, fails it: the guide cannot drift from the API.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec

from yutang.core.clock import FrozenClock
from yutang.core.demo import load_demo
from yutang.core.runtime import Runtime
from yutang.testing import GraphQLClient, MakeTenant

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "frontend.md"
DEMO_PLUGINS: list[str] = tomllib.loads((ROOT / "plugins.toml").read_text())["tenants"]["demo"][
    "plugins"
]
BLOCK = re.compile(r"```graphql\n(.*?)```\n(?:```json\n(.*?)```\n)?", re.S)
NAME = re.compile(r"^(?:query|mutation) (\w+)", re.M)
DISCOVER = """query Discover {
  products(first: 50) { edges { node { id name
    skus { id stock price { amount } seckill { ref } }
    groupbuy { items { ref skuId } }
    presales { id skuId } } } }
  couponTemplates { id claimable }
  lotteryActivities { id }
  pickupStores(first: 1) { id slots { slot remaining } }
}"""
ADDRESSES = "query { myAddresses { id } }"


def guide_blocks() -> list[tuple[str, str, dict[str, Any]]]:
    """(operation name, text, example variables) of each block, in the guide's order."""
    found = []
    for text, variables in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        name = NAME.search(text)
        assert name is not None, f"a block of the guide names no operation: {text[:60]}"
        found.append((name.group(1), text, msgspec.json.decode(variables) if variables else {}))
    return found


def filled(value: Any, known: dict[str, Any]) -> Any:
    """``value`` with every ``<placeholder>`` string replaced by what it stands for."""
    if isinstance(value, dict):
        return {k: filled(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, known) for v in value]
    if isinstance(value, str) and value.startswith("<"):
        assert value in known, f"the guide's placeholder {value!r} is not known to the test"
        return known[value]
    return value


def payload_errors(data: Any) -> list[Any]:
    """Every ``errors`` list inside ``data`` (the mutation payloads'), flattened."""
    if isinstance(data, dict):
        found = list(data.get("errors") or [])
        for key, value in data.items():
            if key != "errors":
                found += payload_errors(value)
        return found
    if isinstance(data, list):
        return [e for item in data for e in payload_errors(item)]
    return []


class Run:
    """The guide's blocks run in order, with what each answer tells the next."""

    def __init__(self, shop: GraphQLClient) -> None:
        self.shop = shop
        self.known: dict[str, Any] = {}
        self.answers: dict[str, dict[str, Any]] = {}

    async def block(self, name: str, text: str, example: dict[str, Any]) -> dict[str, Any]:
        body = await self.shop.raw(text, filled(example, self.known))
        assert not body.get("errors"), (name, body["errors"])
        data: dict[str, Any] = body["data"]
        assert payload_errors(data) == [], (name, data)
        self.answers[name] = data
        return data

    async def discover(self) -> None:
        """The demo's own IDs: a plain SKU (on no activity), each play's, an address."""
        data = await self.shop(DISCOVER)
        products = [e["node"] for e in data["products"]["edges"]]
        plain = [
            p
            for p in products
            if not p["groupbuy"] and not p["presales"] and not any(s["seckill"] for s in p["skus"])
        ]
        # the dearest SKU with stock for every block that orders it, so coupons apply
        dearest, sku = max(
            ((p, s) for p in plain for s in p["skus"] if s["stock"] >= 10),
            key=lambda found: found[1]["price"]["amount"],
        )
        seckill = next(s for p in products for s in p["skus"] if s["seckill"])
        groupbuy = next(p["groupbuy"][0]["items"][0] for p in products if p["groupbuy"])
        presale = next(p["presales"][0] for p in products if p["presales"])
        [store] = data["pickupStores"]
        slot = next(s["slot"] for s in store["slots"] if s["remaining"] > 0)
        self.known.update(
            {
                "<a product's id>": dearest["id"],
                "<a SKU's id>": sku["id"],
                "<the item's skuId>": seckill["id"],
                "<the item's ref>": seckill["seckill"]["ref"],
                "<the presale's skuId>": presale["skuId"],
                "<the presale's id>": presale["id"],
                "<a template's id>": next(
                    t["id"] for t in data["couponTemplates"] if t["claimable"]
                ),
                "<the activity's id>": data["lotteryActivities"][0]["id"],
                "<the store's id>": store["id"],
                "<a slot>": slot,
            }
        )
        self.groupbuy_item = groupbuy


async def test_every_query_of_the_frontend_guide_runs_against_the_demo(
    yutang_db: Runtime, make_tenant: MakeTenant, http: httpx.AsyncClient, frozen_clock: FrozenClock
) -> None:
    await make_tenant("demo", plugins=DEMO_PLUGINS)
    await load_demo(yutang_db, "demo", lambda _: None)
    frozen_clock.advance(timedelta(seconds=1))
    run = Run(GraphQLClient(http, "/graphql", "demo"))
    known = run.known

    def logged_in(data: dict[str, Any]) -> None:
        run.shop = run.shop.as_(data["login"]["token"])

    def placed(key: str) -> Callable[[dict[str, Any]], None]:
        def keep(data: dict[str, Any]) -> None:
            known[key] = data["placeOrder"]["order"]["id"]

        return keep

    def seckill_then_groupbuy(data: dict[str, Any]) -> None:
        # The group-buy block names its item with the same placeholders as seckill's.
        known["<the item's skuId>"] = run.groupbuy_item["skuId"]
        known["<the item's ref>"] = run.groupbuy_item["ref"]

    after: dict[str, Callable[[dict[str, Any]], None]] = {
        "Register": lambda data: None,
        "Login": logged_in,
        "UpdateProfile": lambda data: None,
        "Products": lambda data: None,
        "Product": lambda data: None,
        "AddToCart": lambda data: known.update(
            {"<the token addToCart answered>": data["addToCart"]["cartToken"]}
        ),
        "Cart": lambda data: None,
        "Quote": lambda data: known.update({"<the quote's hash>": data["quote"]["quote"]["hash"]}),
        "PlaceOrder": placed("<the order's id>"),
        "PayOrder": lambda data: None,
        "MyOrders": lambda data: None,
        "MyOrder": lambda data: known.update(
            {"<an order line's id>": data["order"]["lines"][0]["id"]}
        ),
        "RequestRefund": lambda data: None,
        "SeckillSessions": lambda data: None,
        "SeckillOrder": seckill_then_groupbuy,
        "FullReductions": lambda data: None,
        "CouponTemplates": lambda data: None,
        "ClaimCoupon": lambda data: known.update(
            {"<the coupon's id>": data["claimCoupon"]["coupon"]["id"]}
        ),
        "MyCoupons": lambda data: None,
        "QuoteWithCoupon": lambda data: None,
        "LotteryActivities": lambda data: None,
        "DrawLottery": lambda data: None,
        "OpenGroupbuyTeam": placed("<the team order>"),
        "MyGroupbuyTeam": lambda data: None,
        "PresaleDeposit": lambda data: None,
        "PickupStores": lambda data: None,
        "PickupOrder": placed("<the pickup order>"),
    }
    blocks = guide_blocks()
    assert [name for name, _, _ in blocks] == list(after), "the guide's blocks changed"
    by_name = {name: (text, example) for name, text, example in blocks}

    await run.discover()
    for name, text, example in blocks:
        if name == "MyGroupbuyTeam":  # the guide says: once paid
            await pay(run, by_name, known["<the team order>"])
            known["<the order's id, once paid>"] = known["<the team order>"]
        if name == "UpdateProfile":  # logged in: the demo member's address
            [address] = (await run.shop(ADDRESSES))["myAddresses"][:1]
            known["<an address id>"] = address["id"]
        after[name](await run.block(name, text, example))

    paid = run.answers["PayOrder"]["payOrder"]
    assert paid["order"]["status"] == "PAID" and paid["paymentStatus"] == "CAPTURED"
    listed = run.answers["MyOrders"]["myOrders"]["edges"]
    assert known["<the order's id>"] in [e["node"]["id"] for e in listed]
    assert run.answers["RequestRefund"]["requestRefund"]["refund"]["status"] == "OPEN"
    assert run.answers["QuoteWithCoupon"]["quote"]["quote"]["discount"]["amount"] > 0
    team = run.answers["MyGroupbuyTeam"]["order"]["groupbuyTeam"]
    assert team["members"][0]["leader"] and team["members"][0]["paid"]
    pickup = await pay(run, by_name, known["<the pickup order>"])
    assert pickup["order"]["pickup"]["code"]  # the code is in the payment's answer


async def pay(run: Run, blocks: dict[str, tuple[str, dict[str, Any]]], order: str) -> Any:
    """Run the guide's ``PayOrder`` block again, for another order."""
    text, example = blocks["PayOrder"]
    example = {"input": {**example["input"], "idempotencyKey": f"pay-{order}"}}
    run.known["<the order's id>"], kept = order, run.known["<the order's id>"]
    try:
        return (await run.block("PayOrder again", text, example))["payOrder"]
    finally:
        run.known["<the order's id>"] = kept
