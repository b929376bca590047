"""The coupons plugin over the real app: templates, claims under both limits, use at
checkout (minimum spend after promotions, scope, percent with a maximum, stacking with full
reduction), the coupon locked by its order and given back on cancel, rewards granted and
revoked by reference, and the races on PostgreSQL.

The frozen clock stands at 2026-06-01 10:00 +08:00.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from yutang import api
from yutang.core.catalog import ProductInput, SkuInput, save_category, save_product
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Order, Product, Sku
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.plugins.coupons.models import CouponsCoupon, CouponsTemplate
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

UNTIL = "2026-07-01T00:00:00+08:00"
CREATE = """
mutation($input: CouponTemplateInput!) {
  createCouponTemplate(input: $input) {
    template { id name summary kind value total issued granted perMember stacks }
    errors { code field message }
  }
}"""
STOP = """mutation($id: ID!) {
  stopCouponTemplate(id: $id) { template { stoppedAt } errors { code field } } }"""
CLAIM = """mutation($id: ID!) {
  claimCoupon(templateId: $id) { coupon { id name summary status endsAt }
  errors { code field message } } }"""
MINE = """query($usable: Boolean! = false) {
  myCoupons(usable: $usable) { edges { node { id name status orderId } } } }"""
QUOTE = """
query($lines: [LineInput!]!, $ext: CheckoutExtensionsInput) {
  quote(input: {lines: $lines, extensions: $ext}) {
    quote { total { amount } lines { amount { amount } }
            adjustments { source stage label amount { amount } lines { line amount { amount } } }
            hints { source message ref amount { amount } } }
    errors { code field message }
  }
}"""
PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, extensions: $ext}) {
    order { id status total { amount } } errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status } errors { code field } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }"""
REFUND = """mutation($o: ID!, $k: String!) {
  refundOrder(input: {orderId: $o, idempotencyKey: $k}) {
    refund { status amount { amount } } errors { code field message } } }"""
RULE = """
mutation($input: FullReductionRuleInput!) {
  createFullReductionRule(input: $input) { rule { id } errors { code field message } } }"""


def listed(data: dict[str, Any], name: str) -> list[Any]:
    """The nodes of the connection ``name`` in ``data``."""
    return [edge["node"] for edge in data[name]["edges"]]


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with coupons and full reduction enabled."""
    return await make_tenant("shop", plugins=["coupons", "fullreduction"])


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


async def product(
    tenant: TenantInfo, name: str, price: int, stock: int = 100, tags: tuple[str, ...] = ()
) -> Sku:
    row = await save_product(
        tenant,
        ProductInput(
            name=name, published=True, tags=list(tags), skus=[SkuInput(price=price, stock=stock)]
        ),
    )
    return await Sku.get(product_id=row.id)


def line(sku: Sku, quantity: int = 1) -> dict[str, Any]:
    return {"skuId": to_global("Sku", sku.id), "quantity": quantity}


def use(coupon_id: str) -> dict[str, Any]:
    return {"coupons": {"couponId": coupon_id}}


async def template(admin: GraphQLClient, **fields: Any) -> dict[str, Any]:
    inp = {
        "name": "满100减10",
        "kind": "fixed",
        "value": 1000,
        "minSpend": 10000,
        "validUntil": UNTIL,
        "perMember": 5,
        **fields,
    }
    payload = (await admin(CREATE, {"input": inp}))["createCouponTemplate"]
    assert payload["errors"] == [], payload["errors"]
    found: dict[str, Any] = payload["template"]
    return found


async def claimed(me: GraphQLClient, template_id: str) -> str:
    payload = (await me(CLAIM, {"id": template_id}))["claimCoupon"]
    assert payload["errors"] == [], payload["errors"]
    coupon_id: str = payload["coupon"]["id"]
    return coupon_id


async def quote(me: GraphQLClient, lines: list[dict[str, Any]], ext: Any = None) -> dict[str, Any]:
    found: dict[str, Any] = (await me(QUOTE, {"lines": lines, "ext": ext}))["quote"]
    return found


def coupon_off(q: dict[str, Any]) -> int:
    return -sum(a["amount"]["amount"] for a in q["adjustments"] if a["source"] == "coupons")


# --- templates and claims -------------------------------------------------------------------


async def test_claim_then_use_a_fixed_coupon(tenant, admin, member) -> None:
    _, me = member
    made = await template(admin)
    assert made["summary"] == "满¥100.00减¥10.00" and made["issued"] == 0
    coupon = await claimed(me, made["id"])
    mine = listed(await me(MINE), "myCoupons")
    assert mine == [{"id": coupon, "name": "满100减10", "status": "UNUSED", "orderId": None}]
    tea = await product(tenant, "Tea", 6000)
    q = await quote(me, [line(tea, 2)], use(coupon))
    assert q["errors"] == [] and coupon_off(q["quote"]) == 1000
    assert q["quote"]["total"] == {"amount": 11000}
    label = [a["label"] for a in q["quote"]["adjustments"] if a["source"] == "coupons"]
    assert label == ["优惠券 满100减10 满¥100.00减¥10.00"]


async def test_quote_hints_the_coupons_that_apply_and_what_each_saves(
    tenant, admin, member
) -> None:
    _, me = member
    ten_off = await claimed(me, (await template(admin))["id"])
    tenth = await claimed(
        me, (await template(admin, name="九折", kind="percent", value=10, minSpend=0))["id"]
    )
    await claimed(me, (await template(admin, name="大额", value=5000, minSpend=50000))["id"])
    tea = await product(tenant, "Tea", 6000)
    q = (await quote(me, [line(tea, 2)]))["quote"]
    assert [
        (h["message"], h["ref"], h["amount"]) for h in q["hints"] if h["source"] == "coupons"
    ] == [
        ("可用优惠券「九折」省¥12.00", tenth, {"amount": 1200}),
        ("可用优惠券「满100减10」省¥10.00", ten_off, {"amount": 1000}),
    ]


async def test_minimum_spend_at_its_boundary(tenant, admin, member) -> None:
    _, me = member
    coupon = await claimed(me, (await template(admin))["id"])
    short, exact = await product(tenant, "A", 9999), await product(tenant, "B", 10000)
    q = await quote(me, [line(short)], use(coupon))
    assert q["errors"] == [
        {
            "code": "NOT_APPLICABLE",
            "field": "extensions.coupons.couponId",
            "message": "再买¥0.01可用",
        }
    ]
    assert coupon_off((await quote(me, [line(exact)], use(coupon)))["quote"]) == 1000


async def test_percentage_coupon_rounds_down_and_stops_at_its_maximum(
    tenant, admin, member
) -> None:
    _, me = member
    made = await template(
        admin, name="85折", kind="percent", value=15, maxDiscount=2000, minSpend=0
    )
    assert made["summary"] == "无门槛享8.5折 最多减¥20.00"
    coupon = await claimed(me, made["id"])
    assert (
        coupon_off(
            (await quote(me, [line(await product(tenant, "A", 12345))], use(coupon)))["quote"]
        )
        == 1851
    )
    assert (
        coupon_off(
            (await quote(me, [line(await product(tenant, "B", 50000))], use(coupon)))["quote"]
        )
        == 2000
    )


async def test_scope_by_product(tenant, admin, member) -> None:
    _, me = member
    tea, cup = await product(tenant, "Tea", 8000), await product(tenant, "Cup", 5000)
    made = await template(admin, scope="products", scopeIds=[to_global("Product", tea.product_id)])
    coupon = await claimed(me, made["id"])
    q = await quote(me, [line(tea), line(cup)], use(coupon))
    assert q["errors"][0]["code"] == "NOT_APPLICABLE"  # only the tea's ¥80 counts
    q = (await quote(me, [line(tea, 2), line(cup)], use(coupon)))["quote"]
    (adj,) = [a for a in q["adjustments"] if a["source"] == "coupons"]
    assert adj["lines"] == [{"line": 0, "amount": {"amount": -1000}}]


async def test_scope_by_category_covers_its_subcategories(tenant, admin, member) -> None:
    _, me = member
    tea_dept = await save_category(tenant, "茶", None)
    green = await save_category(tenant, "绿茶", tea_dept.id)
    tea, cup = await product(tenant, "Longjing", 6000), await product(tenant, "Cup", 5000)
    await Product.filter(id=tea.product_id).update(category_id=green.id)
    made = await template(admin, scope="categories", scopeIds=[to_global("Category", tea_dept.id)])
    coupon = await claimed(me, made["id"])
    q = await quote(me, [line(tea), line(cup)], use(coupon))
    assert q["errors"][0]["code"] == "NOT_APPLICABLE"  # only the ¥60 of 绿茶 counts
    q = (await quote(me, [line(tea, 2), line(cup)], use(coupon)))["quote"]
    (adj,) = [a for a in q["adjustments"] if a["source"] == "coupons"]
    assert adj["lines"] == [{"line": 0, "amount": {"amount": -1000}}]


async def test_scope_by_tag(tenant, admin, member) -> None:
    _, me = member
    tea = await product(tenant, "Tea", 8000, tags=("茶",))
    cup = await product(tenant, "Cup", 5000)
    made = await template(admin, scope="tags", scopeTags=["茶"])
    coupon = await claimed(me, made["id"])
    q = await quote(me, [line(tea), line(cup)], use(coupon))
    assert q["errors"][0]["code"] == "NOT_APPLICABLE"  # only the tea's ¥80 counts
    q = (await quote(me, [line(tea, 2), line(cup)], use(coupon)))["quote"]
    (adj,) = [a for a in q["adjustments"] if a["source"] == "coupons"]
    assert adj["lines"] == [{"line": 0, "amount": {"amount": -1000}}]
    bad = {"name": "x", "kind": "fixed", "value": 1, "validUntil": UNTIL, "scope": "tags"}
    refused = (await admin(CREATE, {"input": bad}))["createCouponTemplate"]
    assert refused["errors"][0]["field"] == "input.scopeTags"


async def test_per_member_limit_and_total(tenant, admin, member, storefront) -> None:
    _, me = member
    made = await template(admin, perMember=2, total=3)
    await claimed(me, made["id"])
    await claimed(me, made["id"])
    third = (await me(CLAIM, {"id": made["id"]}))["claimCoupon"]
    assert third["errors"][0]["code"] == "LIMIT_REACHED"
    _, token = await create_member(tenant, "13900000009")
    other = storefront.as_(token)
    await claimed(other, made["id"])
    assert (await other(CLAIM, {"id": made["id"]}))["claimCoupon"]["errors"][0][
        "code"
    ] == "SOLD_OUT"
    assert (await CouponsTemplate.get()).issued == 3


async def test_a_stopped_template_issues_nothing(tenant, admin, member) -> None:
    _, me = member
    made = await template(admin)
    coupon = await claimed(me, made["id"])
    assert (await admin(STOP, {"id": made["id"]}))["stopCouponTemplate"]["errors"] == []
    assert (await me(CLAIM, {"id": made["id"]}))["claimCoupon"]["errors"][0]["code"] == "NOT_OPEN"
    tea = await product(tenant, "Tea", 10000)
    assert coupon_off((await quote(me, [line(tea)], use(coupon)))["quote"]) == 1000


async def test_stopping_a_template_again_changes_nothing(tenant, admin, clock) -> None:
    made = await template(admin)
    first = (await admin(STOP, {"id": made["id"]}))["stopCouponTemplate"]
    assert first["errors"] == [] and first["template"]["stoppedAt"]
    stopped_at = (await CouponsTemplate.get()).stopped_at
    clock.advance(timedelta(hours=1))
    again = (await admin(STOP, {"id": made["id"]}))["stopCouponTemplate"]
    assert again == {"template": {"stoppedAt": first["template"]["stoppedAt"]}, "errors": []}
    assert (await CouponsTemplate.get()).stopped_at == stopped_at


async def test_an_expired_coupon_is_refused(tenant, admin, member, clock) -> None:
    _, me = member
    coupon = await claimed(me, (await template(admin, validUntil=None, validDays=1))["id"])
    tea = await product(tenant, "Tea", 10000)
    clock.advance(timedelta(days=1))
    q = await quote(me, [line(tea)], use(coupon))
    assert q["errors"][0]["code"] == "EXPIRED"
    assert listed(await me(MINE), "myCoupons")[0]["status"] == "EXPIRED"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "percent", "value": 100}, "input.value"),
        ({"maxDiscount": 100}, "input.maxDiscount"),
        ({"value": 20000}, "input.value"),
        ({"validUntil": None}, "input.validDays"),
        ({"validDays": 3}, "input.validDays"),
        ({"validUntil": "2026-05-01T00:00:00+08:00"}, "input.validUntil"),
        ({"scope": "products"}, "input.scopeIds"),
        ({"kind": "cash"}, "input.kind"),
        ({"perMember": 0}, "input.perMember"),
    ],
)
async def test_bad_templates_are_refused_naming_the_field(
    tenant, admin, fields: dict[str, Any], field: str
) -> None:
    inp = {
        "name": "x",
        "kind": "fixed",
        "value": 1000,
        "minSpend": 10000,
        "validUntil": UNTIL,
        **fields,
    }
    payload = (await admin(CREATE, {"input": inp}))["createCouponTemplate"]
    assert payload["template"] is None and payload["errors"][0]["field"] == field


async def test_clerks_see_templates_but_only_owners_and_managers_change_them(tenant, admin) -> None:
    _, token = await create_staff(tenant, "clerk", "clerk")
    clerk = admin.as_(token)
    inp = {"name": "x", "kind": "fixed", "value": 1000, "minSpend": 0, "validUntil": UNTIL}
    refused = (await clerk(CREATE, {"input": inp}))["createCouponTemplate"]
    assert refused["template"] is None
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    made = await template(admin)
    stop = (await clerk(STOP, {"id": made["id"]}))["stopCouponTemplate"]
    assert [e["code"] for e in stop["errors"]] == ["FORBIDDEN"]
    listed = await clerk("{ couponTemplates { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["couponTemplates"]["edges"]] == [made["id"]]
    done = (await admin(STOP, {"id": made["id"]}))["stopCouponTemplate"]
    assert done["errors"] == [] and done["template"]["stoppedAt"]


async def test_a_tenant_without_the_plugin_refuses_the_extension(make_tenant, http) -> None:
    plain = await make_tenant("plain")
    _, token = await create_member(plain, "13900000003")
    client = GraphQLClient(http, "/graphql", "plain", token)
    sku = await product(plain, "Tea", 100)
    q = await quote(client, [line(sku)], use(to_global("Coupon", 1)))
    assert [(e["code"], e["field"]) for e in q["errors"]] == [
        ("PLUGIN_DISABLED", "extensions.coupons")
    ]
    assert (await client.raw(MINE)).get("errors")


# --- stacking with full reduction -----------------------------------------------------------

WINDOW = {"startsAt": "2026-06-01T00:00:00+08:00", "endsAt": "2026-06-08T00:00:00+08:00"}


async def test_minimum_spend_is_measured_after_full_reduction(tenant, admin, member) -> None:
    _, me = member
    rule = {"name": "满减", **WINDOW, "tiers": [{"threshold": 20000, "off": 3000}]}
    assert (await admin(RULE, {"input": rule}))["createFullReductionRule"]["errors"] == []
    tea = await product(tenant, "Tea", 25000)
    stacking = await claimed(me, (await template(admin, value=2000, minSpend=20000))["id"])
    q = (await quote(me, [line(tea)], use(stacking)))["quote"]
    stages = [(a["source"], a["stage"], a["amount"]["amount"]) for a in q["adjustments"]]
    assert stages == [("fullreduction", 3, -3000), ("coupons", 4, -2000)]
    assert q["total"] == {"amount": 20000}
    too_high = await claimed(me, (await template(admin, value=2000, minSpend=23000))["id"])
    q = await quote(me, [line(tea)], use(too_high))  # ¥250 − ¥30 = ¥220 < ¥230
    assert q["errors"][0]["message"] == "再买¥10.00可用"
    alone = await claimed(me, (await template(admin, minSpend=0, stacks=False))["id"])
    q = await quote(me, [line(tea)], use(alone))
    assert q["errors"][0]["code"] == "COUPONS_NOT_STACKABLE"
    cheap = await product(tenant, "Cup", 5000)
    assert coupon_off((await quote(me, [line(cheap)], use(alone)))["quote"]) == 1000


# --- the coupon and its order --------------------------------------------------------------


async def test_locked_by_an_unpaid_order_given_back_on_cancel(tenant, admin, member) -> None:
    _, me = member
    coupon = await claimed(me, (await template(admin))["id"])
    tea = await product(tenant, "Tea", 10000)
    first = (await me(PLACE, {"lines": [line(tea)], "key": "o-1", "ext": use(coupon)}))[
        "placeOrder"
    ]
    assert first["errors"] == [] and first["order"]["total"] == {"amount": 9000}
    assert listed(await me(MINE), "myCoupons")[0]["status"] == "LOCKED"
    second = (await me(PLACE, {"lines": [line(tea)], "key": "o-2", "ext": use(coupon)}))[
        "placeOrder"
    ]
    assert second["errors"][0]["code"] == "COUPONS_UNAVAILABLE"
    assert await Order.all().count() == 1
    assert (await me(CANCEL, {"id": first["order"]["id"]}))["cancelOrder"]["errors"] == []
    assert listed(await me(MINE), "myCoupons")[0] == {
        "id": coupon,
        "name": "满100减10",
        "status": "UNUSED",
        "orderId": None,
    }
    again = (await me(PLACE, {"lines": [line(tea)], "key": "o-3", "ext": use(coupon)}))[
        "placeOrder"
    ]
    assert again["errors"] == []


@pytest.mark.parametrize("returns", [False, True])
async def test_used_at_payment_and_kept_on_refund_unless_the_template_says(
    tenant, admin, member, worker: Worker, returns: bool
) -> None:
    _, me = member
    coupon = await claimed(me, (await template(admin, returnOnRefund=returns))["id"])
    tea = await product(tenant, "Tea", 10000)
    order = (await me(PLACE, {"lines": [line(tea)], "key": "o-1", "ext": use(coupon)}))[
        "placeOrder"
    ]["order"]
    await me(PAY, {"id": order["id"], "key": "p-1"})
    await worker.run_until_idle()
    assert listed(await me(MINE), "myCoupons")[0]["status"] == "USED"
    refunded = (await admin(REFUND, {"o": order["id"], "k": "r-1"}))["refundOrder"]
    assert refunded["refund"]["amount"] == {"amount": 9000}
    await worker.run_until_idle()
    assert listed(await me(MINE), "myCoupons")[0]["status"] == ("UNUSED" if returns else "USED")


# --- rewards --------------------------------------------------------------------------------


async def test_rewards_grant_once_per_reference_and_revoke_only_unused(
    tenant, admin, member
) -> None:
    row, me = member
    made = await template(admin, claimable=False)
    reward = api.Reward(kind="coupon", amount=2, item=made["id"], reference="lottery:draw:1")
    await api.grant_reward(tenant, row.id, reward)
    await api.grant_reward(tenant, row.id, reward)
    assert await CouponsCoupon.filter(member_id=row.id).count() == 2
    assert (await CouponsTemplate.get()).granted == 2
    assert (await me(CLAIM, {"id": made["id"]}))["claimCoupon"]["errors"][0]["code"] == "NOT_FOUND"
    used = await CouponsCoupon.filter(member_id=row.id).order_by("id").first()
    assert used is not None
    await CouponsCoupon.filter(id=used.id).update(status="used")
    await api.revoke_reward(tenant, row.id, reward)
    assert sorted(c.status for c in await CouponsCoupon.filter(member_id=row.id)) == [
        "used",
        "void",
    ]


async def test_full_reduction_gives_a_coupon_after_payment_and_voids_it_on_full_refund(
    tenant, admin, member, worker: Worker
) -> None:
    _, me = member
    made = await template(admin, claimable=False)
    rule = {
        "name": "满送",
        **WINDOW,
        "tiers": [{"threshold": 10000, "coupon": made["id"], "couponCount": 1, "points": 100}],
    }
    assert (await admin(RULE, {"input": rule}))["createFullReductionRule"]["errors"] == []
    tea = await product(tenant, "Tea", 10000)
    order = (await me(PLACE, {"lines": [line(tea)], "key": "o-1"}))["placeOrder"]["order"]
    await worker.run_until_idle()
    assert listed(await me(MINE), "myCoupons") == []
    await me(PAY, {"id": order["id"], "key": "p-1"})
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert [c["status"] for c in listed(await me(MINE), "myCoupons")] == ["UNUSED"]
    assert (await me("{ me { points } }"))["me"]["points"] == 10_100
    await admin(REFUND, {"o": order["id"], "k": "r-1"})
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert [c["status"] for c in listed(await me(MINE), "myCoupons")] == ["VOID"]
    assert (await me("{ me { points } }"))["me"]["points"] == 10_000


LINE_REFUND = """mutation($o: ID!, $k: String!, $l: ID!) {
  refundOrder(input: {orderId: $o, idempotencyKey: $k, lines: [{lineId: $l, quantity: 1}]}) {
    refund { amount { amount } } errors { code field message } } }"""
PLACED_LINES = """
mutation($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, extensions: $ext}) {
    order { id lines { id } } errors { code field message } } }"""


async def test_a_tier_coupon_already_used_stays_used_when_its_order_is_refunded_line_by_line(
    tenant, admin, member, worker: Worker
) -> None:
    _, me = member
    made = await template(admin, claimable=False, minSpend=0)
    tier = {"threshold": 10000, "coupon": made["id"], "points": 100}
    rule = {"name": "满送", **WINDOW, "tiers": [tier]}
    assert (await admin(RULE, {"input": rule}))["createFullReductionRule"]["errors"] == []
    tea, cup = await product(tenant, "Tea", 6000), await product(tenant, "Cup", 4000)
    placed = await me(PLACED_LINES, {"lines": [line(tea), line(cup)], "key": "o-1"})
    earning = placed["placeOrder"]["order"]
    await me(PAY, {"id": earning["id"], "key": "p-1"})
    await worker.run_until_idle()
    (granted,) = listed(await me(MINE), "myCoupons")
    spent = await me(PLACE, {"lines": [line(cup)], "key": "o-2", "ext": use(granted["id"])})
    spending = spent["placeOrder"]["order"]
    await me(PAY, {"id": spending["id"], "key": "p-2"})
    await worker.run_until_idle()
    for n, ln in enumerate(earning["lines"]):
        done = await admin(LINE_REFUND, {"o": earning["id"], "k": f"r-{n}", "l": ln["id"]})
        assert done["refundOrder"]["errors"] == []
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert [o.status for o in await Order.all().order_by("id")] == ["refunded", "paid"]
    assert listed(await me(MINE), "myCoupons") == [
        {"id": granted["id"], "name": "满100减10", "status": "USED", "orderId": spending["id"]}
    ]
    assert (await me("{ me { points } }"))["me"]["points"] == 10_000


# --- races (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_100_members_claiming_the_last_10_make_exactly_10(tenant, admin, storefront) -> None:
    made = await template(admin, total=10, perMember=1)
    clients = []
    for i in range(100):
        _, token = await create_member(tenant, f"1370000{i:04d}")
        clients.append(storefront.as_(token))
    results = await asyncio.gather(*(c.raw(CLAIM, {"id": made["id"]}) for c in clients))
    assert not [r for r in results if r.get("errors")]
    payloads = [r["data"]["claimCoupon"] for r in results]
    assert len([p for p in payloads if p["coupon"]]) == 10
    assert {e["code"] for p in payloads for e in p["errors"]} == {"SOLD_OUT"}
    assert await CouponsCoupon.all().count() == 10
    assert (await CouponsTemplate.get()).issued == 10


@pytest.mark.postgres_only
async def test_one_member_limit_one_ten_claims_at_once_make_one(tenant, admin, member) -> None:
    _, me = member
    made = await template(admin, perMember=1)
    results = await asyncio.gather(*(me.raw(CLAIM, {"id": made["id"]}) for _ in range(10)))
    payloads = [r["data"]["claimCoupon"] for r in results]
    assert len([p for p in payloads if p["coupon"]]) == 1
    assert {e["code"] for p in payloads for e in p["errors"]} == {"LIMIT_REACHED"}
    assert await CouponsCoupon.all().count() == 1
    assert (await CouponsTemplate.get()).issued == 1


@pytest.mark.postgres_only
async def test_one_coupon_two_concurrent_orders_one_succeeds(tenant, admin, member) -> None:
    _, me = member
    coupon = await claimed(me, (await template(admin))["id"])
    tea, cup = await product(tenant, "Tea", 10000), await product(tenant, "Cup", 12000)
    results = await asyncio.gather(
        *(
            me.raw(PLACE, {"lines": [line(sku)], "key": f"o-{i}", "ext": use(coupon)})
            for i, sku in enumerate((tea, cup))
        )
    )
    placed = [r["data"]["placeOrder"] for r in results]
    assert len([p for p in placed if p["order"]]) == 1
    assert {e["code"] for p in placed for e in p["errors"]} == {"COUPONS_UNAVAILABLE"}
    assert await Order.all().count() == 1
    assert (await CouponsCoupon.get()).status == "locked"
