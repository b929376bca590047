"""Server-side carts over HTTP: a member's cart across logins, a guest cart merged at login
within the limits of each line, a live quote that warns about lines no longer for sale,
checking out the selected lines, and the address book."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from tortoise.expressions import F

from yutang import api
from yutang.core import cart as carts
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Cart, CartLine, Order, OrderLine, Product, Sku, Tenant
from yutang.core.runtime import Runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import PASSWORD, GraphQLClient, create_member

Make = Callable[..., Awaitable[Product]]

CART = """
fragment C on Cart { id lines { id skuId productName quantity selected available stock
                                activity { plugin ref } } }
"""
ADD = (
    CART
    + """
mutation($input: AddToCartInput!, $token: String) {
  addToCart(input: $input, cartToken: $token) {
    cart { ...C } cartToken errors { code field message } }
}"""
)
UPDATE = (
    CART
    + """
mutation($line: ID!, $q: Int, $sel: Boolean, $token: String) {
  updateCartLine(lineId: $line, quantity: $q, selected: $sel, cartToken: $token) {
    cart { ...C } errors { code field message } }
}"""
)
REMOVE = (
    CART
    + """
mutation($lines: [ID!]!) { removeCartLines(lineIds: $lines) { cart { ...C } errors { code } } }"""
)
GET = CART + "query($token: String) { cart(cartToken: $token) { ...C } }"
QUOTE = """
query($token: String, $input: CartQuoteInput) {
  cart(cartToken: $token) { quote(input: $input) {
    quote { total { amount } fees { amount } lines { skuId quantity } }
    lineIds warnings { lineId code message } errors { code field message } } }
}"""
LOGIN = """
mutation($phone: String!, $password: String!, $token: String) {
  login(phone: $phone, password: $password, cartToken: $token) { token errors { code } }
}"""
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id total { amount } fees { amount } lines { skuId quantity }
            address { receiver city } }
    errors { code field message }
  }
}"""
SAVE_ADDRESS = """
mutation($input: AddressInput!, $id: ID) {
  saveAddress(input: $input, id: $id) {
    address { id receiver city district isDefault } errors { code field message } }
}"""
ADDRESSES = "{ myAddresses { id receiver isDefault } }"
PHONE = "13900000001"


async def sku_of(make_product: Make, name: str, price: int = 5000, stock: int = 10) -> str:
    product = await make_product(name, [(price, stock)])
    return to_global("Sku", (await Sku.get(product_id=product.id)).id)


async def add(
    client: GraphQLClient, sku: str, quantity: int, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"skuId": sku, "quantity": quantity, **extra}
    result: dict[str, Any] = (await client(ADD, {"input": body, "token": token}))["addToCart"]
    return result


async def login(storefront: GraphQLClient, token: str | None = None) -> GraphQLClient:
    done = (await storefront(LOGIN, {"phone": PHONE, "password": PASSWORD, "token": token}))[
        "login"
    ]
    assert done["errors"] == []
    return storefront.as_(done["token"])


def quantities(cart: dict[str, Any]) -> list[tuple[str, int]]:
    return [(ln["productName"], ln["quantity"]) for ln in cart["lines"]]


# --- a test plugin: a per-line limit and an activity that can end -----------------------

LIVE: set[str] = set()


class CartRules:
    """At most 3 of "Limited" per checkout; activity ``cartrules:<ref>`` takes ¥1 off while
    ``ref`` is in ``LIVE``."""

    @api.hookimpl
    def yutang_validate_checkout(self, checkout: api.CheckoutContext) -> None:
        for ln in checkout.lines:
            if ln.product_name == "Limited" and ln.quantity > 3:
                raise api.DomainError(
                    "LIMIT_REACHED", "at most 3 per member", f"lines[{ln.index}].quantity"
                )

    @api.hookimpl
    def yutang_activities(self) -> list[api.Activity[Any]]:
        return [LimitedTime()]


class LimitedTime(api.Activity[None]):
    """Activity kind ``cartrules``: ¥1 off while the line's ``ref`` is in ``LIVE``."""

    kind = "cartrules"

    async def resolve(self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]) -> None:
        return None

    def price(self, draft: api.Draft, claim: None) -> None:
        for ln in draft.lines:
            ref = ln.line.activity
            if ref is not None and ref.plugin == self.kind and ref.ref in LIVE:
                draft.set_activity_price(ln, ln.unit_price - 100, "限时价")

    async def reserve(self, checkout: api.CheckoutContext, claim: None, order_id: int) -> None:
        return None

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        return None


@pytest_asyncio.fixture
async def rules(yutang_db: Runtime, tenant: TenantInfo) -> set[str]:
    """The ``cartrules`` plugin, registered once per session, enabled for the shop."""
    if "cartrules" not in yutang_db.registry.plugins:
        yutang_db.registry.register("cartrules", CartRules())
    await Tenant.filter(id=tenant.id).update(
        plugins=["cartrules"], settings_version=F("settings_version") + 1
    )
    LIVE.clear()
    return LIVE


# --- tests ----------------------------------------------------------------------------------


async def test_the_cart_follows_the_member_across_logins(
    storefront: GraphQLClient, tenant: TenantInfo, make_product: Make
) -> None:
    await create_member(tenant, PHONE)
    tea, cup = await sku_of(make_product, "Tea"), await sku_of(make_product, "Cup")
    phone, laptop = await login(storefront), await login(storefront)
    assert phone.token != laptop.token
    assert (await phone(GET))["cart"] is None
    first = await add(phone, tea, 2)
    assert first["errors"] == [] and first["cartToken"] is None
    await add(phone, tea, 1)
    await add(laptop, cup, 1)
    cart = (await laptop(GET))["cart"]
    assert quantities(cart) == [("Tea", 3), ("Cup", 1)]
    tea_line, cup_line = (ln["id"] for ln in cart["lines"])
    changed = (await laptop(UPDATE, {"line": tea_line, "q": 5}))["updateCartLine"]
    assert changed["errors"] == []
    await laptop(UPDATE, {"line": cup_line, "sel": False})
    seen = (await phone(GET))["cart"]
    assert quantities(seen) == [("Tea", 5), ("Cup", 1)]
    assert [ln["selected"] for ln in seen["lines"]] == [True, False]
    quote = (await phone(QUOTE))["cart"]["quote"]
    assert quote["quote"]["total"]["amount"] == 5 * 5000
    assert quote["lineIds"] == [tea_line] and quote["warnings"] == []
    removed = (await phone(REMOVE, {"lines": [tea_line]}))["removeCartLines"]
    assert quantities(removed["cart"]) == [("Cup", 1)]
    assert quantities((await laptop(GET))["cart"]) == [("Cup", 1)]
    assert await Cart.all().count() == 1


async def test_a_guest_cart_merges_at_login_keeping_each_lines_limits(
    storefront: GraphQLClient, tenant: TenantInfo, make_product: Make, rules: set[str]
) -> None:
    await create_member(tenant, PHONE)
    tea = await sku_of(make_product, "Tea", stock=6)
    limited = await sku_of(make_product, "Limited", stock=100)
    cup = await sku_of(make_product, "Cup")
    me = await login(storefront)
    await add(me, tea, 4)
    await add(me, limited, 2)

    opened = await add(storefront, tea, 3)
    token = opened["cartToken"]
    assert opened["errors"] == [] and token
    assert (await add(storefront, limited, 2, token))["cartToken"] == token
    await add(storefront, cup, 1, token)
    await add(storefront, cup, 1, token)
    assert quantities((await storefront(GET, {"token": token}))["cart"]) == [
        ("Tea", 3),
        ("Limited", 2),
        ("Cup", 2),
    ]
    assert (await storefront(GET))["cart"] is None  # no token, no cart

    merged = await login(storefront, token)
    # Tea 4 + 3 is capped by its stock of 6, Limited 2 + 2 by the plugin's limit of 3.
    assert quantities((await merged(GET))["cart"]) == [("Tea", 6), ("Limited", 3), ("Cup", 2)]
    assert quantities((await me(GET))["cart"]) == [("Tea", 6), ("Limited", 3), ("Cup", 2)]
    assert (await storefront(GET, {"token": token}))["cart"] is None
    assert await Cart.all().count() == 1
    again = await login(storefront, token)  # a stale token merges nothing, login still works
    assert quantities((await again(GET))["cart"]) == [("Tea", 6), ("Limited", 3), ("Cup", 2)]


async def test_registering_merges_the_guest_cart(
    storefront: GraphQLClient, make_product: Make
) -> None:
    tea = await sku_of(make_product, "Tea")
    token = (await add(storefront, tea, 2))["cartToken"]
    registered = await storefront(
        'mutation($t: String) { register(phone: "13711112222", password: "secret-1", '
        "cartToken: $t) { token errors { code } } }",
        {"t": token},
    )
    me = storefront.as_(registered["register"]["token"])
    assert quantities((await me(GET))["cart"]) == [("Tea", 2)]


async def test_the_quote_warns_about_lines_no_longer_for_sale_and_prices_the_rest(
    member: tuple[Any, GraphQLClient], make_product: Make, rules: set[str]
) -> None:
    _, me = member
    rules.add("spring")
    tea, cup = await sku_of(make_product, "Tea"), await sku_of(make_product, "Cup", 1000)
    pot, cake = await sku_of(make_product, "Pot", 9000), await sku_of(make_product, "Cake", 700)
    await add(me, tea, 1)
    await add(me, cup, 2)
    await add(me, pot, 3)
    added = await add(me, cake, 1, activity={"plugin": "cartrules", "ref": "spring"})
    assert added["errors"] == []
    ids = [ln["id"] for ln in added["cart"]["lines"]]
    quote = (await me(QUOTE))["cart"]["quote"]
    assert quote["quote"]["total"]["amount"] == 5000 + 2000 + 27000 + 600

    await Product.filter(name="Cup").update(published=False)
    await Sku.filter(product__name="Pot").update(stock=2)
    rules.clear()
    quote = (await me(QUOTE))["cart"]["quote"]
    assert quote["errors"] == []
    assert quote["quote"]["total"]["amount"] == 5000
    assert quote["lineIds"] == [ids[0]]
    assert [(w["lineId"], w["code"]) for w in quote["warnings"]] == [
        (ids[1], "UNAVAILABLE"),
        (ids[2], "INSUFFICIENT_STOCK"),
        (ids[3], "NOT_APPLICABLE"),
    ]
    lines = (await me(GET))["cart"]["lines"]
    assert [(ln["available"], ln["stock"]) for ln in lines] == [
        (True, 10),
        (False, 10),
        (True, 2),
        (True, 10),
    ]
    assert lines[3]["activity"] == {"plugin": "cartrules", "ref": "spring"}


async def test_bad_cart_input_names_the_field_and_writes_nothing(
    storefront: GraphQLClient,
    member: tuple[Any, GraphQLClient],
    make_tenant: Callable[..., Awaitable[TenantInfo]],
    make_product: Make,
) -> None:
    _, me = member
    other = await make_tenant("other")
    foreign = await make_product("Foreign", [(100, 5)], on=other)
    foreign_sku = to_global("Sku", (await Sku.get(product_id=foreign.id)).id)
    tea = await sku_of(make_product, "Tea", stock=3)

    refused = await add(me, foreign_sku, 1)
    assert refused["errors"] == [
        {"code": "NOT_FOUND", "field": "skuId", "message": "SKU not found"}
    ]
    guest = await add(storefront, foreign_sku, 1)
    assert guest["errors"][0]["code"] == "NOT_FOUND" and guest["cartToken"] is None
    over = await add(me, tea, 4)
    assert over["errors"] == [
        {"code": "INSUFFICIENT_STOCK", "field": "quantity", "message": "only 3 left"}
    ]
    zero = await add(me, tea, 0)
    assert [(e["code"], e["field"]) for e in zero["errors"]] == [("INVALID", "quantity")]
    assert await Cart.all().count() == 0 and await CartLine.all().count() == 0

    line = (await add(me, tea, 2))["cart"]["lines"][0]["id"]
    more = await add(me, tea, 2)
    assert more["errors"][0]["code"] == "INSUFFICIENT_STOCK"
    too_many = (await me(UPDATE, {"line": line, "q": 4}))["updateCartLine"]
    assert too_many["errors"] == [
        {"code": "INSUFFICIENT_STOCK", "field": "quantity", "message": "only 3 left"}
    ]
    assert quantities((await me(GET))["cart"]) == [("Tea", 2)]
    stranger = (await storefront(UPDATE, {"line": line, "q": 1, "token": "guess"}))[
        "updateCartLine"
    ]
    assert [(e["code"], e["field"]) for e in stranger["errors"]] == [("NOT_FOUND", "cartToken")]


async def test_placing_an_order_from_the_selected_cart_lines(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    _, me = member
    tea, cup = await sku_of(make_product, "Tea"), await sku_of(make_product, "Cup", 1000)
    saved = (
        await me(
            SAVE_ADDRESS,
            {
                "input": {
                    "receiver": "王小明",
                    "phone": "13800000000",
                    "province": "330000",
                    "city": "330100",
                    "district": "330106",
                    "detail": "龙井路1号",
                }
            },
        )
    )["saveAddress"]
    assert saved["errors"] == [] and saved["address"]["isDefault"] is True
    await add(me, tea, 2)
    cup_line = (await add(me, cup, 1))["cart"]["lines"][1]["id"]
    await me(UPDATE, {"line": cup_line, "sel": False})
    body = {
        "fromCart": True,
        "idempotencyKey": "cart-1",
        "address": {"addressId": saved["address"]["id"]},
    }
    both = await me(PLACE, {"input": {**body, "lines": [{"skuId": cup, "quantity": 1}]}})
    assert both["placeOrder"]["errors"][0]["field"] == "lines"
    placed = (await me(PLACE, {"input": body}))["placeOrder"]
    assert placed["errors"] == []
    assert placed["order"]["lines"] == [{"skuId": tea, "quantity": 2}]
    assert placed["order"]["address"] == {"receiver": "王小明", "city": "330100"}
    assert quantities((await me(GET))["cart"]) == [("Cup", 1)]
    replay = (await me(PLACE, {"input": body}))["placeOrder"]
    assert replay["order"]["id"] == placed["order"]["id"]
    empty = (await me(PLACE, {"input": {**body, "idempotencyKey": "cart-2"}}))["placeOrder"]
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("EMPTY_CART", "fromCart")]
    assert await Order.all().count() == 1


async def test_the_address_book_keeps_one_default(
    member: tuple[Any, GraphQLClient], storefront: GraphQLClient
) -> None:
    _, me = member
    base = {
        "receiver": "A",
        "phone": "13800000000",
        "province": "110000",
        "city": "110100",
        "detail": "1号",
    }
    first = (await me(SAVE_ADDRESS, {"input": base}))["saveAddress"]["address"]
    second = (await me(SAVE_ADDRESS, {"input": {**base, "receiver": "B", "isDefault": True}}))[
        "saveAddress"
    ]["address"]
    third = (await me(SAVE_ADDRESS, {"input": {**base, "receiver": "C"}}))["saveAddress"]["address"]
    assert (await me(ADDRESSES))["myAddresses"] == [
        {"id": second["id"], "receiver": "B", "isDefault": True},
        {"id": third["id"], "receiver": "C", "isDefault": False},
        {"id": first["id"], "receiver": "A", "isDefault": False},
    ]
    deleted = await me(
        "mutation($id: ID!) { deleteAddress(id: $id) { deleted errors { code } } }",
        {"id": second["id"]},
    )
    assert deleted["deleteAddress"] == {"deleted": True, "errors": []}
    assert [a["isDefault"] for a in (await me(ADDRESSES))["myAddresses"]] == [True, False]
    bad = (await me(SAVE_ADDRESS, {"input": {**base, "city": "120100"}}))["saveAddress"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", "input.city")]
    anonymous = await storefront.raw(ADDRESSES)
    assert anonymous["errors"][0]["message"] == "log in as a member first"


@pytest.mark.postgres_only
async def test_two_devices_adding_the_same_sku_at_once_add_up(
    tenant: TenantInfo, make_product: Make
) -> None:
    member, _ = await create_member(tenant, PHONE)
    product = await make_product("Tea", [(5000, 100)])
    sku = await Sku.get(product_id=product.id)
    data = carts.CartLineInput(sku_id=sku.id, quantity=1)
    await asyncio.gather(*(carts.add_line(tenant, member.id, None, data) for _ in range(8)))
    assert await CartLine.all().values_list("quantity", flat=True) == [8]
    assert await Cart.all().count() == 1


@pytest.mark.postgres_only
async def test_a_quantity_set_while_devices_add_is_never_lost(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    """Without the cart lock the update and an add deadlock (one takes the line then the
    cart, the other the cart then the line) or the add overwrites the new quantity with
    its own sum; serialised, the 100 holds plus the adds that came after it."""
    _, me = member
    tea = await sku_of(make_product, "Tea", stock=500)
    for round_ in range(3):
        line = (await add(me, tea, 1))["cart"]["lines"][0]["id"]
        adds = [add(me, tea, 1) for _ in range(8)]
        set_to_100 = me(UPDATE, {"line": line, "q": 100})
        done = await asyncio.gather(*adds[:2], set_to_100, *adds[2:])
        assert done.pop(2)["updateCartLine"]["errors"] == []
        assert all(d["errors"] == [] for d in done)
        (quantity,) = await CartLine.all().values_list("quantity", flat=True)
        assert 100 <= quantity <= 108, f"round {round_}: the update was lost ({quantity})"
        await me(REMOVE, {"lines": [line]})


@pytest.mark.postgres_only
async def test_devices_adding_while_the_cart_is_checked_out_lose_no_unit(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    """placeOrder reads the selected lines and later deletes them: without the cart lock
    a unit added in between would leave with neither the order nor the cart."""
    _, me = member
    tea = await sku_of(make_product, "Tea", stock=500)
    address = {
        "receiver": "王小明",
        "phone": "13800000000",
        "province": "330000",
        "city": "330100",
        "district": "330106",
        "detail": "龙井路1号",
    }
    added = 0
    for round_ in range(3):
        await add(me, tea, 1)
        body = {"fromCart": True, "idempotencyKey": f"race-{round_}", "address": address}
        adds = [add(me, tea, 1) for _ in range(6)]
        done = await asyncio.gather(*adds[:2], me(PLACE, {"input": body}), *adds[2:])
        assert done.pop(2)["placeOrder"]["errors"] == []
        assert all(d["errors"] == [] for d in done)
        added += 7
        ordered = sum(await OrderLine.all().values_list("quantity", flat=True))
        in_cart = sum(await CartLine.all().values_list("quantity", flat=True))
        assert ordered + in_cart == added, f"round {round_}: {ordered} + {in_cart}"


async def test_a_cart_costs_the_same_few_statements_whatever_its_size(
    member: tuple[Any, GraphQLClient], make_product: Make
) -> None:
    from test_query_count import counting

    _, me = member
    statements: dict[int, int] = {}
    for n in range(1, 13):
        await add(me, await sku_of(make_product, f"Tea {n}"), 1)
        if n in (2, 12):
            async with counting() as counter:
                cart = (await me(GET))["cart"]
            assert len(cart["lines"]) == n
            statements[n] = len(counter.statements)
    assert statements[2] == statements[12] <= 6, statements


async def test_a_guest_cart_not_merged_is_dropped_after_thirty_days(
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    frozen_clock: FrozenClock,
) -> None:
    tea = await sku_of(make_product, "Tea")
    kept = (await add(storefront, tea, 1))["cartToken"]
    dropped = (await add(storefront, tea, 2))["cartToken"]
    await create_member(tenant, PHONE)
    await login(storefront, kept)  # merged: the member's cart now holds it
    frozen_clock.advance(timedelta(days=carts.GUEST_CART_DAYS) - timedelta(seconds=1))
    await worker.run_until_idle()
    assert quantities((await storefront(GET, {"token": dropped}))["cart"]) == [("Tea", 2)]
    frozen_clock.advance(timedelta(seconds=1))
    await worker.run_until_idle()
    assert (await storefront(GET, {"token": dropped}))["cart"] is None
    assert await CartLine.filter(quantity=2).count() == 0
    assert await Cart.filter(member_id__isnull=False).count() == 1
    reopened = await add(storefront, tea, 1, dropped)  # the old token opens a new cart
    assert reopened["errors"] == [] and reopened["cartToken"] not in (None, dropped)
