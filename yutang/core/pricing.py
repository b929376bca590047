"""The pricing pipeline: a quote is a pure function of cart, member, tenant, time, plugins.

Plugins contribute :class:`PriceStep`s in fixed, named stages; each step reads the
:class:`Draft` and calls its methods, which record every adjustment with its source
plugin, label and per-line shares. Order-level discounts are apportioned to lines by
largest remainder so each line knows exactly what it paid.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from yutang.core.errors import DomainError
from yutang.core.money import apportion
from yutang.core.regions import Destination
from yutang.core.tenancy import TenantInfo

if TYPE_CHECKING:
    from yutang.core.views import SkuSummary


class Stage(IntEnum):
    """The fixed order in which price steps run."""

    ACTIVITY = 1
    MEMBER_PRICE = 2
    PROMOTION = 3
    COUPON = 4
    POINTS = 5
    FEES = 6


class ActivityRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A line's marketing activity: which plugin interprets it, and its reference (as
    long as the columns that keep them on cart and order lines)."""

    plugin: Annotated[str, msgspec.Meta(max_length=64)]
    ref: Annotated[str, msgspec.Meta(max_length=128)]


class LineInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """One requested line; validated at the edge."""

    sku_id: Annotated[int, msgspec.Meta(ge=1)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=9999)]
    activity: ActivityRef | None = None


@dataclass(slots=True)
class CheckoutLine:
    """A requested line joined with its SKU and product, as plugins see it.

    ``category_parent_id`` is the parent of the product's category: a scope of goods on a
    category covers its subcategories, as the catalogue lists them.
    """

    index: int
    sku_id: int
    product_id: int
    product_name: str
    category_id: int | None
    specs: dict[str, str]
    quantity: int
    list_price: int
    stock: int
    weight_grams: int
    activity: ActivityRef | None
    shipping_template_id: int | None = None
    tags: list[str] = field(default_factory=list)
    category_parent_id: int | None = None


@dataclass(slots=True)
class MemberInfo:
    """The member a quote is for (None for anonymous quotes)."""

    id: int
    tags: list[str]
    points: int
    paid_spend: int
    level_name: str | None
    level_discount_percent: int | None


@dataclass(slots=True)
class CheckoutContext:
    """Everything a quote depends on besides the database: the pure function's input.

    ``destination`` is where a delivery goes (None until the shopper chose it).
    """

    tenant: TenantInfo
    member: MemberInfo | None
    lines: list[CheckoutLine]
    extensions: dict[str, msgspec.Struct]
    now: datetime
    fulfilment: str = "delivery"
    destination: Destination | None = None

    def input(self, plugin: str) -> Any:
        """The validated checkout input a plugin received (or None)."""
        return self.extensions.get(plugin)


StepFn = Callable[["Draft"], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class PriceStep:
    """A pricing step a plugin runs in ``stage``, ordered within it by ``priority``."""

    stage: Stage
    apply: StepFn
    priority: int = 100


class Adjustment(msgspec.Struct, frozen=True):
    """A change to the price: negative for discounts, positive for fees.

    ``lines`` maps line index to its share (the shares sum to ``amount``); fees have none.
    """

    source: str
    stage: int
    label: str
    amount: int
    lines: dict[int, int] = msgspec.field(default_factory=dict)
    kind: str = "discount"


class Hint(msgspec.Struct, frozen=True):
    """A message for the shopper (a next tier to reach: "再买¥23.00可减¥30"); ``ref`` names
    what it is about so a frontend can act on it (a usable coupon's ID), ``amount`` is what
    taking it up would save, in minor units."""

    source: str
    message: str
    ref: str | None = None
    amount: int | None = None


class QuoteLine(msgspec.Struct, frozen=True):
    """A priced line: ``amount`` is what the line pays after every discount; on a gift
    line (``gift`` names the plugin) ``list_price`` is what the gift is worth."""

    index: int
    sku_id: int
    product_id: int
    product_name: str
    specs: dict[str, str]
    quantity: int
    list_price: int
    unit_price: int
    discount: int
    amount: int
    points: int = 0
    activity: ActivityRef | None = None
    gift: str | None = None


class Quote(msgspec.Struct, frozen=True):
    """A complete quote. ``hash`` lets placeOrder detect a price the client did not see.

    ``subtotal`` is what the shopper's own lines cost at list price and ``discount`` what
    was taken off them; gift lines cost 0 and are in neither.
    """

    currency: str
    lines: list[QuoteLine]
    adjustments: list[Adjustment]
    subtotal: int
    discount: int
    fees: int
    total: int
    points_used: int
    hints: list[Hint]
    hash: str = ""


@dataclass(slots=True)
class DraftLine:
    """A line being priced: ``amount`` falls as discounts are applied, never below 0."""

    line: CheckoutLine
    unit_price: int
    amount: int
    activity_source: str | None = None
    exclusive: bool = False
    gift: str | None = None
    points: int = 0
    offers: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def index(self) -> int:
        """The line's position in the request."""
        return self.line.index


class Draft:
    """The quote under construction that steps read and adjust.

    Methods record who did what: the current step's plugin is the source of every
    adjustment it makes.
    """

    def __init__(self, checkout: CheckoutContext) -> None:
        self.checkout = checkout
        self.lines = [
            DraftLine(line=ln, unit_price=ln.list_price, amount=ln.list_price * ln.quantity)
            for ln in checkout.lines
        ]
        self.adjustments: list[Adjustment] = []
        self.hints: list[Hint] = []
        self.points_used = 0
        self._waived: dict[str, str] = {}
        self.source = ""
        self.stage = Stage.ACTIVITY

    def eligible(self) -> list[DraftLine]:
        """Lines open to member prices, promotions, coupons: not exclusive activity lines."""
        return [ln for ln in self.lines if not ln.exclusive]

    @property
    def amount(self) -> int:
        """What the lines currently total."""
        return sum(ln.amount for ln in self.lines)

    def _require(self, *stages: Stage) -> None:
        if self.stage not in stages:
            names = "/".join(s.name for s in stages)
            raise RuntimeError(f"{self.source}: only {names} steps may do this")

    def set_activity_price(
        self, line: DraftLine, unit_price: int, label: str, *, exclusive: bool = True
    ) -> None:
        """Give a line its activity price (seckill, group buy); one activity per line."""
        self._require(Stage.ACTIVITY)
        if line.activity_source is not None:
            raise RuntimeError(f"line {line.index} already has an activity price")
        if not 0 <= unit_price <= line.unit_price:
            raise ValueError("an activity price must be between 0 and the list price")
        delta = (unit_price - line.unit_price) * line.line.quantity
        line.unit_price = unit_price
        line.amount += delta
        line.activity_source = self.source
        line.exclusive = exclusive
        self.adjustments.append(
            Adjustment(self.source, self.stage, label, delta, {line.index: delta})
        )

    def offer_price(self, line: DraftLine, unit_price: int, label: str) -> None:
        """Offer a member or limited-time price; the lowest offer per line wins."""
        self._require(Stage.MEMBER_PRICE)
        if line.exclusive:
            return
        if unit_price < line.unit_price:
            line.offers.append((unit_price, self.source, label))

    def _settle_offers(self) -> None:
        for ln in self.lines:
            if not ln.offers:
                continue
            unit_price, source, label = min(ln.offers)
            delta = (unit_price - ln.unit_price) * ln.line.quantity
            ln.unit_price = unit_price
            ln.amount += delta
            self.adjustments.append(
                Adjustment(source, Stage.MEMBER_PRICE, label, delta, {ln.index: delta})
            )
            ln.offers.clear()

    def discount(self, amount: int, lines: list[DraftLine], label: str) -> int:
        """Take ``amount`` off ``lines``, apportioned by their amounts; returns what applied.

        The discount is capped at what the lines still cost, so no line goes below zero.
        """
        self._require(Stage.PROMOTION, Stage.COUPON, Stage.POINTS)
        if amount < 0:
            raise ValueError("a discount is a positive amount")
        amount = min(amount, sum(ln.amount for ln in lines))
        if amount == 0:
            return 0
        shares = apportion(amount, [ln.amount for ln in lines])
        for ln, share in zip(lines, shares, strict=True):
            ln.amount -= share
        self.adjustments.append(
            Adjustment(
                self.source,
                self.stage,
                label,
                -amount,
                {ln.index: -s for ln, s in zip(lines, shares, strict=True) if s},
            )
        )
        return amount

    def add_gift(self, sku: SkuSummary, quantity: int, label: str) -> DraftLine | None:
        """Add ``quantity`` of ``sku`` as a free line (a promotion's gift); None when the SKU
        is not on sale or its stock does not cover the cart's units of it as well.

        The line is priced 0 and closed to later steps; placeOrder takes its stock like any
        line's. Its ``list_price`` says what it is worth, outside the subtotal and the
        discount (which are about the shopper's own lines); a ``gift`` adjustment of 0
        names the promotion that gave it.
        """
        self._require(Stage.PROMOTION)
        if quantity < 1:
            raise ValueError("a gift is at least one unit")
        wanted = quantity + sum(ln.line.quantity for ln in self.lines if ln.line.sku_id == sku.id)
        if not sku.published or wanted > sku.stock:
            return None
        line = CheckoutLine(
            index=len(self.lines),
            sku_id=sku.id,
            product_id=sku.product_id,
            product_name=sku.product_name,
            category_id=sku.category_id,
            specs=sku.specs,
            quantity=quantity,
            list_price=sku.price,
            stock=sku.stock,
            weight_grams=sku.weight_grams,
            activity=None,
            shipping_template_id=sku.shipping_template_id,
            tags=sku.tags,
            category_parent_id=sku.category_parent_id,
        )
        gift = DraftLine(line=line, unit_price=0, amount=0, exclusive=True, gift=self.source)
        self.lines.append(gift)
        self.adjustments.append(
            Adjustment(self.source, self.stage, label, 0, {line.index: 0}, kind="gift")
        )
        return gift

    def waive_fee(self, kind: str, label: str) -> None:
        """Waive every fee of ``kind`` (free shipping from a promotion tier)."""
        self._waived.setdefault(kind, label)

    def add_fee(self, kind: str, amount: int, label: str) -> None:
        """Charge a fee (shipping, pickup); cancelled out if a plugin waived ``kind``."""
        self._require(Stage.FEES)
        if amount <= 0:
            return
        self.adjustments.append(
            Adjustment(self.source, self.stage, label, amount, kind="fee:" + kind)
        )
        waiver = self._waived.get(kind)
        if waiver is not None:
            self.adjustments.append(
                Adjustment(self.source, self.stage, waiver, -amount, kind="fee:" + kind)
            )

    def hint(self, message: str, *, ref: str | None = None, amount: int | None = None) -> None:
        """Tell the shopper something (a next tier, a warning, a coupon they could use)."""
        self.hints.append(Hint(self.source, message, ref, amount))

    def finish(self, currency: str) -> Quote:
        """Freeze into a :class:`Quote` with its hash."""
        fees = sum(a.amount for a in self.adjustments if a.kind.startswith("fee:"))
        lines = [
            QuoteLine(
                index=ln.index,
                sku_id=ln.line.sku_id,
                product_id=ln.line.product_id,
                product_name=ln.line.product_name,
                specs=ln.line.specs,
                quantity=ln.line.quantity,
                list_price=ln.line.list_price,
                unit_price=ln.unit_price,
                discount=ln.unit_price * ln.line.quantity - ln.amount,
                amount=ln.amount,
                points=ln.points,
                activity=ln.line.activity if ln.activity_source else None,
                gift=ln.gift,
            )
            for ln in self.lines
        ]
        subtotal = sum(ln.list_price * ln.quantity for ln in lines if ln.gift is None)
        total = sum(ln.amount for ln in lines) + fees
        quote = Quote(
            currency=currency,
            lines=lines,
            adjustments=self.adjustments,
            subtotal=subtotal,
            discount=subtotal - sum(ln.amount for ln in lines),
            fees=fees,
            total=max(total, 0),
            points_used=self.points_used,
            hints=self.hints,
        )
        digest = hashlib.sha256(msgspec.json.encode(quote)).hexdigest()
        return msgspec.structs.replace(quote, hash=digest)


def price_steps(tenant: TenantInfo) -> list[tuple[str, PriceStep]]:
    """The tenant's steps in run order: stage, priority, then plugin name."""
    cache = tenant.hooks.memo
    steps: list[tuple[str, PriceStep]] | None = cache.get("price_steps")
    if steps is None:
        steps = [
            (plugin, step)
            for plugin, result in tenant.hooks.collect("yutang_price_steps")
            for step in result
        ]
        steps.sort(key=lambda ps: (ps[1].stage, ps[1].priority, ps[0]))
        cache["price_steps"] = steps
    return steps


async def run_pipeline(checkout: CheckoutContext) -> Quote:
    """Run every step of the tenant's plugins over the checkout; pure (reads only)."""
    draft = Draft(checkout)
    steps = price_steps(checkout.tenant)
    for stage in Stage:
        for plugin, step in steps:
            if step.stage != stage:
                continue
            draft.source, draft.stage = plugin, stage
            result = step.apply(draft)
            if inspect.isawaitable(result):
                await result
        if stage == Stage.ACTIVITY:
            for ln in draft.lines:
                if ln.line.activity is not None and ln.activity_source is None:
                    raise DomainError(
                        "ACTIVITY_NOT_APPLICABLE",
                        f"activity {ln.line.activity.ref!r} does not apply to this SKU now",
                        f"lines[{ln.index}].activity",
                    )
        if stage == Stage.MEMBER_PRICE:
            draft.source, draft.stage = "", stage
            draft._settle_offers()
    return draft.finish(checkout.tenant.currency)
