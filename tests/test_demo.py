"""The demo tenant through the real app: after ``load_demo`` every plugin the demo enables
(``plugins.toml``) has its play live on the storefront, seeded by the plugin itself through
``yutang_demo_data``: a seckill session open now and one later, a 满减 ladder, coupons to
claim, a lottery to draw, pickup stores with slots, a group buy and a presale.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from yutang.core.clock import FrozenClock
from yutang.core.demo import load_demo
from yutang.core.runtime import Runtime
from yutang.testing import GraphQLClient, MakeTenant

ROOT = Path(__file__).parent.parent
DEMO_PLUGINS: list[str] = tomllib.loads((ROOT / "plugins.toml").read_text())["tenants"]["demo"][
    "plugins"
]
PLAYS = """{
  seckillSessions { sessions { status startsAt items { price { amount } } } }
  fullReductions { name mode tiers { threshold { amount } off { amount } } }
  couponTemplates { id name claimable }
  lotteryActivities { id status pointsPerDraw freeDrawsPerDay }
  pickupStores { name openNow slots { capacity remaining } }
  products(first: 20) { edges { node { name
    seckill { price { amount } }
    groupbuy { teamSize items { price { amount } } }
    presales { phase deposit { amount } deduction { amount } } } } }
}"""
LOGIN = """mutation { login(phone: "13800000000", password: "yutang-demo") {
  token errors { code } } }"""
CLAIM = """mutation($id: ID!) { claimCoupon(templateId: $id) {
  coupon { name status } errors { code message } } }"""
DRAW = """mutation($id: ID!) {
  drawLottery(input: {activityId: $id, idempotencyKey: "demo-1"}) {
  draw { paidWith prize { name } } errors { code message } } }"""


async def test_every_play_of_the_demo_is_live_on_the_storefront(
    yutang_db: Runtime, make_tenant: MakeTenant, http: Any, frozen_clock: FrozenClock
) -> None:
    await make_tenant("demo", plugins=DEMO_PLUGINS)
    said: list[str] = []
    await load_demo(yutang_db, "demo", said.append)
    for plugin in DEMO_PLUGINS:  # each plugin says what it made
        assert any(line.startswith(plugin_label(plugin)) for line in said), (plugin, said)
    frozen_clock.advance(timedelta(seconds=1))
    shop = GraphQLClient(http, "/graphql", "demo")
    plays = await shop(PLAYS)

    statuses = [s["status"] for s in plays["seckillSessions"]["sessions"]]
    assert statuses[0] == "OPEN" and "UPCOMING" in statuses[1:], statuses
    [ladder] = plays["fullReductions"]
    assert ladder["mode"] == "ladder" and len(ladder["tiers"]) == 3
    assert len(plays["couponTemplates"]) == 2
    [draw] = plays["lotteryActivities"]
    assert draw["status"] == "RUNNING" and draw["freeDrawsPerDay"] == 1
    [store] = plays["pickupStores"]
    assert store["openNow"] and store["slots"] and store["slots"][0]["remaining"] > 0
    products = [e["node"] for e in plays["products"]["edges"]]
    on_seckill = [p for p in products if p["seckill"]]
    on_groupbuy = [p for p in products if p["groupbuy"]]
    on_presale = [p for p in products if p["presales"]]
    assert len(on_seckill) == len(on_groupbuy) == len(on_presale) == 1
    assert on_presale[0]["presales"][0]["phase"] == "DEPOSIT"
    # Each activity is on a product of its own.
    assert len({p["name"] for p in on_seckill + on_groupbuy + on_presale}) == 3

    token = (await shop(LOGIN))["login"]["token"]
    me = shop.as_(token)
    for template in plays["couponTemplates"]:
        claimed = (await me(CLAIM, {"id": template["id"]}))["claimCoupon"]
        assert claimed["errors"] == [] and claimed["coupon"]["name"] == template["name"]
    drawn = (await me(DRAW, {"id": draw["id"]}))["drawLottery"]
    assert drawn["errors"] == [] and drawn["draw"]["paidWith"] == "free"


def plugin_label(plugin: str) -> str:
    """How a plugin's progress line begins."""
    return {"fullreduction": "full reduction", "groupbuy": "group buy"}.get(plugin, plugin)
