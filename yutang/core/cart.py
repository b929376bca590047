"""Server-side carts: one per member across devices, guest carts by token, merged at login.

A line is a SKU with its activity reference and per-plugin checkout input. Adding or
changing a line checks it as a checkout of that line alone would be checked (the SKU is
this tenant's and on sale, the stock, plugin limits), so a cart never takes what could
not be bought then. What changes later (sold out, unpublished, activity over) does not
break the cart: its quote warns about such lines and prices the rest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import msgspec
from tortoise.transactions import in_transaction

from yutang.core import clock, outbox
from yutang.core.addresses import CheckoutAddress
from yutang.core.checkout import MAX_LINES, CheckoutInput, quote
from yutang.core.contract import ActivityRef, LineInput, Quote, TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.inputs import validate_extensions
from yutang.core.models import Cart, CartLine, Sku

MAX_QUANTITY = 9999
GUEST_CART_DAYS = 30  # a visitor's cart is kept this long unless merged at login
C = TypeVar("C", bound=CheckoutInput)
_LINE = re.compile(r"^lines\[(\d+)\]\.?")


class CartLineInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A SKU to put in the cart; the same SKU and activity again adds to its line."""

    sku_id: Annotated[int, msgspec.Meta(ge=1)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
    activity: ActivityRef | None = None
    extensions: dict[str, Any] = msgspec.field(default_factory=dict)


class CartQuoteInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """How the selected lines would be checked out."""

    use_points: Annotated[int, msgspec.Meta(ge=0)] = 0
    fulfilment: str | None = None
    extensions: dict[str, Any] = msgspec.field(default_factory=dict)
    address: CheckoutAddress | None = None


@dataclass(frozen=True, slots=True)
class CartWarning:
    """A selected line left out of the quote, and why."""

    line_id: int
    code: str
    message: str


@dataclass(slots=True)
class CartQuote:
    """The quote of the selected lines that can be bought (``line_ids`` by quote line),
    warnings about the others, or errors that are not about one line."""

    quote: Quote | None
    line_ids: list[int] = field(default_factory=list)
    warnings: list[CartWarning] = field(default_factory=list)
    errors: list[DomainError] = field(default_factory=list)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def find_cart(tenant: TenantInfo, member_id: int | None, token: str | None) -> Cart | None:
    """The member's cart, or for an anonymous visitor the guest cart of ``token``."""
    if member_id is not None:
        return await Cart.get_or_none(tenant_id=tenant.id, member_id=member_id)
    if token:
        return await Cart.get_or_none(
            tenant_id=tenant.id, token_digest=_digest(token), member_id=None
        )
    return None


async def _open_cart(
    tenant: TenantInfo, member_id: int | None, token: str | None
) -> tuple[Cart, str | None]:
    """The caller's cart, created on first use; a new guest cart comes with its token."""
    found = await find_cart(tenant, member_id, token)
    if found is not None:
        return found, None
    if member_id is not None:
        await Cart.bulk_create(
            [Cart(tenant_id=tenant.id, member_id=member_id)], ignore_conflicts=True
        )
        return await Cart.get(tenant_id=tenant.id, member_id=member_id), None
    new = secrets.token_urlsafe(24)
    cart = await Cart.create(tenant_id=tenant.id, token_digest=_digest(new))
    expires = clock.now() + timedelta(days=GUEST_CART_DAYS)
    await outbox.schedule(tenant.id, "core.expire_guest_cart", {"cart_id": cart.id}, expires)
    return cart, new


async def expire_guest_cart(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: a guest cart not merged into a member's by now goes, so anonymous visitors
    cannot fill the database with carts; its token then opens a new one."""
    guest = Cart.filter(tenant_id=tenant.id, id=payload["cart_id"], member_id=None)
    if await guest.exists():
        await CartLine.filter(tenant_id=tenant.id, cart_id=payload["cart_id"]).delete()
        await guest.delete()


async def _cart(tenant: TenantInfo, member_id: int | None, token: str | None) -> Cart:
    found = await find_cart(tenant, member_id, token)
    if found is None:
        raise NotFound("cart", "cartToken")
    return found


async def _lock(cart: Cart) -> None:
    """Serialize changes to one cart (two devices adding the same SKU at once)."""
    await Cart.filter(id=cart.id).select_for_update().first()


def _activity(line: CartLine) -> ActivityRef | None:
    return ActivityRef(line.activity_plugin, line.activity_ref) if line.activity_plugin else None


async def _check(
    tenant: TenantInfo,
    member_id: int | None,
    sku_id: int,
    quantity: int,
    activity: ActivityRef | None,
    extensions: dict[str, Any],
) -> None:
    """Refuse a line a checkout of it alone would refuse; fields as the cart names them."""
    data = CheckoutInput(
        lines=[LineInput(sku_id=sku_id, quantity=quantity, activity=activity)],
        extensions=extensions,
    )
    try:
        await quote(tenant, member_id, data)
    except DomainError as err:
        if err.field is not None and _LINE.match(err.field):
            err.field = _LINE.sub("", err.field) or "skuId"
        raise


async def add_line(
    tenant: TenantInfo, member_id: int | None, token: str | None, data: CartLineInput
) -> tuple[Cart, str | None]:
    """Put a SKU in the cart (a guest's first line opens a cart and returns its token)."""
    validate_extensions(tenant, "checkout", data.extensions)
    plugin, ref = (data.activity.plugin, data.activity.ref) if data.activity else ("", "")
    async with in_transaction():
        cart, new_token = await _open_cart(tenant, member_id, token)
        await _lock(cart)
        lines = CartLine.filter(tenant_id=tenant.id, cart_id=cart.id)
        existing = await lines.filter(
            sku_id=data.sku_id, activity_plugin=plugin, activity_ref=ref
        ).first()
        quantity = data.quantity + (existing.quantity if existing else 0)
        if quantity > MAX_QUANTITY:
            raise DomainError("INVALID", f"at most {MAX_QUANTITY} of a SKU", "quantity")
        if existing is None and await lines.count() >= MAX_LINES:
            raise DomainError("LIMIT_REACHED", f"a cart holds at most {MAX_LINES} lines", "skuId")
        extensions = data.extensions or (existing.extensions if existing else {})
        await _check(tenant, member_id, data.sku_id, quantity, data.activity, extensions)
        if existing is None:
            await CartLine.create(
                tenant_id=tenant.id,
                cart_id=cart.id,
                sku_id=data.sku_id,
                quantity=quantity,
                activity_plugin=plugin,
                activity_ref=ref,
                extensions=extensions,
            )
        else:
            await CartLine.filter(id=existing.id).update(
                quantity=quantity, extensions=extensions, selected=True
            )
        await cart.save(update_fields=["updated_at"])
    return cart, new_token


async def update_line(
    tenant: TenantInfo,
    member_id: int | None,
    token: str | None,
    line_id: int,
    quantity: int | None,
    selected: bool | None,
) -> Cart:
    """Change a line's quantity (checked as when adding) or whether it is selected."""
    async with in_transaction():
        cart = await _cart(tenant, member_id, token)
        await _lock(cart)
        line = await CartLine.get_or_none(tenant_id=tenant.id, cart_id=cart.id, id=line_id)
        if line is None:
            raise NotFound("cart line", "lineId")
        changes: dict[str, Any] = {}
        if quantity is not None:
            if not 1 <= quantity <= MAX_QUANTITY:
                raise DomainError("INVALID", f"between 1 and {MAX_QUANTITY}", "quantity")
            await _check(tenant, member_id, line.sku_id, quantity, _activity(line), line.extensions)
            changes["quantity"] = quantity
        if selected is not None:
            changes["selected"] = selected
        if changes:
            await CartLine.filter(id=line.id).update(**changes)
            await cart.save(update_fields=["updated_at"])
    return cart


async def _lines_of(cart: Cart, line_ids: list[int], field_name: str) -> list[int]:
    rows = await CartLine.filter(tenant_id=cart.tenant_id, cart_id=cart.id, id__in=line_ids).values(
        "id"
    )
    known = {r["id"] for r in rows}
    for i, line_id in enumerate(line_ids):
        if line_id not in known:
            raise NotFound("cart line", f"{field_name}[{i}]")
    return line_ids


async def remove_lines(
    tenant: TenantInfo, member_id: int | None, token: str | None, line_ids: list[int]
) -> Cart:
    """Take lines out of the cart."""
    async with in_transaction():
        cart = await _cart(tenant, member_id, token)
        await _lock(cart)
        await CartLine.filter(id__in=await _lines_of(cart, line_ids, "lineIds")).delete()
        await cart.save(update_fields=["updated_at"])
    return cart


async def select_lines(
    tenant: TenantInfo,
    member_id: int | None,
    token: str | None,
    line_ids: list[int] | None,
    selected: bool,
) -> Cart:
    """Select (or deselect) lines for checkout: the given ones, or all when None."""
    async with in_transaction():
        cart = await _cart(tenant, member_id, token)
        await _lock(cart)
        query = CartLine.filter(tenant_id=tenant.id, cart_id=cart.id)
        if line_ids is not None:
            query = query.filter(id__in=await _lines_of(cart, line_ids, "lineIds"))
        await query.update(selected=selected)
    return cart


async def _fitting(
    tenant: TenantInfo, member_id: int, line: CartLine, target: int, fallback: int
) -> int:
    """The largest quantity up to ``target`` the line allows (stock, plugin limits),
    found by halving; ``fallback`` when even one unit is refused."""

    async def fits(quantity: int) -> bool:
        try:
            await _check(tenant, member_id, line.sku_id, quantity, _activity(line), line.extensions)
        except DomainError as err:
            return err.field != "quantity"
        return True

    if await fits(target):
        return target
    low, high = 0, target
    while high - low > 1:
        middle = (low + high) // 2
        if await fits(middle):
            low = middle
        else:
            high = middle
    return low or fallback


async def merge_guest_cart(tenant: TenantInfo, member_id: int, token: str) -> None:
    """Move a guest cart into the member's at login: quantities of the same SKU and
    activity add up, capped by what the line allows. An unknown token merges nothing
    (the guest cart may be gone); logging in never fails because of it."""
    async with in_transaction():
        guest = (
            await Cart.filter(tenant_id=tenant.id, token_digest=_digest(token), member_id=None)
            .select_for_update()
            .first()
        )
        if guest is None:
            return
        cart, _ = await _open_cart(tenant, member_id, None)
        await _lock(cart)
        mine = {
            (ln.sku_id, ln.activity_plugin, ln.activity_ref): ln
            for ln in await CartLine.filter(tenant_id=tenant.id, cart_id=cart.id)
        }
        theirs = await CartLine.filter(tenant_id=tenant.id, cart_id=guest.id).order_by("id")
        stock = dict(
            await Sku.filter(tenant_id=tenant.id, id__in=[ln.sku_id for ln in theirs]).values_list(
                "id", "stock"
            )
        )
        for ln in theirs:
            own = mine.get((ln.sku_id, ln.activity_plugin, ln.activity_ref))
            if own is None and len(mine) >= MAX_LINES:
                continue
            had = own.quantity if own else 0
            target = min(had + ln.quantity, MAX_QUANTITY, max(stock.get(ln.sku_id, 0), 1))
            quantity = await _fitting(tenant, member_id, ln, target, max(had, ln.quantity))
            if own is None:
                mine[(ln.sku_id, ln.activity_plugin, ln.activity_ref)] = await CartLine.create(
                    tenant_id=tenant.id,
                    cart_id=cart.id,
                    sku_id=ln.sku_id,
                    quantity=quantity,
                    selected=ln.selected,
                    activity_plugin=ln.activity_plugin,
                    activity_ref=ln.activity_ref,
                    extensions=ln.extensions,
                )
            else:
                await CartLine.filter(id=own.id).update(
                    quantity=quantity, extensions=ln.extensions or own.extensions
                )
        await guest.delete()
        await cart.save(update_fields=["updated_at"])


def _checkout_of(
    lines: list[CartLine],
    extensions: dict[str, Any],
    **options: Any,
) -> CheckoutInput:
    """A checkout of ``lines``: the request's plugin input plus each line's own."""
    merged = dict(extensions)
    for i, ln in enumerate(lines):
        for plugin, value in ln.extensions.items():
            if plugin in merged and merged[plugin] != value:
                raise DomainError(
                    "INVALID",
                    f"another line or the checkout gives other {plugin} input",
                    f"lines[{i}].extensions.{plugin}",
                )
            merged[plugin] = value
    return CheckoutInput(
        lines=[
            LineInput(sku_id=ln.sku_id, quantity=ln.quantity, activity=_activity(ln))
            for ln in lines
        ],
        extensions=merged,
        **options,
    )


async def lines(tenant: TenantInfo, cart: Cart) -> list[CartLine]:
    """A cart's lines in the order they were added."""
    return await CartLine.filter(tenant_id=tenant.id, cart_id=cart.id).order_by("id")


async def quote_cart(
    tenant: TenantInfo, member_id: int | None, cart: Cart | None, data: CartQuoteInput
) -> CartQuote:
    """Price the selected lines; a line the checkout refuses is left out with a warning
    and the rest priced again. Reads only."""
    pending = [ln for ln in await lines(tenant, cart) if ln.selected] if cart else []
    warnings: list[CartWarning] = []
    while pending:
        try:
            checkout = _checkout_of(
                pending,
                data.extensions,
                use_points=data.use_points,
                fulfilment=data.fulfilment,
                address=data.address,
            )
            priced = await quote(tenant, member_id, checkout)
        except DomainError as err:
            found = _LINE.match(err.field or "")
            if found is None or int(found.group(1)) >= len(pending):
                return CartQuote(None, warnings=warnings, errors=[err])
            line = pending.pop(int(found.group(1)))
            warnings.append(CartWarning(line.id, err.code, err.message))
            continue
        return CartQuote(priced, [ln.id for ln in pending], warnings)
    return CartQuote(None, warnings=warnings)


async def checkout_from_cart(tenant: TenantInfo, member_id: int, data: C) -> tuple[C, list[int]]:
    """placeOrder's input with the member's selected cart lines, and their ids (they
    leave the cart with the order). A refused line fails the order, naming the line.
    Runs in placeOrder's transaction and locks the cart until the lines are gone."""
    cart = await find_cart(tenant, member_id, None)
    if cart is not None:
        await _lock(cart)
    chosen = [ln for ln in await lines(tenant, cart) if ln.selected] if cart else []
    if not chosen:
        raise DomainError("EMPTY_CART", "select cart lines to check out", "fromCart")
    checkout = _checkout_of(chosen, data.extensions)
    replaced = msgspec.structs.replace(data, lines=checkout.lines, extensions=checkout.extensions)
    return replaced, [ln.id for ln in chosen]
