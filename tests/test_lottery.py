"""The lottery plugin: the pure prize chooser on a large sample, then activities, draws,
caps, idempotency, claims and earned draws over the real app, then races on PostgreSQL.

The frozen clock stands at 2026-06-01 10:00 in the shop's zone (Asia/Shanghai, UTC+8).
Database tests use only a few draws; the odds are checked on the pure function.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang import api
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Member, PointsEntry
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.plugins.lottery.earned import credit_paid_order
from yutang.plugins.lottery.models import (
    LotteryActivity,
    LotteryClaim,
    LotteryCounter,
    LotteryDraw,
    LotteryPrize,
)
from yutang.plugins.lottery.odds import choose, draw_from, percent
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

WINDOW = {"startsAt": "2026-06-01T00:00:00+08:00", "endsAt": "2026-06-08T00:00:00+08:00"}
PRIZE_FIELDS = "id name kind amount item weight odds stock remaining soldOut winCap claimDays won"
CREATE = f"""
mutation($input: LotteryActivityInput!) {{
  createLotteryActivity(input: $input) {{
    activity {{ id status totalWeight prizes {{ {PRIZE_FIELDS} }} }}
    errors {{ code field message }}
  }}
}}"""
DRAW_FIELDS = """id seq won paidWith pointsCharged fallthrough randomValue totalWeight
  weights { prizeId weight } chosenPrizeId prize { id name kind }
  claim { status deadline method address carrier trackingNumber }"""
DRAW = f"""
mutation($a: ID!, $k: String!) {{
  drawLottery(input: {{activityId: $a, idempotencyKey: $k}}) {{
    draw {{ {DRAW_FIELDS} }} errors {{ code field message }}
  }}
}}"""
ACTIVITY = f"""
query($id: ID!) {{
  lotteryActivity(id: $id) {{
    id name status totalWeight prizes {{ {PRIZE_FIELDS} }}
    myDraws {{ eligible reason drawsLeftToday freeLeftToday earnedLeft drawnToday drawnTotal }}
  }}
}}"""
ADMIN_ACTIVITY = f"query($id: ID!) {{ lotteryActivity(id: $id) {{ prizes {{ {PRIZE_FIELDS} }} }} }}"
CLAIM = f"""
mutation($input: LotteryClaimInput!) {{
  claimLotteryPrize(input: $input) {{ draw {{ {DRAW_FIELDS} }} errors {{ code field message }} }}
}}"""
SHIP = f"""
mutation($d: ID!, $c: String!, $t: String!) {{
  markLotteryPrizeShipped(drawId: $d, carrier: $c, trackingNumber: $t) {{
    draw {{ {DRAW_FIELDS} }} errors {{ code field message }}
  }}
}}"""
MY_PRIZES = f"{{ myLotteryPrizes {{ edges {{ node {{ {DRAW_FIELDS} }} }} }} }}"
DRAWS = f"""
query($a: ID!, $w: Boolean!, $s: LotteryClaimStatus) {{
  lotteryDraws(activityId: $a, winnersOnly: $w, claimStatus: $s) {{
    edges {{ node {{ memberId {DRAW_FIELDS} }} }}
  }}
}}"""

POINTS = {"name": "500积分", "kind": "POINTS", "amount": 500, "weight": 1}
THANKS = {"name": "谢谢参与", "kind": "NONE", "weight": 1}
TEAPOT = {"name": "紫砂壶", "kind": "GOODS", "weight": 1, "stock": 1}


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with the lottery enabled."""
    return await make_tenant("shop", plugins=["lottery"])


@pytest.fixture
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    """2026-06-01 10:00 +08:00."""
    return frozen_clock


def at(clock: FrozenClock, local: str) -> None:
    """Set the frozen clock to a local (+08:00) time like ``"2026-06-01T23:59:59"``."""
    clock.current = datetime.fromisoformat(local + "+08:00").astimezone(UTC)


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


async def create(admin: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """Create an activity (100 points a draw, a points prize by default); its node."""
    body = {**WINDOW, "name": "积分抽奖", "pointsPerDraw": 100, "prizes": [POINTS], **fields}
    payload = (await admin(CREATE, {"input": body}))["createLotteryActivity"]
    assert payload["errors"] == [], payload["errors"]
    activity: dict[str, Any] = payload["activity"]
    return activity


async def draw(client: GraphQLClient, activity: dict[str, Any], key: str) -> dict[str, Any]:
    """The drawLottery payload (draw and errors)."""
    body = await client.raw(DRAW, {"a": activity["id"], "k": key})
    assert not body.get("errors"), body["errors"]
    result: dict[str, Any] = body["data"]["drawLottery"]
    return result


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def points_of(member_id: int) -> int:
    return (await Member.get(id=member_id)).points


# --- the pure chooser ---------------------------------------------------------------------


def test_choose_maps_each_value_to_its_band() -> None:
    weights = [1, 0, 3, 6]
    chosen = [choose(weights, v) for v in range(10)]
    assert chosen == [0, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    for bad in (-1, 10):
        with pytest.raises(ValueError):
            choose(weights, bad)
    with pytest.raises(ValueError):
        choose([0, 0], 0)
    with pytest.raises(ValueError):
        choose([2, -1], 0)


def test_weights_are_honoured_over_100000_draws() -> None:
    """Seeded frequencies against the weights: chi-square with 4 degrees of freedom stays
    under 18.467, its 99.9% quantile."""
    weights = [1, 40, 60, 400, 499]
    total, n = sum(weights), 100_000
    rng = random.Random(20260601)
    seen = Counter(choose(weights, rng.randrange(total)) for _ in range(n))
    expected = [n * w / total for w in weights]
    chi2 = sum((seen[i] - e) ** 2 / e for i, e in enumerate(expected))
    assert chi2 < 18.467, (chi2, seen)


def test_a_prize_at_stock_0_is_never_drawn() -> None:
    weights, remaining = [5, 3, 2], [0, None, 1]
    rng = random.Random(7)
    drawn = Counter()
    for _ in range(10_000):
        choice = draw_from(weights, remaining, rng.randrange(sum(weights)))
        drawn[choice.prize if choice.in_stock else None] += 1
    assert drawn[0] == 0
    assert drawn[None] > 0 and drawn[1] > 0 and drawn[2] > 0
    # Every value of the sold-out prize's band falls through; the others' odds are unchanged.
    assert [draw_from(weights, remaining, v).in_stock for v in range(10)] == [False] * 5 + [
        True
    ] * 5


def test_published_odds_are_exact_percentages() -> None:
    assert percent(1, 100_000) == "0.0010%"
    assert percent(1, 3) == "33.3333%"
    assert percent(0, 7) == "0.0000%"


# --- activities -------------------------------------------------------------------------------


async def test_the_merchants_case_publishes_prizes_and_odds(
    admin: GraphQLClient, storefront: GraphQLClient, clock: FrozenClock
) -> None:
    prizes = [
        {**TEAPOT, "name": "¥5000 紫砂壶"},
        {"name": "¥100 券", "kind": "COUPON", "item": "coupon-100", "weight": 20, "stock": 50},
        {"name": "¥50 券", "kind": "COUPON", "item": "coupon-50", "weight": 200, "stock": 500},
        POINTS | {"weight": 2000, "winCap": 3},
        THANKS | {"weight": 7779},
    ]
    activity = await create(admin, prizes=prizes, dailyCap=3, rules="每日3次")
    assert activity["status"] == "RUNNING" and activity["totalWeight"] == 10_000
    shown = (await storefront(ACTIVITY, {"id": activity["id"]}))["lotteryActivity"]
    assert [(p["name"], p["odds"]) for p in shown["prizes"]] == [
        ("¥5000 紫砂壶", "0.0100%"),
        ("¥100 券", "0.2000%"),
        ("¥50 券", "2.0000%"),
        ("500积分", "20.0000%"),
        ("谢谢参与", "77.7900%"),
    ]
    assert shown["prizes"][0]["claimDays"] == 7 and shown["prizes"][0]["remaining"] == 1
    assert shown["myDraws"] is None
    listed = await storefront("{ lotteryActivities { id } }")
    assert listed["lotteryActivities"] == [{"id": activity["id"]}]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pointsPerDraw": 0}, "input.pointsPerDraw"),
        ({"endsAt": "2026-05-31T00:00:00+08:00"}, "input.endsAt"),
        ({"prizes": [THANKS | {"weight": 0}]}, "input.prizes"),
        (
            {"prizes": [THANKS, {"name": "券", "kind": "COUPON", "weight": 1}]},
            "input.prizes[1].item",
        ),
        ({"prizes": [{"name": "壶", "kind": "GOODS", "weight": 1}]}, "input.prizes[0].stock"),
        ({"prizes": [POINTS | {"amount": 0}]}, "input.prizes[0].amount"),
        ({"prizes": [POINTS | {"weight": -1}]}, "input.prizes[0].weight"),
        ({"prizes": [THANKS | {"stock": 3}]}, "input.prizes[0].stock"),
        ({"prizes": [POINTS | {"claimDays": 3}]}, "input.prizes[0].claimDays"),
        ({"dailyCap": 0}, "input.dailyCap"),
    ],
)
async def test_bad_activity_input_names_the_field(
    admin: GraphQLClient, clock: FrozenClock, change: dict[str, Any], field: str
) -> None:
    body = {**WINDOW, "name": "x", "pointsPerDraw": 100, "prizes": [POINTS], **change}
    payload = (await admin(CREATE, {"input": body}))["createLotteryActivity"]
    assert payload["activity"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", field)]


async def test_a_clerk_cannot_create_an_activity_or_ship_an_owner_can(
    http: Any, tenant: TenantInfo, clock: FrozenClock, admin: GraphQLClient
) -> None:
    _, token = await create_staff(tenant, "clerk", "clerk")
    clerk = GraphQLClient(http, "/admin/graphql", tenant.slug, token)
    body = {**WINDOW, "name": "x", "pointsPerDraw": 100, "prizes": [POINTS]}
    payload = (await clerk(CREATE, {"input": body}))["createLotteryActivity"]
    assert codes(payload) == ["FORBIDDEN"]
    draw = {"d": to_global("LotteryDraw", 999_999), "c": "SF", "t": "1"}
    assert codes((await clerk(SHIP, draw))["markLotteryPrizeShipped"]) == ["FORBIDDEN"]
    assert codes((await admin(SHIP, draw))["markLotteryPrizeShipped"]) == ["NOT_FOUND"]
    made = (await admin(CREATE, {"input": body}))["createLotteryActivity"]
    assert made["errors"] == [] and made["activity"]["id"]


# --- the draw -----------------------------------------------------------------------------


async def test_a_draw_charges_points_grants_points_and_keeps_its_audit(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    activity = await create(admin, prizes=[POINTS | {"weight": 3}, THANKS | {"weight": 0}])
    result = await draw(me, activity, "d-1")
    got = result["draw"]
    assert result["errors"] == []
    assert got["won"] is True and got["prize"]["name"] == "500积分"
    assert got["paidWith"] == "points" and got["pointsCharged"] == 100
    assert got["totalWeight"] == 3 and 0 <= got["randomValue"] < 3
    assert [w["weight"] for w in got["weights"]] == [3, 0]
    assert got["chosenPrizeId"] == got["prize"]["id"] and got["fallthrough"] is None
    assert await points_of(row.id) == 10_000 - 100 + 500
    ledger = {(e.reason, e.delta) for e in await PointsEntry.filter(member_id=row.id)}
    assert {("lottery", -100), ("reward", 500)} <= ledger
    stored = await LotteryDraw.get(id=pk(got["id"]))
    assert stored.random_value == got["randomValue"] and stored.weights[0][1] == 3


async def test_the_same_key_twice_is_one_draw(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    activity = await create(admin, prizes=[THANKS])
    first = await draw(me, activity, "same")
    again = await draw(me, activity, "same")
    assert again == first
    assert await LotteryDraw.all().count() == 1
    assert await points_of(row.id) == 10_000 - 100
    other = await create(admin, name="另一个", prizes=[THANKS])
    reused = await draw(me, other, "same")
    assert reused["draw"] is None
    assert [(e["code"], e["field"]) for e in reused["errors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
    ]


async def test_without_enough_points_nothing_is_written(
    tenant: TenantInfo, storefront: GraphQLClient, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, token = await create_member(tenant, "13900000002", points=99)
    me = storefront.as_(token)
    activity = await create(admin, prizes=[TEAPOT])
    result = await draw(me, activity, "poor")
    assert result["draw"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("INSUFFICIENT_POINTS", "points")
    ]
    assert await points_of(row.id) == 99
    assert await PointsEntry.filter(member_id=row.id).count() == 1
    assert await LotteryDraw.all().count() == 0
    assert await LotteryCounter.all().count() == 0
    assert (await LotteryPrize.get(name="紫砂壶")).remaining == 1
    left = (await me(ACTIVITY, {"id": activity["id"]}))["lotteryActivity"]["myDraws"]
    assert left["drawsLeftToday"] == 0 and left["eligible"] is True


async def test_free_draws_come_first_and_the_day_is_the_shops(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    activity = await create(admin, prizes=[THANKS], freeDrawsPerDay=1, dailyCap=2, totalCap=3)

    async def left() -> dict[str, Any]:
        data = await me(ACTIVITY, {"id": activity["id"]})
        mine: dict[str, Any] = data["lotteryActivity"]["myDraws"]
        return mine

    assert (await left())["drawsLeftToday"] == 2 and (await left())["freeLeftToday"] == 1
    assert (await draw(me, activity, "a"))["draw"]["paidWith"] == "free"
    assert (await draw(me, activity, "b"))["draw"]["paidWith"] == "points"
    capped = await draw(me, activity, "c")
    assert [(e["code"], e["field"], e["message"]) for e in capped["errors"]] == [
        ("LIMIT_REACHED", "activityId", "at most 2 draws a day")
    ]
    assert (await left())["drawsLeftToday"] == 0
    at(clock, "2026-06-01T23:59:59")  # 15:59:59 UTC: still the shop's June 1st
    assert codes(await draw(me, activity, "d")) == ["LIMIT_REACHED"]
    at(clock, "2026-06-02T00:00:00")
    assert await left() == {
        "eligible": True,
        "reason": None,
        "drawsLeftToday": 1,  # the total cap of 3 leaves one
        "freeLeftToday": 1,
        "earnedLeft": 0,
        "drawnToday": 0,
        "drawnTotal": 2,
    }
    assert (await draw(me, activity, "e"))["draw"]["paidWith"] == "free"
    total = await draw(me, activity, "f")
    assert [(e["code"], e["message"]) for e in total["errors"]] == [
        ("LIMIT_REACHED", "at most 3 draws in all")
    ]
    assert await points_of(row.id) == 10_000 - 100


async def test_the_window_and_stopping(member, admin: GraphQLClient, clock: FrozenClock) -> None:
    _, me = member
    later = await create(admin, startsAt="2026-06-02T00:00:00+08:00", prizes=[THANKS])
    assert later["status"] == "SCHEDULED"
    assert [(e["code"], e["field"]) for e in (await draw(me, later, "x"))["errors"]] == [
        ("NOT_OPEN", "activityId")
    ]
    activity = await create(admin, prizes=[THANKS])
    stop = """mutation($id: ID!) {
      stopLotteryActivity(id: $id) { activity { status stoppedAt } errors { code } } }"""
    first = (await admin(stop, {"id": activity["id"]}))["stopLotteryActivity"]
    assert first["errors"] == [] and first["activity"]["status"] == "STOPPED"
    assert first["activity"]["stoppedAt"]
    stopped_at = (await LotteryActivity.get(id=pk(activity["id"]))).stopped_at
    clock.advance(timedelta(hours=1))
    again = (await admin(stop, {"id": activity["id"]}))["stopLotteryActivity"]
    assert again == {"activity": first["activity"], "errors": []}  # stopped the first time
    assert (await LotteryActivity.get(id=pk(activity["id"]))).stopped_at == stopped_at
    assert codes(await draw(me, activity, "y")) == ["NOT_OPEN"]
    at(clock, "2026-06-08T00:00:00")
    assert codes(await draw(me, later, "z")) == ["NOT_OPEN"]


async def test_only_eligible_members_draw(member, admin: GraphQLClient, clock: FrozenClock) -> None:
    row, me = member
    tagged = await create(admin, prizes=[THANKS], memberTags=["vip"])
    refused = await draw(me, tagged, "t-1")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ELIGIBLE", "activityId")]
    mine = (await me(ACTIVITY, {"id": tagged["id"]}))["lotteryActivity"]["myDraws"]
    assert mine["eligible"] is False and "vip" in mine["reason"]
    await Member.filter(id=row.id).update(tags=["vip"])
    assert (await draw(me, tagged, "t-2"))["errors"] == []

    newcomers = await create(admin, prizes=[THANKS], newMemberDays=3)
    await Member.filter(id=row.id).update(created_at=clock.current)  # joined "now"
    assert (await draw(me, newcomers, "n-1"))["errors"] == []
    clock.advance(timedelta(days=3, seconds=1))
    assert codes(await draw(me, newcomers, "n-2")) == ["NOT_ELIGIBLE"]


async def test_a_sold_out_prize_and_a_win_cap_fall_through_to_no_prize(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    activity = await create(admin, prizes=[TEAPOT, THANKS | {"weight": 0}])
    assert (await draw(me, activity, "1"))["draw"]["won"] is True
    second = (await draw(me, activity, "2"))["draw"]
    assert second["won"] is False and second["prize"] is None
    assert second["fallthrough"] == "OUT_OF_STOCK"
    assert second["chosenPrizeId"] == activity["prizes"][0]["id"]

    capped = await create(admin, name="封顶", prizes=[POINTS | {"winCap": 1}])
    assert (await draw(me, capped, "3"))["draw"]["won"] is True
    assert (await draw(me, capped, "4"))["draw"]["fallthrough"] == "WIN_CAP"
    assert await points_of(row.id) == 10_000 - 4 * 100 + 500


async def test_a_coupon_nobody_grants_falls_through_and_keeps_its_stock(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    coupon = {"name": "¥100 券", "kind": "COUPON", "item": "coupon-100", "weight": 1, "stock": 5}
    activity = await create(admin, prizes=[coupon])
    got = (await draw(me, activity, "c-1"))["draw"]
    assert got["won"] is False and got["fallthrough"] == "NO_REWARD_PROVIDER"
    assert (await LotteryPrize.get(name="¥100 券")).remaining == 5
    assert await points_of(row.id) == 10_000 - 100


async def test_a_goods_prize_is_claimed_shipped_and_listed(
    member, admin: GraphQLClient, clock: FrozenClock, tenant: TenantInfo
) -> None:
    row, me = member
    activity = await create(admin, prizes=[TEAPOT | {"claimDays": 3}, THANKS | {"weight": 0}])
    won = (await draw(me, activity, "w"))["draw"]
    assert won["claim"]["status"] == "PENDING"
    assert won["claim"]["deadline"].startswith("2026-06-04T02:00:00")
    assert await points_of(row.id) == 10_000 - 100
    listed = (await me(MY_PRIZES))["myLotteryPrizes"]["edges"]
    assert [e["node"]["id"] for e in listed] == [won["id"]]

    early = await admin(SHIP, {"d": won["id"], "c": "SF", "t": "SF1"})
    assert codes(early["markLotteryPrizeShipped"]) == ["ILLEGAL_TRANSITION"]
    no_address = {"drawId": won["id"], "method": "DELIVERY", "name": "张三", "phone": "13900000001"}
    refused = (await me(CLAIM, {"input": no_address}))["claimLotteryPrize"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "input.address")]
    claim = no_address | {"address": "杭州市西湖区"}
    claimed = (await me(CLAIM, {"input": claim}))["claimLotteryPrize"]["draw"]["claim"]
    assert claimed["status"] == "CLAIMED" and claimed["address"] == "杭州市西湖区"
    twice = (await me(CLAIM, {"input": claim}))["claimLotteryPrize"]
    assert codes(twice) == ["LOTTERY_ALREADY_CLAIMED"]

    winners = await admin(DRAWS, {"a": activity["id"], "w": True, "s": "CLAIMED"})
    assert [e["node"]["memberId"] for e in winners["lotteryDraws"]["edges"]] == [
        to_global("Member", row.id)
    ]
    contact = """query($a: ID!) { lotteryDraws(activityId: $a, winnersOnly: true) {
      edges { node { claim { name phone address } } } } }"""
    full = (await admin(contact, {"a": activity["id"]}))["lotteryDraws"]["edges"]
    assert full[0]["node"]["claim"] == {
        "name": "张三",
        "phone": "13900000001",
        "address": claim["address"],
    }
    _, clerk = await create_staff(tenant, "clerk", "clerk")  # sees draws, ships no prize
    masked = (await admin.as_(clerk)(contact, {"a": activity["id"]}))["lotteryDraws"]["edges"]
    assert masked[0]["node"]["claim"] == {"name": "张*", "phone": "139****0001", "address": ""}
    shipped = (await admin(SHIP, {"d": won["id"], "c": "SF", "t": "SF1"}))[
        "markLotteryPrizeShipped"
    ]["draw"]["claim"]
    assert (shipped["status"], shipped["carrier"], shipped["trackingNumber"]) == (
        "SHIPPED",
        "SF",
        "SF1",
    )
    stock = (await admin(ADMIN_ACTIVITY, {"id": activity["id"]}))["lotteryActivity"]
    assert (stock["prizes"][0]["remaining"], stock["prizes"][0]["won"]) == (0, 1)
    assert stock["prizes"][0]["soldOut"] is True


async def test_an_unclaimed_prize_expires(
    member, admin: GraphQLClient, worker: Worker, clock: FrozenClock
) -> None:
    _, me = member
    activity = await create(admin, prizes=[TEAPOT | {"claimDays": 1}])
    won = (await draw(me, activity, "w"))["draw"]
    await worker.run_until_idle()
    assert (await LotteryClaim.get(draw_id=pk(won["id"]))).status == "pending"
    clock.advance(timedelta(days=1))
    pickup = {"drawId": won["id"], "method": "PICKUP", "name": "张三", "phone": "13900000001"}
    late = (await me(CLAIM, {"input": pickup}))["claimLotteryPrize"]
    assert codes(late) == ["EXPIRED"]
    await worker.run_until_idle()
    assert (await LotteryClaim.get(draw_id=pk(won["id"]))).status == "expired"
    expired = await admin(DRAWS, {"a": activity["id"], "w": True, "s": "EXPIRED"})
    assert len(expired["lotteryDraws"]["edges"]) == 1


async def test_settings_set_the_claim_days_and_can_refuse_pickup(
    make_tenant: MakeTenant, storefront: GraphQLClient, admin: GraphQLClient, clock: FrozenClock
) -> None:
    settings = {"lottery": {"claim_days": 2, "allow_pickup": False}}
    other = await make_tenant("strict", plugins=["lottery"], settings=settings)
    _, staff = await create_staff(other, "owner", "owner")
    activity = await create(admin.as_(staff, tenant="strict"), prizes=[TEAPOT])
    assert activity["prizes"][0]["claimDays"] == 2
    _, token = await create_member(other, "13900000009", points=1000)
    me = storefront.as_(token, tenant="strict")
    won = (await draw(me, activity, "w"))["draw"]
    assert won["claim"]["deadline"].startswith("2026-06-03T02:00:00")
    pickup = {"drawId": won["id"], "method": "PICKUP", "name": "张三", "phone": "13900000009"}
    refused = (await me(CLAIM, {"input": pickup}))["claimLotteryPrize"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", "input.method")]
    body = await admin.as_(staff, tenant="strict").raw(
        DRAWS, {"a": activity["id"], "w": True, "s": "lost"}
    )
    assert body.get("data") is None and "LotteryClaimStatus" in body["errors"][0]["message"]


async def test_a_paid_order_earns_draws_once(
    tenant: TenantInfo,
    member,
    admin: GraphQLClient,
    make_product,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    row, me = member
    activity = await create(
        admin, prizes=[THANKS], pointsPerDraw=0, drawsPerOrder=2, minOrderAmount=5000
    )
    await make_product("Tea", [(5800, 10)])
    products = await me("{ products { edges { node { skus { id } } } } }")
    sku = products["products"]["edges"][0]["node"]["skus"][0]["id"]
    place = """mutation($sku: ID!) { placeOrder(input: {lines: [{skuId: $sku, quantity: 1}],
      idempotencyKey: "o-1"}) { order { id } errors { code } } }"""
    order = (await me(place, {"sku": sku}))["placeOrder"]["order"]
    assert codes(await draw(me, activity, "early")) == ["LOTTERY_NO_DRAWS_LEFT"]
    pay = (
        'mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "p-1"}) '
        "{ paymentStatus } }"
    )
    await me(pay, {"id": order["id"]})
    await worker.run_until_idle()
    # The event delivered a second time (at least once) credits nothing more.
    again = api.Event(
        id=0,
        name="yutang_order_paid",
        tenant_id=tenant.id,
        occurred_at=clock.current,
        order_id=pk(order["id"]),
        member_id=row.id,
        data={"amount": 5800},
    )
    async with in_transaction():
        await credit_paid_order(tenant, again)
    mine = (await me(ACTIVITY, {"id": activity["id"]}))["lotteryActivity"]["myDraws"]
    assert (mine["earnedLeft"], mine["drawsLeftToday"]) == (2, 2)
    assert (await draw(me, activity, "e-1"))["draw"]["paidWith"] == "earned"
    assert (await draw(me, activity, "e-2"))["draw"]["paidWith"] == "earned"
    assert codes(await draw(me, activity, "e-3")) == ["LOTTERY_NO_DRAWS_LEFT"]
    assert await points_of(row.id) == 10_000


async def test_a_tenant_without_the_plugin_has_no_lottery_fields(
    make_tenant: MakeTenant, storefront: GraphQLClient, admin: GraphQLClient
) -> None:
    await make_tenant("plain")
    for query in ("{ lotteryActivities { id } }", "{ myLotteryPrizes { edges { cursor } } }"):
        body = await storefront.as_(tenant="plain").raw(query)
        assert body["errors"][0]["extensions"] == {"code": "PLUGIN_DISABLED", "plugin": "lottery"}
    body = await admin.as_(tenant="plain").raw(
        'mutation { stopLotteryActivity(id: "x") { errors { code } } }'
    )
    assert body["errors"][0]["extensions"] == {"code": "PLUGIN_DISABLED", "plugin": "lottery"}
    assert "lotteryActivities" in str(await storefront.raw("{ lotteryActivities { id } }"))


async def test_the_database_refuses_negative_stock_and_overused_earned_draws(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    """The backstop behind the conditional updates: the migration's CHECKs, on both
    databases (constraints on PostgreSQL, triggers on SQLite)."""
    row, me = member
    activity = await create(admin, prizes=[TEAPOT])
    await draw(me, activity, "k")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await LotteryPrize.filter(name="紫砂壶").update(remaining=-1)
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await LotteryCounter.filter(member_id=row.id).update(earned_used=1)
    await LotteryPrize.filter(name="紫砂壶").update(remaining=None)  # null: unlimited


# --- races (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_200_members_race_for_a_teapot_of_one(
    tenant: TenantInfo, storefront: GraphQLClient, admin: GraphQLClient, clock: FrozenClock
) -> None:
    activity = await create(admin, prizes=[TEAPOT | {"weight": 1000}, THANKS])
    made = await asyncio.gather(
        *(create_member(tenant, f"137{i:08d}", points=1000) for i in range(200))
    )
    results = await asyncio.gather(
        *(draw(storefront.as_(token), activity, f"k-{i}") for i, (_, token) in enumerate(made))
    )

    assert all(r["errors"] == [] for r in results), [r for r in results if r["errors"]]
    won = [r["draw"] for r in results if r["draw"]["won"]]
    assert len(won) == 1 and won[0]["prize"]["name"] == "紫砂壶"
    assert await LotteryDraw.filter(prize__kind="goods").count() == 1
    assert await LotteryClaim.all().count() == 1
    assert (await LotteryPrize.get(name="紫砂壶")).remaining == 0
    assert await LotteryDraw.all().count() == 200
    members = await Member.filter(id__in=[m.id for m, _ in made])
    assert {m.points for m in members} == {900}
    charged = await PointsEntry.filter(reason="lottery")
    assert len(charged) == 200 and {e.delta for e in charged} == {-100}


@pytest.mark.postgres_only
async def test_one_member_30_draws_at_once_with_a_daily_cap_of_3(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    activity = await create(admin, prizes=[THANKS], dailyCap=3)
    results = await asyncio.gather(*(draw(me, activity, f"burst-{i}") for i in range(30)))
    drawn = [r for r in results if r["draw"] is not None]
    assert len(drawn) == 3
    assert Counter(c for r in results for c in codes(r)) == {"LIMIT_REACHED": 27}
    assert sorted(r["draw"]["seq"] for r in drawn) == [1, 2, 3]
    assert await points_of(row.id) == 10_000 - 300
    assert await PointsEntry.filter(member_id=row.id, reason="lottery").count() == 3
    counter = await LotteryCounter.get(member_id=row.id)
    assert (counter.today, counter.total) == (3, 3)


@pytest.mark.postgres_only
async def test_one_key_sent_10_times_at_once_draws_once(
    member, admin: GraphQLClient, clock: FrozenClock
) -> None:
    row, me = member
    activity = await create(admin, prizes=[THANKS])
    results = await asyncio.gather(*(draw(me, activity, "tap") for _ in range(10)))
    assert len({r["draw"]["id"] for r in results}) == 1
    assert await points_of(row.id) == 10_000 - 100
