"""``node(id:)`` resolves every storefront type with an id, the core's and plugins', and
shows nothing its direct field would not: another member's things, another tenant's rows
and unpublished products are null."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Member, Sku
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""
PLACE = """mutation($sku: ID!, $key: String!) {
  placeOrder(input: {lines: [{skuId: $sku, quantity: 1}], idempotencyKey: $key}) {
    order { id lines { id } } errors { code } } }"""
PAY = """mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "pay"}) {
  order { status payments { id } } paymentStatus errors { code } } }"""
ADDRESS = """mutation { saveAddress(input: {receiver: "Li", phone: "13900000001",
  province: "310000", city: "310100", detail: "1 Road"}) { address { id } errors { code } } }"""
ADD = """mutation($sku: ID!) { addToCart(input: {skuId: $sku, quantity: 1}) {
  cart { id lines { id } } errors { code } } }"""
ME = "{ me { id } }"
TEMPLATE = """mutation($until: DateTime!) { createCouponTemplate(input: {name: "减10",
  kind: "fixed", value: 1000, minSpend: 0, validUntil: $until, perMember: 5}) {
  template { id } errors { code } } }"""
CLAIM = """mutation($id: ID!) { claimCoupon(templateId: $id) { coupon { id } errors { code } } }"""


async def node(client: GraphQLClient, id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await client(NODE, {"id": id}))["node"]
    return found


async def a_members_things(me: GraphQLClient, sku: str) -> dict[str, str]:
    """The ids of everything a member owns: an order with its line and payment, an
    address, the cart with its line, and the member."""
    placed = (await me(PLACE, {"sku": sku, "key": "o-1"}))["placeOrder"]
    assert placed["errors"] == []
    order = placed["order"]
    paid = (await me(PAY, {"id": order["id"]}))["payOrder"]
    assert paid["errors"] == [] and paid["paymentStatus"] == "CAPTURED"
    assert paid["order"]["status"] == "PAID"
    address = (await me(ADDRESS))["saveAddress"]["address"]
    cart = (await me(ADD, {"sku": sku}))["addToCart"]["cart"]
    return {
        "Order": order["id"],
        "OrderLine": order["lines"][0]["id"],
        "Payment": paid["order"]["payments"][0]["id"],
        "Address": address["id"],
        "Cart": cart["id"],
        "CartLine": cart["lines"][0]["id"],
        "Member": (await me(ME))["me"]["id"],
    }


async def test_node_resolves_a_members_own_things_and_hides_them_from_everyone_else(
    tenant: TenantInfo,
    member: tuple[Member, GraphQLClient],
    storefront: GraphQLClient,
    make_product: Any,
) -> None:
    _, me = member
    sku = to_global("Sku", (await Sku.get(product_id=(await make_product("Tea")).id)).id)
    mine = await a_members_things(me, sku)
    for type_name, id in mine.items():
        assert await node(me, id) == {"__typename": type_name, "id": id}
    _, token = await create_member(tenant, "13900000002")
    other = storefront.as_(token)
    await other(ADD, {"sku": sku})  # the other member has a cart of their own
    for id in mine.values():
        assert await node(other, id) is None
        assert await node(storefront, id) is None


async def test_node_resolves_the_catalogue_but_not_unpublished_goods_nor_another_tenants(
    make_tenant: MakeTenant, storefront: GraphQLClient, make_product: Any
) -> None:
    on_sale = await make_product("Tea")
    hidden = await make_product("Secret", published=False)
    other = await make_tenant("other")
    elsewhere = await make_product("Theirs", on=other)
    for product, visible in ((on_sale, True), (hidden, False)):
        sku = await Sku.get(product_id=product.id)
        for type_name, pk in (("Product", product.id), ("Sku", sku.id)):
            id = to_global(type_name, pk)
            expected = {"__typename": type_name, "id": id} if visible else None
            assert await node(storefront, id) == expected
    theirs = await Sku.get(product_id=elsewhere.id)
    assert await node(storefront, to_global("Product", elsewhere.id)) is None
    assert await node(storefront, to_global("Sku", theirs.id)) is None
    assert await node(storefront.as_(tenant="other"), to_global("Sku", theirs.id)) is not None


async def test_an_unknown_type_of_id_is_null(storefront: GraphQLClient) -> None:
    assert await node(storefront, to_global("Staff", 1)) is None


@pytest.mark.usefixtures("frozen_clock")
async def test_plugin_nodes_keep_their_fields_scope(
    make_tenant: MakeTenant, http: Any, frozen_clock: FrozenClock
) -> None:
    """A coupon is its owner's only; a template is anyone's while it can be claimed, and
    neither is seen from another tenant."""
    shop = await make_tenant("shop", plugins=["coupons"])
    await make_tenant("other", plugins=["coupons"])
    _, staff = await create_staff(shop, "owner", "owner")
    admin = GraphQLClient(http, "/admin/graphql", "shop", staff)
    until = (frozen_clock.current + timedelta(days=30)).isoformat()
    template = (await admin(TEMPLATE, {"until": until}))["createCouponTemplate"]["template"]
    _, token = await create_member(shop, "13900000001")
    me = GraphQLClient(http, "/graphql", "shop", token)
    coupon = (await me(CLAIM, {"id": template["id"]}))["claimCoupon"]["coupon"]
    _, other_token = await create_member(shop, "13900000002")
    other = me.as_(other_token)
    anonymous = me.as_(None)
    elsewhere = anonymous.as_(tenant="other")

    assert await node(me, coupon["id"]) == {"__typename": "Coupon", "id": coupon["id"]}
    assert await node(other, coupon["id"]) is None
    assert await node(anonymous, coupon["id"]) is None
    expected = {"__typename": "CouponTemplate", "id": template["id"]}
    assert await node(anonymous, template["id"]) == expected
    assert await node(elsewhere, template["id"]) is None
    frozen_clock.advance(timedelta(days=31))
    assert await node(anonymous, template["id"]) is None


async def test_first_zero_returns_no_edges(storefront: GraphQLClient, make_product: Any) -> None:
    await make_product("Tea")
    page = await storefront("{ products(first: 0) { edges { cursor } pageInfo { hasNextPage } } }")
    assert page["products"] == {"edges": [], "pageInfo": {"hasNextPage": True}}
