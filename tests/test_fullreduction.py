"""The full-reduction plugin over the real app: ladder and per-threshold tiers at their
boundaries, caps, percentages, scopes, activity lines, overlapping goods refused at save
(judged from the catalogue) and settled by the rule saved first after a catalogue edit,
exact apportionment, hints, free shipping, gift lines outside the subtotal, points/coupons
granted after payment and revoked once every paid line is refunded.

The frozen clock stands at 2026-06-01 10:00 +08:00, inside every rule's window.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from yutang import api
from yutang.core.catalog import ProductInput, SkuInput, save_category, save_product
from yutang.core.clock import FrozenClock
from yutang.core.contract import CheckoutContext, CheckoutLine, Draft, Stage, TenantInfo
from yutang.core.models import Order, OrderLine, PointsEntry, Sku
from yutang.core.refunds import RefundLineInput, _plan
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.plugins.fullreduction.models import FullreductionAward, FullreductionRule
from yutang.plugins.fullreduction.pricing import promote
from yutang.plugins.fullreduction.tiers import LADDER, PER, Tier, evaluate
from yutang.testing import GraphQLClient, MakeTenant, create_member

WINDOW = {"startsAt": "2026-06-01T00:00:00+08:00", "endsAt": "2026-06-08T00:00:00+08:00"}
LADDER_TIERS = [
    {"threshold": 10000, "off": 1000},
    {"threshold": 20000, "off": 3000},
    {"threshold": 30000, "off": 5000},
]
CREATE = """
mutation($input: FullReductionRuleInput!) {
  createFullReductionRule(input: $input) {
    rule { id name status scope scopeIds scopeTags mode cap { amount }
           tiers { threshold { amount } summary off { amount } percentOff freeShipping
                   giftSkuId points coupon couponCount } }
    errors { code field message }
  }
}"""
STOP = """mutation($id: ID!) {
  stopFullReductionRule(id: $id) { rule { status } errors { code field } } }"""
QUOTE = """
query($lines: [LineInput!]!, $ext: CheckoutExtensionsInput) {
  quote(input: {lines: $lines, extensions: $ext}) {
    quote { subtotal { amount } discount { amount } total { amount } hash
            lines { index skuId unitPrice { amount } discount { amount } amount { amount } }
            adjustments { source stage kind label amount { amount }
                          lines { line amount { amount } } }
            hints { source message } }
    errors { code field message }
  }
}"""
PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, extensions: $ext}) {
    order { id status total { amount } lines { id skuId quantity unitPrice { amount }
            amount { amount } } }
    errors { code field message }
  }
}"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status } errors { code field } } }"""
REFUND = """mutation($o: ID!, $k: String!, $lines: [RefundLineInput!]) {
  refundOrder(input: {orderId: $o, idempotencyKey: $k, lines: $lines}) {
    refund { status amount { amount } } errors { code field message } } }"""


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with full reduction enabled."""
    return await make_tenant("shop", plugins=["fullreduction", "seckill"])


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


async def product(
    tenant: TenantInfo,
    name: str,
    price: int,
    stock: int = 100,
    category_id: int | None = None,
    tags: tuple[str, ...] = (),
) -> Sku:
    """A published one-SKU product (optionally in a category, with tags); its SKU."""
    row = await save_product(
        tenant,
        ProductInput(
            name=name,
            published=True,
            category_id=category_id,
            tags=list(tags),
            skus=[SkuInput(price=price, stock=stock)],
        ),
    )
    return await Sku.get(product_id=row.id)


def gid_product(sku: Sku) -> str:
    return to_global("Product", sku.product_id)


def gid(sku: Sku) -> str:
    return to_global("Sku", sku.id)


def line(sku: Sku, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"skuId": gid(sku), "quantity": quantity, **extra}


async def coins(tenant: TenantInfo) -> tuple[Sku, Sku]:
    """A ¥1.00 SKU and a ¥0.01 SKU, to make carts of any amount."""
    return await product(tenant, "Yuan", 100, 9999), await product(tenant, "Fen", 1, 9999)


def worth(skus: tuple[Sku, Sku], amount: int) -> list[dict[str, Any]]:
    """Lines totalling ``amount`` minor units."""
    yuan, fen = divmod(amount, 100)
    return [line(s, q) for s, q in zip(skus, (yuan, fen), strict=True) if q]


async def create(admin: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """The createFullReductionRule payload."""
    inp = {"name": "满减", **WINDOW, "tiers": LADDER_TIERS, **fields}
    result: dict[str, Any] = (await admin(CREATE, {"input": inp}))["createFullReductionRule"]
    return result


async def rule(admin: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload = await create(admin, **fields)
    assert payload["errors"] == [], payload["errors"]
    found: dict[str, Any] = payload["rule"]
    return found


async def quote(client: GraphQLClient, lines: list[dict[str, Any]], ext: Any = None) -> Any:
    data = await client(QUOTE, {"lines": lines, "ext": ext})
    assert data["quote"]["errors"] == [], data["quote"]["errors"]
    return data["quote"]["quote"]


def promotion(q: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a for a in q["adjustments"] if a["source"] == "fullreduction" and a["kind"] == "discount"
    ]


def off(q: dict[str, Any]) -> int:
    return -sum(a["amount"]["amount"] for a in promotion(q))


def hints(q: dict[str, Any]) -> list[str]:
    return [h["message"] for h in q["hints"] if h["source"] == "fullreduction"]


# --- tiers at their boundaries ---------------------------------------------------------


async def test_ladder_takes_the_highest_tier_met_at_exact_boundaries(
    tenant, admin, storefront
) -> None:
    made = await rule(admin, name="店庆")
    assert [t["summary"] for t in made["tiers"]] == [
        "满¥100.00减¥10.00",
        "满¥200.00减¥30.00",
        "满¥300.00减¥50.00",
    ]
    sku = await coins(tenant)
    cases = {9999: 0, 10000: 1000, 19999: 1000, 20000: 3000, 29999: 3000, 30000: 5000, 99999: 5000}
    for amount, expected in cases.items():
        q = await quote(storefront, worth(sku, amount))
        assert off(q) == expected, amount
        assert q["total"]["amount"] == amount - expected
    q = await quote(storefront, worth(sku, 9999))
    assert hints(q) == ["店庆: 再买¥0.01可减¥10.00"]
    q = await quote(storefront, worth(sku, 27700))
    assert hints(q) == ["店庆: 再买¥23.00可减¥50.00"]
    assert promotion(q)[0]["label"] == "店庆 满¥200.00减¥30.00"
    assert hints(await quote(storefront, worth(sku, 30000))) == []


async def test_per_threshold_with_cap(tenant, admin, storefront) -> None:
    await rule(admin, mode="per", cap=2500, tiers=[{"threshold": 10000, "off": 1000}])
    sku = await coins(tenant)
    cases = {9999: 0, 10000: 1000, 19999: 1000, 20000: 2000, 29999: 2000, 30000: 2500, 90000: 2500}
    for amount, expected in cases.items():
        assert off(await quote(storefront, worth(sku, amount))) == expected, amount
    assert hints(await quote(storefront, worth(sku, 25000))) == ["满减: 再买¥50.00可减¥25.00"]
    assert hints(await quote(storefront, worth(sku, 30000))) == []


async def test_per_threshold_without_cap_repeats(tenant, admin, storefront) -> None:
    await rule(admin, mode="per", tiers=[{"threshold": 10000, "off": 1000}])
    sku = await coins(tenant)
    assert off(await quote(storefront, worth(sku, 55555))) == 5000


async def test_percentage_off_rounds_the_discount_down(tenant, admin, storefront) -> None:
    made = await rule(admin, tiers=[{"threshold": 10000, "percentOff": 15}])
    assert made["tiers"][0]["summary"] == "满¥100.00享8.5折"
    sku = await coins(tenant)
    q = await quote(storefront, worth(sku, 12345))
    assert off(q) == 1851  # 15% of 12345 is 1851.75
    assert q["total"]["amount"] == 12345 - 1851


# --- scope and activity lines ------------------------------------------------------------


async def test_scope_by_product(tenant, admin, storefront) -> None:
    tea, cup = await product(tenant, "Tea", 8000), await product(tenant, "Cup", 5000)
    await rule(admin, scope="products", scopeIds=[to_global("Product", tea.product_id)])
    q = await quote(storefront, [line(tea), line(cup)])
    assert off(q) == 0  # only the tea's ¥80 counts
    q = await quote(storefront, [line(tea, 2), line(cup)])
    assert off(q) == 1000
    shares = promotion(q)[0]["lines"]
    assert shares == [{"line": 0, "amount": {"amount": -1000}}]


async def test_scope_by_category_covers_its_subcategories(tenant, admin, storefront) -> None:
    tea_dept = await save_category(tenant, "茶", None)
    green = await save_category(tenant, "绿茶", tea_dept.id)
    tea = await product(tenant, "Longjing", 3000, category_id=green.id)
    brick = await product(tenant, "Pu'er brick", 4000, category_id=tea_dept.id)
    cup = await product(tenant, "Cup", 9000)
    await rule(admin, scope="categories", scopeIds=[to_global("Category", tea_dept.id)])
    assert off(await quote(storefront, [line(tea), line(brick), line(cup)])) == 0
    q = await quote(storefront, [line(tea, 2), line(brick), line(cup)])
    assert off(q) == 1000
    assert [s["line"] for s in promotion(q)[0]["lines"]] == [0, 1]


async def test_scope_by_tag(tenant, admin, storefront) -> None:
    gift = await product(tenant, "Gift box", 6000, tags=("礼盒", "新品"))
    tin = await product(tenant, "Tea tin", 3000, tags=("礼盒",))
    cup = await product(tenant, "Cup", 9000, tags=("新品礼盒",))
    made = await rule(admin, scope="tags", scopeTags=["礼盒", "礼盒"])
    assert made["scopeTags"] == ["礼盒"] and made["scopeIds"] == []
    assert off(await quote(storefront, [line(gift), line(tin), line(cup)])) == 0
    q = await quote(storefront, [line(gift), line(tin, 2), line(cup)])
    assert off(q) == 1000  # ¥60 + ¥60 of 礼盒 goods reach ¥100; the cup's tag is another word
    assert [s["line"] for s in promotion(q)[0]["lines"]] == [0, 1]


async def test_seckill_lines_neither_count_nor_get_anything(tenant, admin, storefront) -> None:
    tea, cup = await product(tenant, "Tea", 8000), await product(tenant, "Cup", 5000)
    created = await admin(
        """mutation($input: SeckillActivityInput!) { createSeckillActivity(input: $input) {
             activity { sessions { items { id } } } errors { code } } }""",
        {
            "input": {
                "name": "秒杀",
                **WINDOW,
                "memberLimit": 5,
                "sessions": [
                    {
                        "dailyStart": "10:00",
                        "dailyEnd": "11:00",
                        "items": [{"skuId": gid(tea), "price": 7000, "stock": 10}],
                    }
                ],
            }
        },
    )
    ref = created["createSeckillActivity"]["activity"]["sessions"][0]["items"][0]["id"]
    await rule(admin)
    _, token = await create_member(tenant, "13900000002")
    me = storefront.as_(token)
    seckill = line(tea, 2, activity={"plugin": "seckill", "ref": ref})
    q = await quote(me, [seckill, line(cup)])
    assert off(q) == 0  # ¥140 of seckill lines do not count; ¥50 of cups does not reach ¥100
    q = await quote(me, [seckill, line(cup, 2)])
    assert off(q) == 1000
    assert [s["line"] for s in promotion(q)[0]["lines"]] == [1]
    assert q["lines"][0]["amount"]["amount"] == 14000


# --- saving rules --------------------------------------------------------------------------


async def test_overlapping_rules_are_refused_at_save(tenant, admin) -> None:
    tea, cup = await product(tenant, "Tea", 8000), await product(tenant, "Cup", 5000)
    tea_id, cup_id = to_global("Product", tea.product_id), to_global("Product", cup.product_id)
    await rule(admin, scope="products", scopeIds=[tea_id])
    clash = await create(admin, scope="products", scopeIds=[tea_id, cup_id])
    assert clash["errors"][0]["code"] == "OVERLAP" and clash["rule"] is None
    assert (await create(admin, scope="all"))["errors"][0]["code"] == "OVERLAP"
    later = {"startsAt": "2026-06-08T00:00:00+08:00", "endsAt": "2026-06-09T00:00:00+08:00"}
    assert (await create(admin, scope="all", **later))["errors"] == []
    assert (await create(admin, scope="products", scopeIds=[cup_id]))["errors"] == []


async def test_tag_scopes_overlap_when_they_share_a_tag(tenant, admin) -> None:
    tea = await product(tenant, "Tea", 8000, tags=("礼盒",))
    await rule(admin, scope="tags", scopeTags=["礼盒", "茶"])
    clash = await create(admin, scope="tags", scopeTags=["茶"])  # no product carries 茶 yet
    assert clash["errors"][0]["code"] == "OVERLAP"
    by_product = await create(admin, scope="products", scopeIds=[gid_product(tea)])
    assert by_product["errors"][0]["code"] == "OVERLAP"  # the tea carries 礼盒
    assert (await create(admin, scope="tags", scopeTags=["新品"]))["errors"] == []


LATER = {"startsAt": "2026-06-10T00:00:00+08:00", "endsAt": "2026-06-11T00:00:00+08:00"}


@pytest.mark.parametrize(
    ("first", "second", "overlaps"),
    [
        (("tags", "满减"), ("products", "teapot"), False),
        (("tags", "满减"), ("products", "longjing"), True),
        (("categories", "tea"), ("products", "longjing"), True),
        (("categories", "tea"), ("products", "teapot"), False),
        (("categories", "green"), ("categories", "ware"), False),
        (("categories", "tea"), ("categories", "green"), True),
        (("tags", "满减"), ("categories", "tea"), True),
        (("tags", "满减"), ("categories", "ware"), False),
        (("tags", "礼盒"), ("tags", "新品"), True),
        (("tags", "满减"), ("tags", "礼盒"), False),
        (("all", ""), ("products", "teapot"), True),
    ],
)
async def test_two_rules_overlap_only_when_a_product_of_the_catalogue_falls_under_both(
    tenant, admin, first: tuple[str, str], second: tuple[str, str], overlaps: bool
) -> None:
    """Whatever their kinds, in either order: a tag and a product overlap when the product
    carries the tag, a category and a product when the product sits in it or below it."""
    tea_dept = await save_category(tenant, "茶", None)
    green = await save_category(tenant, "绿茶", tea_dept.id)
    ware = await save_category(tenant, "器具", None)
    longjing = await product(tenant, "Longjing", 6000, category_id=green.id, tags=("满减",))
    teapot = await product(tenant, "Teapot", 9000, category_id=ware.id)
    await product(tenant, "Gift box", 9000, tags=("礼盒", "新品"))
    products = {"longjing": gid_product(longjing), "teapot": gid_product(teapot)}
    categories = {
        k: to_global("Category", c.id)
        for k, c in (("tea", tea_dept), ("green", green), ("ware", ware))
    }

    def scoped(kind: str, what: str, name: str, window: dict[str, str]) -> dict[str, Any]:
        fields: dict[str, Any] = {"scope": kind, "name": name, **window}
        if kind == "tags":
            fields["scopeTags"] = [what]
        elif kind != "all":
            fields["scopeIds"] = [(products if kind == "products" else categories)[what]]
        return fields

    for window, (a, b) in ((WINDOW, (first, second)), (LATER, (second, first))):
        await rule(admin, **scoped(*a, "甲", window))
        payload = await create(admin, **scoped(*b, "乙", window))
        if overlaps:
            (error,) = payload["errors"]
            assert error["code"] == "OVERLAP" and payload["rule"] is None
            assert error["message"].startswith("rule '乙' overlaps rule '甲' at the same time")
        else:
            assert payload["errors"] == [], (a, b)


async def test_an_overlap_names_both_rules_and_a_product_under_both(tenant, admin) -> None:
    pot = await product(tenant, "Teapot", 9000, tags=("满减",))
    await rule(admin, name="店庆", scope="tags", scopeTags=["满减"])
    payload = await create(admin, name="茶壶特惠", scope="products", scopeIds=[gid_product(pot)])
    assert payload["errors"] == [
        {
            "code": "OVERLAP",
            "field": "input.scopeIds",
            "message": "rule '茶壶特惠' overlaps rule '店庆' at the same time and for the same "
            "goods (Teapot)",
        }
    ]


UPDATE_PRODUCT = """mutation($id: ID!, $tags: [String!]) {
  updateProduct(id: $id, input: {name: "Teapot", published: true, tags: $tags}) {
    product { tags } errors { code field message } } }"""


@pytest.mark.parametrize("saved_first", ["tags", "products"])
async def test_a_catalogue_edit_bringing_a_product_under_two_rules_goes_to_the_rule_saved_first(
    tenant, admin, storefront, saved_first: str
) -> None:
    """The merchant's case: 满100减10 / 满200减30 on goods tagged 满减 and 满100减20 on one
    teapot are both saved; tagging the teapot 满减 later is not refused, and from then on a
    quote gives the teapot to the rule saved first only."""
    tea = await product(tenant, "Longjing", 10000, tags=("满减",))
    pot = await product(tenant, "Teapot", 12000)
    by_tag = {"name": "满减活动", "scope": "tags", "scopeTags": ["满减"]}
    by_product = {
        "name": "茶壶特惠",
        "scope": "products",
        "scopeIds": [gid_product(pot)],
        "tiers": [{"threshold": 10000, "off": 2000}],
    }
    for made in (by_tag, by_product) if saved_first == "tags" else (by_product, by_tag):
        await rule(admin, **made)
    tag_rule, pot_rule = (
        ("满减活动 满¥100.00减¥10.00", -1000),
        ("茶壶特惠 满¥100.00减¥20.00", -2000),
    )
    apart = [tag_rule, pot_rule] if saved_first == "tags" else [pot_rule, tag_rule]
    cart = [line(tea), line(pot)]
    before = await quote(storefront, cart)
    assert [(a["label"], a["amount"]["amount"]) for a in promotion(before)] == apart

    tagged = await admin(UPDATE_PRODUCT, {"id": gid_product(pot), "tags": ["满减"]})
    assert tagged["updateProduct"] == {"product": {"tags": ["满减"]}, "errors": []}
    after = await quote(storefront, cart)
    given = [(a["label"], a["amount"]["amount"]) for a in promotion(after)]
    if saved_first == "tags":  # ¥220 of 满减 goods reach 满200减30; the teapot rule gets none
        assert given == [("满减活动 满¥200.00减¥30.00", -3000)]
        assert [s["line"] for s in promotion(after)[0]["lines"]] == [0, 1]
    else:  # the teapot stays with its own rule; ¥100 of tea alone reach 满100减10
        assert given == apart
    assert after["total"]["amount"] == 22000 - off(after)


async def test_a_stopped_rule_no_longer_prices_nor_blocks(tenant, admin, storefront) -> None:
    sku = await product(tenant, "Tea", 10000)
    made = await rule(admin)
    stopped = (await admin(STOP, {"id": made["id"]}))["stopFullReductionRule"]
    assert stopped == {"rule": {"status": "STOPPED"}, "errors": []}
    assert off(await quote(storefront, [line(sku)])) == 0
    assert (await create(admin))["errors"] == []


async def test_stopping_a_rule_again_changes_nothing(tenant, admin, clock) -> None:
    made = await rule(admin)
    stop = """mutation($id: ID!) {
      stopFullReductionRule(id: $id) { rule { status stoppedAt } errors { code field } } }"""
    first = (await admin(stop, {"id": made["id"]}))["stopFullReductionRule"]
    assert first["errors"] == [] and first["rule"]["stoppedAt"]
    stopped_at = (await FullreductionRule.get()).stopped_at
    clock.advance(timedelta(hours=1))
    again = (await admin(stop, {"id": made["id"]}))["stopFullReductionRule"]
    assert again == {
        "rule": {"status": "STOPPED", "stoppedAt": first["rule"]["stoppedAt"]},
        "errors": [],
    }
    assert (await FullreductionRule.get()).stopped_at == stopped_at


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"tiers": [{"threshold": 20000, "off": 1000}, {"threshold": 10000, "off": 500}]},
            "input.tiers[1].threshold",
        ),
        (
            {"tiers": [{"threshold": 10000, "off": 1000, "percentOff": 10}]},
            "input.tiers[0].percentOff",
        ),
        ({"tiers": [{"threshold": 10000}]}, "input.tiers[0]"),
        ({"tiers": [{"threshold": 10000, "off": 10001}]}, "input.tiers[0].off"),
        ({"tiers": [{"threshold": 10000, "percentOff": 100}]}, "input.tiers[0].percentOff"),
        ({"mode": "per", "tiers": LADDER_TIERS}, "input.tiers"),
        (
            {"mode": "per", "tiers": [{"threshold": 10000, "freeShipping": True}]},
            "input.tiers[0].off",
        ),
        ({"cap": 100}, "input.cap"),
        ({"mode": "per", "cap": 100, "tiers": [{"threshold": 10000, "off": 1000}]}, "input.cap"),
        ({"scope": "products"}, "input.scopeIds"),
        ({"scope": "tags"}, "input.scopeTags"),
        ({"scope": "all", "scopeTags": ["礼盒"]}, "input.scopeTags"),
        ({"scope": "tags", "scopeTags": [""]}, "input.scopeTags[0]"),
        ({"scope": "everything"}, "input.scope"),
        ({"endsAt": "2026-05-01T00:00:00+08:00"}, "input.endsAt"),
        (
            {"tiers": [{"threshold": 10000, "giftSkuId": to_global("Sku", 999)}]},
            "input.tiers[0].giftSkuId",
        ),
    ],
)
async def test_bad_rules_are_refused_naming_the_field(
    tenant, admin, fields: dict[str, Any], field: str
) -> None:
    payload = await create(admin, **fields)
    assert payload["rule"] is None
    assert payload["errors"][0]["field"] == field, payload["errors"]


async def test_clerks_cannot_create_or_stop_rules_owners_can(tenant, http, admin) -> None:
    from yutang.testing import create_staff

    _, token = await create_staff(tenant, "clerk", "clerk")
    clerk = GraphQLClient(http, "/admin/graphql", tenant.slug, token)
    payload = await clerk(CREATE, {"input": {"name": "x", **WINDOW, "tiers": LADDER_TIERS}})
    assert payload["createFullReductionRule"]["errors"][0]["code"] == "FORBIDDEN"
    made = await rule(admin, name="x")
    stop = (await clerk(STOP, {"id": made["id"]}))["stopFullReductionRule"]
    assert [e["code"] for e in stop["errors"]] == ["FORBIDDEN"]
    listed = await clerk("{ fullReductionRules { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["fullReductionRules"]["edges"]] == [made["id"]]
    done = (await admin(STOP, {"id": made["id"]}))["stopFullReductionRule"]
    assert done["errors"] == [] and done["rule"]["status"] == "STOPPED"


async def test_a_tenant_without_the_plugin_sees_none_of_it(make_tenant, http) -> None:
    await make_tenant("plain")
    body = await GraphQLClient(http, "/graphql", "plain").raw("{ fullReductions { name } }")
    assert body.get("errors")


async def test_storefront_lists_running_rules(tenant, admin, storefront) -> None:
    await rule(admin, name="店庆")
    data = await storefront("{ fullReductions { name status tiers { summary } } }")
    assert data["fullReductions"][0]["name"] == "店庆"
    assert data["fullReductions"][0]["status"] == "RUNNING"


# --- apportionment -------------------------------------------------------------------------


def draft_of(lines: list[tuple[int, int, bool]]) -> Draft:
    """A draft over (price, quantity, seckill) lines, seckill lines priced at ACTIVITY."""
    checkout = CheckoutContext(
        tenant=cast(TenantInfo, SimpleNamespace(currency="CNY")),
        member=None,
        lines=[
            CheckoutLine(i, i + 1, i + 1, "P", None, {}, q, p, 9999, 0, None)
            for i, (p, q, _) in enumerate(lines)
        ],
        extensions={},
        now=datetime(2026, 6, 1, tzinfo=UTC),
    )
    draft = Draft(checkout)
    draft.source, draft.stage = "seckill", Stage.ACTIVITY
    for ln, (price, _, seckill) in zip(draft.lines, lines, strict=True):
        if seckill:
            draft.set_activity_price(ln, price // 2, "秒杀价")
    draft.source, draft.stage = "fullreduction", Stage.PROMOTION
    return draft


def refund_in_steps(amount: int, quantity: int, steps: list[int]) -> int:
    """What refunding a line's units in ``steps`` returns in total, through the core's plan."""
    row = SimpleNamespace(
        id=1,
        quantity=quantity,
        amount=amount,
        points=0,
        refunded_quantity=0,
        refunded_amount=0,
        refunded_points=0,
    )
    returned = 0
    for qty in steps:
        plan = _plan(cast(Any, [row]), [RefundLineInput(line_id=1, quantity=qty)], {})[0]
        row.refunded_quantity += qty
        row.refunded_amount += plan["amount"]
        returned += plan["amount"]
    return returned


tier_sets = st.lists(
    st.tuples(st.integers(1, 50_000), st.integers(0, 60)),
    min_size=1,
    max_size=5,
    unique_by=lambda t: t[0],
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20_000), st.integers(1, 9), st.booleans()), min_size=1, max_size=12
    ),
    tier_sets,
    st.booleans(),
    st.data(),
)
def test_apportionment_is_exact_over_random_carts(
    lines: list[tuple[int, int, bool]], raw_tiers: list[tuple[int, int]], per: bool, data: Any
) -> None:
    raw_tiers.sort()
    tiers = [Tier(threshold=t, off=max(1, t * pct // 100)) for t, pct in raw_tiers]
    mode = PER if per else LADDER
    if per:
        tiers = tiers[:1]
    draft = draft_of(lines)
    eligible = draft.eligible()
    amount = sum(ln.amount for ln in eligible)
    outcome = evaluate(mode, tiers, None, amount, "CNY")
    applied = draft.discount(outcome.discount, eligible, "满减") if outcome.discount else 0
    assert applied == min(outcome.discount, amount)
    quote = draft.finish("CNY")
    assert sum(ln.discount for ln in quote.lines) == applied
    for ln, (_, qty, seckill) in zip(quote.lines, lines, strict=True):
        assert 0 <= ln.amount <= ln.unit_price * qty
        if seckill:
            assert ln.discount == 0
        cuts = [
            0,
            *sorted(data.draw(st.sets(st.integers(1, qty - 1)) if qty > 1 else st.just(set()))),
            qty,
        ]
        steps = [b - a for a, b in itertools.pairwise(cuts)]
        assert refund_in_steps(ln.amount, qty, steps) == ln.amount
    for adj in quote.adjustments:
        assert sum(adj.lines.values()) == adj.amount
    assert sum(a.amount for a in quote.adjustments) == quote.total - quote.subtotal


async def test_free_shipping_waives_the_shipping_fee(tenant, admin) -> None:
    await rule(admin, tiers=[{"threshold": 10000, "freeShipping": True}])
    sku = await product(tenant, "Tea", 10000)
    checkout = CheckoutContext(
        tenant=tenant,
        member=None,
        lines=[CheckoutLine(0, sku.id, sku.product_id, "Tea", None, {}, 1, 10000, 100, 0, None)],
        extensions={},
        now=api.now(),
    )
    draft = Draft(checkout)
    draft.source, draft.stage = "fullreduction", Stage.PROMOTION
    await promote(draft)
    draft.source, draft.stage = "shipping", Stage.FEES
    draft.add_fee("shipping", 800, "运费")
    quote = draft.finish("CNY")
    assert quote.fees == 0 and quote.total == 10000
    assert [a.label for a in quote.adjustments] == ["运费", "满减 满¥100.00包邮"]


# --- gifts ----------------------------------------------------------------------------------

CANCEL = """mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }"""


async def me_points(me: GraphQLClient) -> int:
    points: int = (await me("{ me { points } }"))["me"]["points"]
    return points


async def test_a_gift_sku_is_a_free_line_whose_stock_the_order_takes(tenant, admin, member) -> None:
    _, me = member
    tea, gift = await product(tenant, "Tea", 10000), await product(tenant, "Cup", 1500, stock=5)
    await rule(admin, tiers=[{"threshold": 10000, "giftSkuId": gid(gift), "giftQuantity": 2}])
    q = await quote(me, [line(tea)])
    assert len(q["lines"]) == 2
    given = q["lines"][1]
    assert given["skuId"] == gid(gift) and given["index"] == 1
    assert given["unitPrice"] == {"amount": 0} and given["amount"] == {"amount": 0}
    assert q["total"]["amount"] == 10000 and q["subtotal"]["amount"] == 10000
    (adj,) = [a for a in q["adjustments"] if a["kind"] == "gift"]
    assert adj["amount"]["amount"] == 0 and adj["label"] == "满减 赠品 Cup×2"
    assert hints(await quote(me, [line(tea, 1)])) == []

    placed = (await me(PLACE, {"lines": [line(tea)], "key": "o-1"}))["placeOrder"]
    assert placed["errors"] == [] and placed["order"]["total"] == {"amount": 10000}
    assert [ln["skuId"] for ln in placed["order"]["lines"]] == [gid(tea), gid(gift)]
    assert (await Sku.get(id=gift.id)).stock == 3
    cancelled = await me(CANCEL, {"id": placed["order"]["id"]})
    assert cancelled["cancelOrder"]["errors"] == []
    assert (await Sku.get(id=gift.id)).stock == 5


TOTALS = "subtotal { amount } discount { amount } fees { amount } total { amount }"
GIFT_TOTALS = f"""{TOTALS}
    lines {{ skuId quantity listPrice {{ amount }} unitPrice {{ amount }} discount {{ amount }}
            amount {{ amount }} gift }}"""
CART_ADD = """mutation($sku: ID!, $q: Int!) {
  addToCart(input: {skuId: $sku, quantity: $q}) { errors { code field message } } }"""
CART_QUOTE = f"{{ cart {{ quote {{ quote {{ {GIFT_TOTALS} }} errors {{ code }} }} }} }}"
PLACE_FROM_CART = f"""mutation {{
  placeOrder(input: {{fromCart: true, idempotencyKey: "o-cart"}}) {{
    order {{ id {TOTALS} quote {{ {GIFT_TOTALS} }} }}
    errors {{ code field message }} }} }}"""
QUOTE_TOTALS = f"""query($lines: [LineInput!]!) {{
  quote(input: {{lines: $lines}}) {{ quote {{ {GIFT_TOTALS} }} errors {{ code }} }} }}"""


async def test_a_gift_is_worth_its_list_price_outside_the_subtotal_and_the_discount(
    tenant, admin, member
) -> None:
    """A ¥230 cart meeting 满200减30 with a ¥15 gift: subtotal ¥230, discount ¥30, total ¥200,
    the gift at 0 and worth ¥15 — alike in the quote, the cart's quote and the order."""
    _, me = member
    tea, tin = await product(tenant, "Tea", 15000), await product(tenant, "Tin", 8000)
    cup = await product(tenant, "Cup", 1500)
    tiers = [
        {"threshold": 10000, "off": 1000},
        {"threshold": 20000, "off": 3000, "giftSkuId": gid(cup)},
    ]
    await rule(admin, tiers=tiers)
    totals = {
        "subtotal": {"amount": 23000},
        "discount": {"amount": 3000},
        "fees": {"amount": 0},
        "total": {"amount": 20000},
    }
    gift = {
        "skuId": gid(cup),
        "quantity": 1,
        "listPrice": {"amount": 1500},
        "unitPrice": {"amount": 0},
        "discount": {"amount": 0},
        "amount": {"amount": 0},
        "gift": "fullreduction",
    }
    asked = (await me(QUOTE_TOTALS, {"lines": [line(tea), line(tin)]}))["quote"]
    assert asked["errors"] == []
    q = asked["quote"]
    assert {k: q[k] for k in totals} == totals and q["lines"][2] == gift
    assert sum(ln["discount"]["amount"] for ln in q["lines"]) == 3000

    for sku in (tea, tin):
        assert (await me(CART_ADD, {"sku": gid(sku), "q": 1}))["addToCart"]["errors"] == []
    in_cart = (await me(CART_QUOTE))["cart"]["quote"]
    assert in_cart["errors"] == [] and in_cart["quote"] == q

    placed = (await me(PLACE_FROM_CART))["placeOrder"]
    assert placed["errors"] == []
    order = placed["order"]
    assert {k: order[k] for k in totals} == totals and order["quote"] == q
    row = await Order.get()
    assert (row.subtotal, row.discount, row.total) == (23000, 3000, 20000)


async def test_no_gift_line_when_its_stock_does_not_cover_it(tenant, admin, member) -> None:
    _, me = member
    tea, gift = await product(tenant, "Tea", 10000), await product(tenant, "Cup", 1500, stock=1)
    await rule(admin, tiers=[{"threshold": 10000, "giftSkuId": gid(gift), "giftQuantity": 2}])
    q = await quote(me, [line(tea)])
    assert len(q["lines"]) == 1 and hints(q) == ["满减: 赠品已送完"]


async def test_points_are_granted_once_kept_on_partial_refund_revoked_once_on_full(
    tenant, admin, member, worker: Worker
) -> None:
    row, me = member
    tea = await product(tenant, "Tea", 10000)
    await rule(admin, tiers=[{"threshold": 10000, "off": 1000, "points": 200}])
    placed = (await me(PLACE, {"lines": [line(tea, 2)], "key": "o-1"}))["placeOrder"]
    order = placed["order"]
    assert order["total"] == {"amount": 19000}
    await worker.run_until_idle()
    assert await me_points(me) == 10_000  # nothing before payment
    assert (await me(PAY, {"id": order["id"], "key": "p-1"}))["payOrder"]["errors"] == []
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert await me_points(me) == 10_200
    award = await FullreductionAward.get(order_id=(await Order.get(member_id=row.id)).id)
    assert award.status == "granted"

    ln = order["lines"][0]["id"]
    partial = await admin(
        REFUND, {"o": order["id"], "k": "r-1", "lines": [{"lineId": ln, "quantity": 1}]}
    )
    assert partial["refundOrder"]["refund"]["amount"] == {"amount": 9500}
    await worker.run_until_idle()
    assert await me_points(me) == 10_200
    full = await admin(REFUND, {"o": order["id"], "k": "r-2"})
    assert full["refundOrder"]["refund"]["amount"] == {"amount": 9500}
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert await me_points(me) == 10_000
    revoked = await PointsEntry.filter(member_id=row.id, reason="reward_revoked").count()
    assert revoked == 1


async def test_a_coupon_gift_without_the_coupons_plugin_fails_visibly_once(
    tenant, admin, member, worker: Worker
) -> None:
    _, me = member
    tea = await product(tenant, "Tea", 10000)
    tiers = [{"threshold": 10000, "points": 50, "coupon": to_global("CouponTemplate", 1)}]
    await rule(admin, tiers=tiers)
    order = (await me(PLACE, {"lines": [line(tea)], "key": "o-1"}))["placeOrder"]["order"]
    await me(PAY, {"id": order["id"], "key": "p-1"})
    await worker.run_until_idle()
    award = await FullreductionAward.get()
    assert award.status == "failed" and award.note.startswith("NO_REWARD_PROVIDER")
    assert await me_points(me) == 10_050
    await admin(REFUND, {"o": order["id"], "k": "r-1"})
    await worker.run_until_idle()
    assert await me_points(me) == 10_000
    assert (await FullreductionAward.get()).status == "revoked"


# --- refunds of promotion orders -------------------------------------------------------------

ASK = """mutation($o: ID!, $k: String!, $lines: [RefundLineInput!]) {
  requestRefund(input: {orderId: $o, idempotencyKey: $k, lines: $lines}) {
    refund { id } errors { code field message } } }"""
DECIDE = """mutation($id: ID!) { decideRefund(refundId: $id, approve: true) {
  refund { status amount { amount } } errors { code field message } } }"""


async def refund_line(
    how: str, admin: GraphQLClient, me: GraphQLClient, order_id: str, line_id: str, key: str
) -> int:
    """Refund one line by staff (refundOrder) or by a member's approved request; the amount."""
    lines = [{"lineId": line_id, "quantity": 1}]
    if how == "staff":
        done = (await admin(REFUND, {"o": order_id, "k": key, "lines": lines}))["refundOrder"]
    else:
        asked = (await me(ASK, {"o": order_id, "k": key, "lines": lines}))["requestRefund"]
        assert asked["errors"] == [], asked["errors"]
        done = (await admin(DECIDE, {"id": asked["refund"]["id"]}))["decideRefund"]
    assert done["errors"] == [], done["errors"]
    amount: int = done["refund"]["amount"]["amount"]
    return amount


@pytest.mark.parametrize("how", ["staff", "member"])
async def test_refunding_every_paid_line_returns_the_gift_revokes_the_tier_and_refunds_the_order(
    tenant, admin, member, worker: Worker, how: str
) -> None:
    """A partial refund below the tier is proportional and keeps the gift and the points;
    the refund of the last paid line returns the gift, revokes the points, refunds the order."""
    row, me = member
    tea, tin = await product(tenant, "Tea", 15000), await product(tenant, "Tin", 8000)
    cup = await product(tenant, "Cup", 1500, stock=5)
    tiers = [
        {"threshold": 10000, "off": 1000},
        {"threshold": 20000, "off": 3000, "giftSkuId": gid(cup), "points": 200},
    ]
    await rule(admin, tiers=tiers)
    placed = (await me(PLACE, {"lines": [line(tea), line(tin)], "key": "o-1"}))["placeOrder"]
    order = placed["order"]
    assert order["total"] == {"amount": 20000}
    paid_tea, paid_tin, gift = order["lines"]
    assert (paid_tea["amount"], paid_tin["amount"]) == ({"amount": 13043}, {"amount": 6957})
    assert gift["skuId"] == gid(cup) and gift["amount"] == {"amount": 0}
    assert (await me(PAY, {"id": order["id"], "key": "p-1"}))["payOrder"]["errors"] == []
    await worker.run_until_idle()
    assert await me_points(me) == 10_200 and (await Sku.get(id=cup.id)).stock == 4

    # ¥150 of tea is left, below 满200: no re-evaluation, the tin returns its own share only.
    assert await refund_line(how, admin, me, order["id"], paid_tin["id"], "r-1") == 6957
    await worker.run_until_idle()
    kept = await Order.get(member_id=row.id)
    assert kept.status == "paid" and kept.refunded_amount == 6957
    assert await me_points(me) == 10_200 and (await Sku.get(id=cup.id)).stock == 4
    assert (await FullreductionAward.get()).status == "granted"

    assert await refund_line(how, admin, me, order["id"], paid_tea["id"], "r-2") == 13043
    await worker.run_until_idle()
    await worker.run_until_idle()
    done = await Order.get(member_id=row.id)
    assert done.status == "refunded" and done.refunded_amount == 20000
    assert (await Sku.get(id=cup.id)).stock == 5
    assert (await Sku.get(id=tea.id)).stock == 100 and (await Sku.get(id=tin.id)).stock == 100
    assert await me_points(me) == 10_000
    assert (await FullreductionAward.get()).status == "revoked"
    gift_row = await OrderLine.get(sku_id=cup.id)
    assert (gift_row.refunded_quantity, gift_row.refunded_amount) == (1, 0)
