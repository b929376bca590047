"""What a storefront reads on day one, over the real app: line images (order lines keep
theirs), a product's price range, the member's orders by status, the points rules, a
guest's partial answer, a disabled plugin's field named, and validation in words."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from graphql import GraphQLNonNull
from test_schema_sdl import first_party_plugins
from tortoise import Tortoise

from yutang.core.contract import TenantInfo
from yutang.core.models import OrderLine, Product, ProductImage, Sku, Tenant
from yutang.core.orders import TRANSITIONS
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.core.validation_text import human
from yutang.graphql.ids import to_global
from yutang.graphql.schema import build_schema, is_member_root
from yutang.graphql.statuses import OrderStatus
from yutang.testing import GraphQLClient, MakeTenant, create_member

Make = Callable[..., Awaitable[Product]]

ADD = """
mutation($sku: ID!) {
  addToCart(input: {skuId: $sku, quantity: 1}) {
    cart { lines { productName imageUrl } } cartToken errors { code } } }"""
PLACE = """
mutation($sku: ID!, $key: String!) {
  placeOrder(input: {lines: [{skuId: $sku, quantity: 1}], idempotencyKey: $key}) {
    order { id lines { productName imageUrl } } errors { code field message } } }"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code } } }"""
CANCEL = "mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }"
MY_ORDERS = """
query($status: [OrderStatus!]) {
  myOrders(status: $status) { edges { node { id status lines { imageUrl } } } } }"""
PRODUCT = """
query($id: ID!) { product(id: $id) {
  priceRange { min { amount currency formatted } max { amount formatted } } } }"""


async def with_images(product: Product, *urls: str) -> None:
    """Give ``product`` images in this display order."""
    for position, url in enumerate(urls):
        await ProductImage.create(
            tenant_id=product.tenant_id, product=product, url=url, position=position
        )


async def sku_of(product: Product) -> str:
    sku = await Sku.filter(product_id=product.id).order_by("id").first()
    assert sku is not None
    return to_global("Sku", sku.id)


async def test_cart_and_order_lines_show_the_image_and_the_line_keeps_what_was_bought(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    _, me = member
    tea = await make_product("Longjing", [(5800, 10)])
    await with_images(tea, "https://img.test/front.jpg", "https://img.test/back.jpg")
    bare = await make_product("Plain", [(1000, 10)])
    lines = (await me(ADD, {"sku": await sku_of(tea)}))["addToCart"]["cart"]["lines"]
    lines = (await me(ADD, {"sku": await sku_of(bare)}))["addToCart"]["cart"]["lines"]
    assert lines == [
        {"productName": "Longjing", "imageUrl": "https://img.test/front.jpg"},
        {"productName": "Plain", "imageUrl": None},
    ]

    placed = (await me(PLACE, {"sku": await sku_of(tea), "key": "o-1"}))["placeOrder"]
    assert placed["order"]["lines"] == [
        {"productName": "Longjing", "imageUrl": "https://img.test/front.jpg"}
    ]
    # the product changes afterwards: the order line still shows what was bought
    await Product.filter(id=tea.id).update(name="Longjing 2027")
    await ProductImage.filter(product_id=tea.id).delete()
    await with_images(tea, "https://img.test/new.jpg")
    mine = (await me(MY_ORDERS))["myOrders"]["edges"]
    assert mine[0]["node"]["lines"] == [{"imageUrl": "https://img.test/front.jpg"}]
    assert (await OrderLine.get(product_id=tea.id)).product_name == "Longjing"


async def test_the_migration_gives_earlier_lines_their_products_first_image(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    _, me = member
    tea = await make_product("Longjing", [(5800, 10)])
    bare = await make_product("Plain", [(1000, 10)])
    for key, product in (("o-1", tea), ("o-2", bare)):
        placed = await me(PLACE, {"sku": await sku_of(product), "key": key})
        assert placed["placeOrder"]["errors"] == []
    await with_images(tea, "https://img.test/b.jpg", "https://img.test/a.jpg")
    await OrderLine.all().update(image_url="")  # lines placed before the snapshot was kept
    migration = importlib.import_module("yutang.migrations.0012_line_snapshots")
    await Tortoise.get_connection("default").execute_script(migration.Migration.operations[-1].sql)
    by_product = dict(await OrderLine.all().values_list("product_id", "image_url"))
    assert by_product == {tea.id: "https://img.test/b.jpg", bare.id: ""}


async def test_a_product_shows_its_price_range_at_list_price(
    storefront: GraphQLClient, make_product: Make
) -> None:
    tea = await make_product("Longjing", [(9900, 1), (5800, 0), (12800, 3)])
    found = (await storefront(PRODUCT, {"id": to_global("Product", tea.id)}))["product"]
    assert found["priceRange"] == {
        "min": {"amount": 5800, "currency": "CNY", "formatted": "¥58.00"},
        "max": {"amount": 12800, "formatted": "¥128.00"},
    }
    await Sku.filter(product_id=tea.id).delete()
    found = (await storefront(PRODUCT, {"id": to_global("Product", tea.id)}))["product"]
    assert found["priceRange"] is None


async def test_my_orders_filter_by_status(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    _, me = member
    sku = await sku_of(await make_product("Tea", [(1000, 10)]))
    ids = [
        (await me(PLACE, {"sku": sku, "key": f"o-{n}"}))["placeOrder"]["order"]["id"]
        for n in range(3)
    ]
    assert (await me(PAY, {"id": ids[0], "key": "p-0"}))["payOrder"]["errors"] == []
    assert (await me(CANCEL, {"id": ids[1]}))["cancelOrder"]["errors"] == []

    async def statuses(status: list[str] | None) -> list[tuple[str, str]]:
        edges = (await me(MY_ORDERS, {"status": status}))["myOrders"]["edges"]
        return [(e["node"]["id"], e["node"]["status"]) for e in edges]

    assert await statuses(None) == [
        (ids[2], "PENDING_PAYMENT"),
        (ids[1], "CANCELLED"),
        (ids[0], "PAID"),
    ]
    assert await statuses(["PENDING_PAYMENT", "DEPOSIT_PAID"]) == [(ids[2], "PENDING_PAYMENT")]
    assert await statuses(["PAID", "CANCELLED"]) == [(ids[1], "CANCELLED"), (ids[0], "PAID")]
    assert await statuses([]) == []
    refused = await me.raw(MY_ORDERS, {"status": ["SHIPPED"]})
    assert refused["data"] is None and "SHIPPED" in refused["errors"][0]["message"]


def test_the_status_enum_documents_every_status_orders_take() -> None:
    values = {s.name: cast(str, s.value) for s in OrderStatus}  # typed as strawberry's
    assert set(values.values()) == set(TRANSITIONS)
    assert all(name == value.upper() for name, value in values.items())


async def test_the_points_rules_are_the_shops_own(
    storefront: GraphQLClient, tenant: TenantInfo
) -> None:
    query = "{ pointsRules { pointsPerYuan maxPercent worth(points: 250) { amount formatted } } }"
    assert (await storefront(query))["pointsRules"] == {
        "pointsPerYuan": 100,
        "maxPercent": 50,
        "worth": {"amount": 250, "formatted": "¥2.50"},
    }
    await Tenant.filter(id=tenant.id).update(
        settings={"core": {"points_per_yuan": 30, "points_max_percent": 20}}, settings_version=2
    )
    assert (await storefront(query))["pointsRules"] == {
        "pointsPerYuan": 30,
        "maxPercent": 20,
        "worth": {"amount": 833, "formatted": "¥8.33"},  # 250 points at 30 a yuan
    }
    refused = await storefront.raw("{ pointsRules { worth(points: -1) { amount } } }")
    assert refused["errors"][0]["extensions"] == {"code": "INVALID", "field": "points"}


async def test_a_guest_gets_the_public_data_and_null_for_member_fields(
    make_tenant: MakeTenant, http: Any, make_product: Make
) -> None:
    shop = await make_tenant("coupon-shop", plugins=["coupons"])
    await make_product("Tea", [(1000, 1)], on=shop)
    guest = GraphQLClient(http, "/graphql", "coupon-shop")
    body = await guest.raw(
        "{ products { edges { node { name } } } myOrders { edges { cursor } } "
        "myAddresses { id } couponTemplates { id } myCoupons { edges { cursor } } me { id } }"
    )
    assert body["data"] == {
        "products": {"edges": [{"node": {"name": "Tea"}}]},
        "myOrders": None,
        "myAddresses": None,
        "couponTemplates": [],
        "myCoupons": None,
        "me": None,
    }
    assert sorted((e["path"][0], e["extensions"]["code"]) for e in body["errors"]) == [
        ("myAddresses", "UNAUTHENTICATED"),
        ("myCoupons", "UNAUTHENTICATED"),
        ("myOrders", "UNAUTHENTICATED"),
    ]
    _, token = await create_member(shop, "13900000009")
    member = await guest.as_(token)(
        "{ myOrders { edges { cursor } } myCoupons { edges { cursor } } }"
    )
    assert member == {"myOrders": {"edges": []}, "myCoupons": {"edges": []}}


def test_every_member_root_of_the_storefront_is_nullable(tmp_path: Path) -> None:
    """With every first-party plugin: a plugin's ``my…`` query cannot null a whole answer."""
    empty = tmp_path / "plugins.toml"
    empty.write_text("", encoding="utf-8")
    settings = AppSettings(database_url="sqlite://:memory:", plugins_file=str(empty))
    runtime = build_runtime(settings, entry_points=False, extra_plugins=first_party_plugins())
    query = build_schema("storefront", runtime.registry.everything())._schema.query_type
    assert query is not None
    mine = {name: f.type for name, f in query.fields.items() if is_member_root(name)}
    assert {"myOrders", "myAddresses", "myCoupons", "myLotteryPrizes"} <= mine.keys()
    assert [name for name, kind in mine.items() if isinstance(kind, GraphQLNonNull)] == []
    assert not is_member_root("me") and not is_member_root("mystery")


async def test_a_disabled_plugins_field_says_which_plugin_is_off(
    storefront: GraphQLClient, admin: GraphQLClient
) -> None:
    body = await storefront.raw("{ categories { id } pickupStores { id } nothing }")
    assert body["data"] is None
    assert [(e["message"], e.get("extensions")) for e in body["errors"]] == [
        (
            "`Query.pickupStores` 属于 pickup 插件，本店未启用 / "
            "`Query.pickupStores` belongs to the pickup plugin, which this shop does not enable",
            {"code": "PLUGIN_DISABLED", "plugin": "pickup"},
        ),
        ("Cannot query field 'nothing' on type 'Query'.", None),
    ]
    nested = await storefront.raw("{ myOrders { edges { node { pickup { code } } } } }")
    assert nested["errors"][0]["extensions"] == {"code": "PLUGIN_DISABLED", "plugin": "pickup"}
    claim = await storefront.raw('mutation { claimCoupon(templateId: "x") { errors { code } } }')
    assert claim["errors"][0]["extensions"] == {"code": "PLUGIN_DISABLED", "plugin": "coupons"}
    staff = await admin.raw("{ lotteryActivities { edges { cursor } } }")
    assert staff["errors"][0]["extensions"] == {"code": "PLUGIN_DISABLED", "plugin": "lottery"}


async def test_bad_input_is_explained_in_chinese_and_english(storefront: GraphQLClient) -> None:
    register = """
    mutation($phone: String!) {
      register(phone: $phone, password: "secret-1") { errors { code field message } } }"""
    body = await storefront(register, {"phone": "1234"})
    assert body["register"]["errors"] == [
        {"code": "INVALID", "field": "phone", "message": "至少 5 个字符 / at least 5 characters"}
    ]
    body = await storefront(register, {"phone": "abc-def"})
    assert body["register"]["errors"][0]["message"] == "格式不正确 / not in the expected format"


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("Expected `int` >= 1", "不能小于 1 / at least 1"),
        ("Expected `float` < 90.5", "必须小于 90.5 / less than 90.5"),
        ("Expected `array` of length <= 100", "最多 100 项 / at most 100 items"),
        ("Expected `int | null`, got `str`", "应为整数 / expected a whole number"),
        ("Object missing required field `skuId`", "缺少必填项 skuId / skuId is required"),
        ("Object contains unknown field `x`", "没有 x 这一项 / x is not a field of this input"),
        ("Invalid enum value 'z'", "不是可选的值 / not one of the allowed values"),
        (
            "Invalid RFC3339 encoded datetime",
            "日期时间格式不正确，例如 2026-06-01T10:00:00+08:00 / "
            "not a date and time like 2026-06-01T10:00:00+08:00",
        ),
        ("spec 'color' is not one of specNames", "spec 'color' is not one of specNames"),
    ],
)
def test_validation_reasons_in_words(reason: str, text: str) -> None:
    assert human(reason) == text
