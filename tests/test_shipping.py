"""Shipping fee templates over HTTP: first and additional units or grams, region rules by
the most specific code, regions not delivered to, free shipping measured after every
discount, several templates in one order, and fees a plugin waives or replaces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest_asyncio
from tortoise.expressions import F

from yutang import api
from yutang.core.contract import TenantInfo
from yutang.core.models import Order, Product, Sku, Tenant
from yutang.core.runtime import Runtime
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient

Make = Callable[..., Awaitable[Product]]

SAVE = """
mutation($input: ShippingTemplateInput!, $id: ID) {
  saveShippingTemplate(input: $input, id: $id) {
    template { id name isDefault rules { regions firstFee } excluded }
    errors { code field message }
  }
}"""
ASSIGN = """
mutation($skus: [ID!]!, $t: ID) {
  setSkuShippingTemplate(skuIds: $skus, templateId: $t) { skuIds errors { code field } }
}"""
QUOTE = """
query($input: CheckoutInput!) {
  quote(input: $input) {
    quote { total { amount } fees { amount } hints { message }
            adjustments { source kind label amount { amount } } }
    errors { code field message }
  }
}"""
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id fees { amount } total { amount }
            address { receiver phone province city district detail } }
    errors { code field message }
  }
}"""

HANGZHOU_XIHU = {"province": "330000", "city": "330100", "district": "330106"}
NINGBO = {"province": "330000", "city": "330200", "district": "330203"}
LHASA = {"province": "540000", "city": "540100", "district": "540102"}
SHIGATSE = {"province": "540000", "city": "540200", "district": "540202"}
FULL = {**HANGZHOU_XIHU, "receiver": "王小明", "phone": "13800000000", "detail": "龙井路1号"}


async def template(admin: GraphQLClient, **fields: Any) -> str:
    body = {"name": "快递", **fields}
    saved = (await admin(SAVE, {"input": body}))["saveShippingTemplate"]
    assert saved["errors"] == []
    tid: str = saved["template"]["id"]
    return tid


async def sku_of(make_product: Make, price: int, stock: int = 100, name: str = "Tea") -> str:
    product = await make_product(name, [(price, stock)])
    sku = await Sku.get(product_id=product.id)
    return to_global("Sku", sku.id)


async def fee(
    client: GraphQLClient,
    lines: list[tuple[str, int]],
    address: dict[str, str] | None = HANGZHOU_XIHU,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"lines": [{"skuId": s, "quantity": q} for s, q in lines], **extra}
    if address is not None:
        body["address"] = address
    result: dict[str, Any] = (await client(QUOTE, {"input": body}))["quote"]
    return result


async def test_first_unit_then_each_additional_group_of_units(
    storefront: GraphQLClient, admin: GraphQLClient, make_product: Make
) -> None:
    tid = await template(
        admin, firstQuantity=1, firstFee=1000, additionalQuantity=2, additionalFee=500
    )
    tea = await sku_of(make_product, 5000)
    assert (await admin(ASSIGN, {"skus": [tea], "t": tid}))["setSkuShippingTemplate"][
        "errors"
    ] == []
    expected = {1: 1000, 2: 1500, 3: 1500, 4: 2000, 5: 2000, 6: 2500}
    for quantity, shipping in expected.items():
        quote = (await fee(storefront, [(tea, quantity)]))["quote"]
        assert quote["fees"]["amount"] == shipping, quantity
        assert quote["total"]["amount"] == 5000 * quantity + shipping
    charged = (await fee(storefront, [(tea, 1)]))["quote"]["adjustments"][-1]
    assert charged == {
        "source": "core",
        "kind": "fee:shipping",
        "label": "运费",
        "amount": {"amount": 1000},
    }


async def test_by_weight_the_first_grams_then_each_started_step(
    storefront: GraphQLClient, admin: GraphQLClient, make_product: Make
) -> None:
    await template(
        admin,
        chargeBy="weight",
        firstQuantity=1000,
        firstFee=1200,
        additionalQuantity=500,
        additionalFee=400,
        isDefault=True,
    )
    tea = await sku_of(make_product, 3000)
    await Sku.all().update(weight_grams=400)
    expected = {1: 1200, 2: 1200, 3: 1600, 4: 2000, 5: 2000, 6: 2400}  # 400 g each
    for quantity, shipping in expected.items():
        assert (await fee(storefront, [(tea, quantity)]))["quote"]["fees"]["amount"] == shipping


async def test_the_most_specific_region_code_wins(
    storefront: GraphQLClient, admin: GraphQLClient, make_product: Make
) -> None:
    await template(
        admin,
        firstFee=1000,
        isDefault=True,
        rules=[
            {"regions": ["330000"], "firstFee": 600},
            {"regions": ["330100"], "firstFee": 0},
            {"regions": ["540100"], "firstFee": 3000},
        ],
        excluded=["540000"],
    )
    tea = await sku_of(make_product, 5000)
    fees = {
        "hangzhou": (HANGZHOU_XIHU, 0),
        "ningbo": (NINGBO, 600),
        "lhasa": (LHASA, 3000),
        "beijing": ({"province": "110000", "city": "110100"}, 1000),
        "zhejiang": ({"province": "330000"}, 600),
    }
    for name, (address, shipping) in fees.items():
        quote = (await fee(storefront, [(tea, 1)], address))["quote"]
        assert quote["fees"]["amount"] == shipping, name
    refused = await fee(storefront, [(tea, 1)], SHIGATSE)
    assert refused["quote"] is None
    assert refused["errors"] == [
        {
            "code": "NOT_DELIVERABLE",
            "field": "lines[0]",
            "message": "Tea is not delivered to this address",
        }
    ]


async def test_an_order_to_a_region_not_delivered_to_writes_nothing(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    await template(admin, firstFee=800, isDefault=True, excluded=["540000", "650000"])
    cup = await sku_of(make_product, 2000, name="Cup")
    tea = await sku_of(make_product, 5000)
    body = {
        "lines": [{"skuId": cup, "quantity": 1}, {"skuId": tea, "quantity": 2}],
        "idempotencyKey": "tibet",
        "address": {**LHASA, "receiver": "R", "phone": "13800000000", "detail": "1号"},
    }
    placed = (await me(PLACE, {"input": body}))["placeOrder"]
    assert placed["order"] is None
    assert placed["errors"] == [
        {
            "code": "NOT_DELIVERABLE",
            "field": "lines[0]",
            "message": "Cup is not delivered to this address",
        }
    ]
    assert await Order.all().count() == 0
    assert sorted(await Sku.all().values_list("stock", flat=True)) == [100, 100]


async def test_free_shipping_is_measured_after_every_discount(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    await template(admin, firstFee=800, freeOver=9900, isDefault=True)
    tea = await sku_of(make_product, 10000)
    cases = {0: 0, 100: 0, 101: 800, 5000: 800}  # points (1 point = 1 fen) → fee
    for points, shipping in cases.items():
        quote = (await fee(me, [(tea, 1)], usePoints=points))["quote"]
        assert quote["fees"]["amount"] == shipping, points
        assert quote["total"]["amount"] == 10000 - points + shipping


async def test_templates_combine_with_the_largest_first_fee_once(
    storefront: GraphQLClient, admin: GraphQLClient, make_product: Make
) -> None:
    heavy = await template(
        admin, firstFee=1000, additionalQuantity=1, additionalFee=500, name="大件"
    )
    light = await template(admin, firstFee=800, additionalQuantity=1, additionalFee=300)
    free = await template(admin, firstFee=2000, freeOver=1, name="包邮")
    pot, cups, gift = (
        await sku_of(make_product, 50000, name="Pot"),
        await sku_of(make_product, 3800, name="Cups"),
        await sku_of(make_product, 100, name="Card"),
    )
    for sku, tid in ((pot, heavy), (cups, light), (gift, free)):
        await admin(ASSIGN, {"skus": [sku], "t": tid})
    # Pot leads: 1000 + 1 more × 500; the cups pay every unit at 300; the card ships free.
    quote = (await fee(storefront, [(pot, 2), (cups, 3), (gift, 1)]))["quote"]
    assert quote["fees"]["amount"] == 1000 + 500 + 3 * 300
    only_cups = (await fee(storefront, [(cups, 3)]))["quote"]
    assert only_cups["fees"]["amount"] == 800 + 2 * 300


async def test_no_address_no_fee_yet_and_an_order_asks_for_one(
    member: tuple[Any, GraphQLClient], admin: GraphQLClient, make_product: Make
) -> None:
    _, me = member
    await template(admin, firstFee=800, isDefault=True)
    tea = await sku_of(make_product, 5000)
    quote = (await fee(me, [(tea, 1)], None))["quote"]
    assert quote["fees"]["amount"] == 0
    assert {"message": "选择收货地址后计算运费"} in quote["hints"]
    body: dict[str, Any] = {"lines": [{"skuId": tea, "quantity": 1}], "idempotencyKey": "k"}
    asked = (await me(PLACE, {"input": body}))["placeOrder"]["errors"]
    assert asked == [
        {"code": "ADDRESS_REQUIRED", "field": "address", "message": "choose where to deliver"}
    ]
    body["address"] = HANGZHOU_XIHU
    incomplete = (await me(PLACE, {"input": body}))["placeOrder"]["errors"]
    assert [(e["code"], e["field"]) for e in incomplete] == [("REQUIRED", "address.receiver")]
    body["address"] = {**FULL, "city": "320100"}
    nested = (await me(PLACE, {"input": body}))["placeOrder"]["errors"]
    assert [(e["code"], e["field"]) for e in nested] == [("INVALID", "address.city")]
    assert await Order.all().count() == 0
    body["address"] = FULL
    placed = (await me(PLACE, {"input": body}))["placeOrder"]
    assert placed["errors"] == []
    assert placed["order"]["fees"]["amount"] == 800
    assert placed["order"]["total"]["amount"] == 5800
    assert placed["order"]["address"] == {
        "receiver": "王小明",
        "phone": "13800000000",
        "province": "330000",
        "city": "330100",
        "district": "330106",
        "detail": "龙井路1号",
    }


async def test_a_tenant_without_templates_ships_free_without_an_address(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    _, me = member
    tea = await sku_of(make_product, 5000)
    body = {"lines": [{"skuId": tea, "quantity": 1}], "idempotencyKey": "k"}
    placed = (await me(PLACE, {"input": body}))["placeOrder"]
    assert placed["errors"] == [] and placed["order"]["fees"]["amount"] == 0
    assert placed["order"]["address"] is None


async def test_template_input_is_checked(admin: GraphQLClient, make_product: Make) -> None:
    bad = {"input": {"name": "x", "rules": [{"regions": ["330000"]}], "excluded": ["330000"]}}
    errors = (await admin(SAVE, bad))["saveShippingTemplate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("DUPLICATE", "input.excluded[0]")]
    wrong = {"input": {"name": "x", "excluded": ["33"]}}
    errors = (await admin(SAVE, wrong))["saveShippingTemplate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "input.excluded[0]")]
    negative = {"input": {"name": "x", "firstFee": -1}}
    errors = (await admin(SAVE, negative))["saveShippingTemplate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "input.firstFee")]
    first = await template(admin, isDefault=True)
    second = await template(admin, isDefault=True, name="新默认")
    listed = await admin("{ shippingTemplates { id isDefault } }")
    assert listed["shippingTemplates"] == [
        {"id": first, "isDefault": False},
        {"id": second, "isDefault": True},
    ]


# --- a plugin waives the fee, another fulfilment method replaces delivery -------------------


class FreeShipping:
    """A stand-in promotion that waives shipping, and a courier method besides delivery."""

    @api.hookimpl
    def yutang_price_steps(self) -> list[api.PriceStep]:
        def waive(draft: api.Draft) -> None:
            draft.waive_fee("shipping", "会员包邮")

        return [api.PriceStep(api.Stage.PROMOTION, waive)]

    @api.hookimpl
    def yutang_fulfilment_methods(self) -> list[api.FulfilmentMethod[Any]]:
        return [Courier()]


class Courier(api.FulfilmentMethod[None]):
    """Same-city courier: no address of the core's, no fee."""

    name = "courier"
    label = "同城配送"

    async def resolve(self, checkout: api.CheckoutContext) -> None:
        return None


@pytest_asyncio.fixture
async def freeship(yutang_db: Runtime, tenant: TenantInfo) -> None:
    """The ``freeship`` plugin, registered once per session, enabled for the shop."""
    if "freeship" not in yutang_db.registry.plugins:
        yutang_db.registry.register("freeship", FreeShipping())
    await Tenant.filter(id=tenant.id).update(
        plugins=["freeship"], settings_version=F("settings_version") + 1
    )


async def test_a_plugin_waives_the_fee_and_another_method_replaces_delivery(
    storefront: GraphQLClient, admin: GraphQLClient, make_product: Make, freeship: None
) -> None:
    await template(admin, firstFee=800, isDefault=True)
    tea = await sku_of(make_product, 5000)
    quote = (await fee(storefront, [(tea, 1)]))["quote"]
    assert quote["fees"]["amount"] == 0 and quote["total"]["amount"] == 5000
    assert [(a["label"], a["amount"]["amount"]) for a in quote["adjustments"]] == [
        ("运费", 800),
        ("会员包邮", -800),
    ]
    courier = (await fee(storefront, [(tea, 1)], None, fulfilment="courier"))["quote"]
    assert courier["adjustments"] == [] and courier["hints"] == []
