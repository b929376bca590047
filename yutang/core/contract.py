"""The plugin contract: every type a hook signature or an owned object's method names.

This module is low-level on purpose: it imports only the standard library, msgspec and
four leaf modules of the core (codes, errors, money, regions), so any part of the core can
import it and nothing here can form an import cycle. ``yutang.api`` re-exports it.

Three kinds of objects a plugin registers are *owned*: the core calls only their owner.

- :class:`Activity` — a kind of line activity (seckill, group buy, bargain). A checkout
  line names it with ``activity: {plugin: <kind>, ref}``; the core resolves the kind's
  lines once per checkout into the plugin's own typed *claim*, keeps it, and hands it to
  every later step of the lifecycle.
- :class:`FulfilmentMethod` — how an order reaches the member (delivery, pickup): its
  fee, whether it needs an address, what it reserves, its hold and its hand-over.
- :class:`RewardKind` — a benefit one plugin asks for and another provides (points,
  coupons), looked up by ``kind``.

Plugins that are not activities hand state from their price steps to their reservation
through :meth:`Draft.keep`, never through module globals or context variables.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from yutang.core.codes import CORE
from yutang.core.errors import ConfigError, DomainError
from yutang.core.money import apportion
from yutang.core.regions import Destination

S = TypeVar("S", bound=msgspec.Struct)
ClaimT = TypeVar("ClaimT")
ChoiceT = TypeVar("ChoiceT")


ROLES = ("owner", "manager", "clerk")
"""The built-in staff roles of a tenant. An owner holds every permission; a manager and a
clerk hold what each permission grants them by default, a clerk only at their own stores.
An owner may add roles of their own (``core.roles``)."""


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission the core or a plugin declares, ``<plugin>.<what>``, and the built-in
    roles holding it by default.

    ``roles`` are among manager and clerk (``owner`` is accepted and changes nothing:
    owners and platform operators hold every permission). ``store_scoped`` says it acts on
    objects that belong to a store (a pickup order): a role bound to its stores, as a clerk
    is, exercises it there only. A permission that is not ``grantable`` is the owner's
    alone: no role an owner makes can hold it (managing staff, reading the audit log).
    """

    name: str
    description: str
    roles: tuple[str, ...] = ("owner", "manager")
    store_scoped: bool = False
    grantable: bool = True


class ErrorCodes:
    """The error codes a plugin declares, each ``<PLUGIN>_<WHAT>`` with what it means.

    Declared codes are listed by ``yutang plugins`` and checked twice: the namespace here
    and, at registration, that the owner is the registered plugin and that no two plugins
    declare one code. :meth:`error` raises a declared code or one of the core's
    (``yutang.core.codes.CORE``: ``NOT_OPEN``, ``SOLD_OUT``, ``LIMIT_REACHED``, ...), and
    refuses any other, so every code a client can see is declared somewhere. A plugin
    declares only what is its own: a gesture the core has a code for uses that code.
    """

    def __init__(self, plugin: str, codes: Mapping[str, str]) -> None:
        pattern = re.escape(plugin.upper()) + r"_[A-Z0-9_]*[A-Z0-9]"
        for code, meaning in codes.items():
            if not re.fullmatch(pattern, code):
                raise ConfigError(
                    f"plugin {plugin!r}: error code {code!r} must look like {plugin.upper()}_WHAT"
                )
            if not meaning.strip():
                raise ConfigError(f"plugin {plugin!r}: error code {code!r} needs a meaning")
        self.plugin = plugin
        self.codes = dict(codes)

    def error(self, code: str, message: str, field: str | None = None) -> DomainError:
        """A :class:`DomainError` with a declared or core ``code`` (else a bug: KeyError)."""
        if code not in self.codes and code not in CORE:
            raise KeyError(f"plugin {self.plugin!r} did not declare the error code {code!r}")
        return DomainError(code, message, field)


class Event(msgspec.Struct, frozen=True):
    """Something that happened and committed: an order paid, a member registered.

    Delivered at least once by the job worker after the transaction that caused it
    committed; handlers must be idempotent (``id`` is unique per event and recipient).
    """

    id: int
    name: str
    tenant_id: int
    occurred_at: datetime
    order_id: int | None = None
    member_id: int | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Reward(msgspec.Struct, frozen=True):
    """A benefit one plugin asks for and whichever plugin provides ``kind`` grants.

    ``reference`` makes the grant idempotent (e.g. ``"order:42:tier:2"``); granting twice
    with the same reference grants once.
    """

    kind: str
    amount: int = 0
    item: str = ""
    reference: str = ""
    source: str = ""
    label: str = ""


JobHandler = Callable[[Any, dict[str, Any]], Awaitable[None] | None]
"""A durable job: called with (tenant info or None, payload) inside the job's transaction."""

F_ = TypeVar("F_", bound=Callable[..., Any])


def outside_transaction(handler: F_) -> F_:
    """Mark a job handler that must not run inside a database transaction (it calls an
    outside service, such as a payment gateway, and is idempotent on its own)."""
    setattr(handler, "yutang_outside_transaction", True)  # noqa: B010
    return handler


@dataclass(frozen=True, slots=True)
class NodeType:
    """A type the storefront's ``node(id:)`` resolves, so frontend caches refetch it.

    ``type`` is the strawberry type (it implements ``api.Node``); ``resolve(info, pk)``
    gets the primary key of a global ID tagged ``tag`` (default: the GraphQL type's name)
    and returns the object, or None where the type's own field would not show it to this
    caller (another tenant's, another member's, not published, not running): ``node``
    never reveals more than the direct field does.
    """

    type: type
    resolve: Callable[[Any, int], Awaitable[Any]]
    tag: str | None = None


class GraphQLContribution(msgspec.Struct):
    """What a plugin adds to a GraphQL schema (storefront or admin).

    ``query`` and ``mutation`` are strawberry fields added to the root types; ``extend``
    maps a core type name (``"Product"``, ``"Order"``) to fields added to it; ``types``
    lists types reachable only through interfaces or unions; ``nodes`` (storefront only)
    registers every type with an ``id`` the contribution shows, for ``node(id:)``.
    """

    query: list[Any] = msgspec.field(default_factory=list)
    mutation: list[Any] = msgspec.field(default_factory=list)
    extend: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    types: list[Any] = msgspec.field(default_factory=list)
    nodes: list[NodeType] = msgspec.field(default_factory=list)


class SharedResources(Protocol):
    """What the core shares with every plugin of a deployment (``yutang.core.resources``)."""

    def redis(self) -> Any | None:
        """The deployment's Redis client, or None without one."""
        ...

    def cache(
        self, tenant_id: int, plugin: str, name: str, *, maxsize: int, ttl: float | None
    ) -> MutableMapping[Hashable, Any]:
        """The bounded cache of ``(tenant, plugin, name)``."""
        ...


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """A tenant as one request sees it; immutable, cached per settings version.

    ``hooks`` is the core's plugin set for the tenant, opaque here (the core reads it
    through ``yutang.core.plugins.hooks_of``) so this module names nothing above it;
    plugins reach the shared resources through :meth:`redis` and :meth:`cache`.
    ``webhook_events`` are the webhook event types (``order.paid``) some active
    subscription of the tenant wants.
    """

    id: int
    slug: str
    name: str
    time_zone: str
    currency: str
    status: str
    profile: str
    settings_version: int
    hooks: object
    plugins: frozenset[str]
    settings: dict[str, Any]
    resources: SharedResources
    webhook_events: frozenset[str] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        """The tenant's time zone; merchants' schedules are in it."""
        return ZoneInfo(self.time_zone)

    def setting(self, plugin: str, schema: type[S]) -> S:
        """This tenant's validated settings Struct for ``plugin``."""
        value = self.settings.get(plugin)
        if value is None:
            return schema()
        if not isinstance(value, schema):
            raise TypeError(f"settings of {plugin!r} are {type(value).__name__}")
        return value

    def redis(self) -> Any | None:
        """The deployment's Redis client (``YUTANG_REDIS_URL``, redis-py's asyncio client,
        ``decode_responses=True``), or None when the deployment runs without Redis. Prefix
        every key with ``<plugin>:<tenant id>:``."""
        return self.resources.redis()

    def cache(
        self, plugin: str, name: str, *, maxsize: int, ttl: float | None = None
    ) -> MutableMapping[Hashable, Any]:
        """A bounded in-process cache of this tenant's, for ``plugin`` (its own name) and
        ``name``: at most ``maxsize`` entries, least recently used out first, each expiring
        ``ttl`` seconds after it was set (never without). The same cache for the same
        names; per process, so never the only copy of anything."""
        return self.resources.cache(self.id, plugin, name, maxsize=maxsize, ttl=ttl)


class SkuSummary(msgspec.Struct, frozen=True):
    """A SKU as a plugin may read it: its product, list price, stock and whether it is on
    sale; ``category_parent_id`` is the parent of its product's category; ``virtual``
    goods ship nothing."""

    id: int
    product_id: int
    product_name: str
    price: int
    stock: int
    published: bool
    category_id: int | None = None
    specs: dict[str, str] = msgspec.field(default_factory=dict)
    weight_grams: int = 0
    shipping_template_id: int | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    category_parent_id: int | None = None
    virtual: bool = False


class DemoShop(msgspec.Struct, frozen=True):
    """The demo tenant's core data, handed to each plugin's ``yutang_demo_data``: its
    SKUs on sale (grouped by product, in catalogue order), its stores, the plugins it
    enables and the moment the demo is loaded."""

    skus: tuple[SkuSummary, ...]
    store_ids: tuple[int, ...]
    plugins: tuple[str, ...]
    now: datetime

    def skus_for(self, plugin: str) -> list[SkuSummary]:
        """The SKUs of one product set aside for ``plugin``: a product of its own while
        there are as many products as plugins, so two plugins' activities do not share
        a product."""
        products = list(dict.fromkeys(s.product_id for s in self.skus))
        if not products:
            return []
        ranked = sorted(self.plugins)
        at = ranked.index(plugin) if plugin in ranked else 0
        chosen = products[at % len(products)]
        return [s for s in self.skus if s.product_id == chosen]


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
    virtual: bool = False


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


EXCLUSIVE_STAGES = frozenset({Stage.MEMBER_PRICE, Stage.PROMOTION, Stage.COUPON})
"""The stages an exclusive activity line takes no part in."""


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


class Instalment(msgspec.Struct, frozen=True):
    """One part of an order paid in parts (a presale's deposit, then its balance).

    The first part is due at once, within the order's payment deadline, so it leaves
    ``opens_at`` and ``due_at`` unset; each later part sets the window it may be paid in.
    ``amount`` is in minor units.
    """

    label: str
    amount: int
    opens_at: datetime | None = None
    due_at: datetime | None = None


class Quote(msgspec.Struct, frozen=True):
    """A complete quote. ``hash`` lets placeOrder detect a price the client did not see.

    ``subtotal`` is what the shopper's own lines cost at list price and ``discount`` what
    was taken off them; gift lines cost 0 and are in neither. ``instalments`` is the
    payment plan when an activity splits ``total`` into parts, else empty.
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
    instalments: list[Instalment] = msgspec.field(default_factory=list)
    hash: str = ""

    def sealed(self) -> Quote:
        """This quote with its hash over everything else."""
        bare = msgspec.structs.replace(self, hash="")
        return msgspec.structs.replace(
            self, hash=hashlib.sha256(msgspec.json.encode(bare)).hexdigest()
        )


@dataclass(slots=True)
class DraftLine:
    """A line being priced: ``amount`` falls as discounts are applied, never below 0."""

    line: CheckoutLine
    unit_price: int
    amount: int
    activity_source: str | None = None
    exclusive: bool = False
    closed: frozenset[Stage] = frozenset()
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
        self.kept: dict[str, Any] = {}
        self.source = ""
        self.stage = Stage.ACTIVITY

    def eligible(self) -> list[DraftLine]:
        """Lines open to the current stage: in member prices, promotions and coupons no
        exclusive activity line; in any stage no line its activity closed to it (points
        on a presale deposit)."""
        shut = self.stage in EXCLUSIVE_STAGES
        return [
            ln for ln in self.lines if not (shut and ln.exclusive) and self.stage not in ln.closed
        ]

    @property
    def amount(self) -> int:
        """What the lines currently total."""
        return sum(ln.amount for ln in self.lines)

    def _require(self, *stages: Stage) -> None:
        if self.stage not in stages:
            names = "/".join(s.name for s in stages)
            raise RuntimeError(f"{self.source}: only {names} steps may do this")

    def set_activity_price(
        self,
        line: DraftLine,
        unit_price: int,
        label: str,
        *,
        exclusive: bool = True,
        closed: frozenset[Stage] = frozenset(),
    ) -> None:
        """Give a line its activity price (seckill, group buy); one activity per line.

        ``exclusive`` keeps member prices, promotions and coupons off the line; ``closed``
        names further stages the line takes no part in (``{Stage.POINTS}``: no points pay
        for a deposit)."""
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
        line.closed = closed
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
            virtual=sku.virtual,
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

    def keep(self, state: Any) -> None:
        """Keep ``state`` for this plugin's ``yutang_reserve`` of the order priced here (the
        points a promotion earned): one value per plugin, a later step's replacing it."""
        self.kept[self.source] = state

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
        return quote.sealed()


class VerificationProvider(Protocol):
    """Delivers one-time codes to phones. Returned by ``yutang_verification_providers``
    and chosen per tenant by the core setting ``verification_provider``."""

    name: str

    async def send(self, tenant: TenantInfo, phone: str, code: str, purpose: str) -> None:
        """Deliver ``code`` to ``phone`` (``purpose`` picks the message); raise
        DomainError if it cannot be sent."""
        ...


class ReleasedLine(msgspec.Struct, frozen=True):
    """Units of an order line going back (its order cancelled, or a refund of them)."""

    line_id: int
    sku_id: int
    quantity: int
    activity: ActivityRef | None = None


class Activity(Protocol[ClaimT]):
    """A kind of line activity, registered by ``yutang_activities``; the core calls it for
    the lines whose ``activity.plugin`` is its ``kind`` and for their orders only.

    Subclass it (``class Seckill(api.Activity[list[Claim]])``) and implement
    :meth:`resolve`, :meth:`price`, :meth:`reserve` and :meth:`release`; the other
    methods have defaults that do nothing. ``ClaimT`` is the plugin's own type for what
    :meth:`resolve` found. No method may keep state between calls: what one step learns
    travels in the claim.
    """

    kind: str

    async def resolve(self, checkout: CheckoutContext, lines: list[CheckoutLine]) -> ClaimT:
        """Read and check this kind's ``lines`` of a quote or placeOrder, once per checkout;
        the claim returned is handed to every later method. Raise DomainError naming
        ``lines[{i}]...`` to refuse. In placeOrder it runs in the order's transaction.

        Kind: in-transaction (may veto).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def resolve(self, checkout, lines):
                    prices = {ln.index: ln.list_price // 2 for ln in lines}  # read your rows here
                    return prices
        """
        ...

    async def admit(
        self, tenant: TenantInfo, member_id: int, lines: Mapping[int, LineInput]
    ) -> None:
        """Refuse a placeOrder before its transaction from what is known without one (a
        sold-out seckill item), given this kind's lines as sent, by index. Refuse only what
        the transaction would refuse too, and write nothing. Default: admit everything.

        Kind: admission (before the transaction, may refuse).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def admit(self, tenant, member_id, lines):
                    for i, line in lines.items():
                        if line.quantity > 1:
                            field = f"lines[{i}].quantity"
                            raise api.DomainError("INVALID", "a bargain buys one unit", field)
        """
        return

    def price(self, draft: Draft, claim: ClaimT) -> None:
        """Stage ACTIVITY: give this kind's lines their price with
        :meth:`Draft.set_activity_price`. Pure: no I/O (read in :meth:`resolve`).

        Kind: pure (stage ACTIVITY, no I/O).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                def price(self, draft, claim):
                    for index, price in claim.items():
                        draft.set_activity_price(draft.lines[index], price, "砍价价")
        """
        ...

    def payment_deadline(self, checkout: CheckoutContext, claim: ClaimT) -> datetime | None:
        """An earlier payment deadline for the order, or None; the core takes the earliest
        of its own and every kind's. Default: None.

        Kind: in-transaction (pure).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                def payment_deadline(self, checkout, claim):
                    return checkout.now + timedelta(minutes=15)
        """
        return None

    def payment_plan(
        self, checkout: CheckoutContext, claim: ClaimT, total: int
    ) -> list[Instalment] | None:
        """Split the priced order's ``total`` into instalments paid one after another (a
        presale's deposit now, its balance in a later window), or None to be paid at once
        (the default). The amounts are positive and sum to ``total``; there are at least
        two; the first is due within the order's payment deadline (shorten that with
        :meth:`payment_deadline`), each later one in its own ``opens_at``–``due_at``
        window. The windows are part of the quote's hash: take them from your rows (a
        presale's balance window), never from ``checkout.now``, or every quote differs.
        Stock is taken once, when the order is placed. At most one kind of an order may
        have a plan. Pure: no I/O.

        Kind: pure (after pricing, no I/O).

        Example::

            from datetime import UTC, datetime

            BALANCE_OPENS = datetime(2026, 12, 12, tzinfo=UTC)  # read from your rows


            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                def payment_plan(self, checkout, claim, total):
                    closes = BALANCE_OPENS + timedelta(days=2)
                    return [
                        api.Instalment("定金 deposit", 1000),
                        api.Instalment("尾款 balance", total - 1000, BALANCE_OPENS, closes),
                    ]
        """
        return None

    async def reserve(self, checkout: CheckoutContext, claim: ClaimT, order_id: int) -> None:
        """In placeOrder's transaction, after the core took SKU stock: take this kind's own
        stock, quota or seats with conditional UPDATEs; raise DomainError to refuse.

        Kind: in-transaction (may veto).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def reserve(self, checkout, claim, order_id):
                    pass  # a conditional UPDATE per line; raise api.DomainError if it took none
        """
        ...

    async def release(
        self, tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
    ) -> None:
        """Give back what :meth:`reserve` took for ``lines`` (this kind's, with the units
        going back); ``reason`` is ``"cancelled"``, ``"refunded"`` or ``"forfeited"``
        (an instalment of its plan went unpaid). Called in the
        cancel's or refund's transaction, even after the tenant disabled the plugin.

        Kind: in-transaction (may veto).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def release(self, tenant, order_id, lines, reason):
                    units = sum(ln.quantity for ln in lines)  # give back what reserve took
        """
        ...

    async def accept_payment(self, tenant: TenantInfo, order_id: int, paid_at: datetime) -> None:
        """In the transaction that marks the order paid: what must hold the moment the
        payment commits (a group-buy leader's team opens). Default: nothing.

        Kind: in-transaction (may veto).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def accept_payment(self, tenant, order_id, paid_at):
                    pass  # what must be true the moment the payment commits
        """
        return

    async def claim_payment(self, tenant: TenantInfo, order_id: int, payment_id: int) -> bool:
        """A payment was captured for this order after it was cancelled or expired; True
        takes responsibility for it, False lets the core refund it in full (the default).

        Kind: in-transaction (may veto).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def claim_payment(self, tenant, order_id, payment_id):
                    return False  # the core refunds the late payment in full
        """
        return False

    async def hold(self, tenant: TenantInfo, order_id: int) -> str | None:
        """A reason the order may not be shipped or picked up now (a group-buy team not yet
        succeeded), or None (the default).

        Kind: in-transaction (may veto).

        Example::

            class Bargain(api.Activity[dict[int, int]]):
                kind = "bargain"

                async def hold(self, tenant, order_id):
                    return None  # or a reason the order may not ship yet
        """
        return None


class FulfilmentMethod(Protocol[ChoiceT]):
    """How an order reaches the member, registered by ``yutang_fulfilment_methods``; a
    checkout picks one by ``name`` (``fulfilment``), and the core calls only that one.

    ``delivers`` says the order goes to an address (the checkout keeps the shopper's);
    ``virtual`` that the method takes goods that ship nothing, and only those (a checkout
    of virtual products picks the core's ``virtual`` method unless it names another).
    :meth:`resolve` checks the method's own input once per checkout into a choice handed
    to every later method. A method hands its orders over itself with
    ``api.fulfil_order(tenant, order_id, by=self)``, which skips its own :meth:`hold`, and
    ``api.complete_order``; whatever waits for completion (the after-sale window,
    commissions, points) then follows as for shipped goods.
    """

    name: str
    label: str
    delivers: bool = False
    virtual: bool = False

    async def resolve(self, checkout: CheckoutContext) -> ChoiceT:
        """Read and check the method's input (a pickup store and slot); raise DomainError
        naming the field to refuse. In placeOrder it runs in the order's transaction.

        Kind: in-transaction (may veto).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                async def resolve(self, checkout):
                    return "locker-7"  # read and check the method's input here
        """
        ...

    def needs_address(self, checkout: CheckoutContext, choice: ChoiceT) -> bool:
        """Whether placing the order needs a destination. Default: False.

        Kind: in-transaction (pure).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                def needs_address(self, checkout, choice):
                    return False
        """
        return False

    def store_of(self, choice: ChoiceT) -> int | None:
        """The store the order belongs to, whose staff act on it (a pickup store); a
        role bound to its stores reaches no order of None (the shop's). Default: None.

        Kind: in-transaction (pure).

        Example::

            class Locker(api.FulfilmentMethod[int]):
                name, label = "locker", "快递柜"

                def store_of(self, choice):
                    return choice  # the store whose locker it is
        """
        return None

    async def fee(self, draft: Draft, choice: ChoiceT) -> None:
        """Stage FEES, before the fee steps: charge what the method costs with
        :meth:`Draft.add_fee`. It may read, never write. Default: free.

        Kind: pure (stage FEES, reads only).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                async def fee(self, draft, choice):
                    draft.add_fee("locker", 200, "快递柜")
        """
        return

    async def reserve(self, checkout: CheckoutContext, choice: ChoiceT, order_id: int) -> None:
        """In placeOrder's transaction: take the method's capacity (a pickup slot).

        Kind: in-transaction (may veto).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                async def reserve(self, checkout, choice, order_id):
                    pass  # take a compartment with a conditional UPDATE
        """
        return

    async def release(
        self, tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
    ) -> None:
        """Give back what :meth:`reserve` took, when lines of the order go back.

        Kind: in-transaction (may veto).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                async def release(self, tenant, order_id, lines, reason):
                    pass  # free the compartment
        """
        return

    async def paid(self, tenant: TenantInfo, order_id: int) -> None:
        """In the transaction that marks the order paid: what the method starts then (the
        core's ``virtual`` method schedules the hand-over at once) or attaches to the paid
        order (pickup issues its code), so the answer that says the order is paid — a
        ``payOrder`` captured at once — already shows it.

        Kind: in-transaction (may veto).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                async def paid(self, tenant, order_id):
                    pass  # book a compartment for the courier
        """
        return

    async def hold(self, tenant: TenantInfo, order_id: int) -> str | None:
        """A reason staff may not mark the order fulfilled through the core (a pickup order
        is handed over by its code), or None. Not asked when the method hands over.

        Kind: in-transaction (may veto).

        Example::

            class Locker(api.FulfilmentMethod[str]):
                name, label = "locker", "快递柜"

                async def hold(self, tenant, order_id):
                    return "a locker order is fulfilled when the courier drops it off"
        """
        return None


class RewardKind(Protocol):
    """What grants and revokes rewards of one ``kind`` (``points``, ``coupon``), registered
    by ``yutang_reward_kinds``. Both run in the caller's transaction and are idempotent
    per ``reward.reference``."""

    kind: str

    async def grant(self, tenant: TenantInfo, member_id: int, reward: Reward) -> None:
        """Give the member the reward (once per reference).

        Kind: in-transaction (may veto).

        Example::

            class StampReward(api.RewardKind):
                kind = "stamp"

                async def grant(self, tenant, member_id, reward):
                    pass  # once per reward.reference
        """
        ...

    async def revoke(self, tenant: TenantInfo, member_id: int, reward: Reward) -> None:
        """Take back what a grant with the same reference gave, as far as it is unused.

        Kind: in-transaction (may veto).

        Example::

            class StampReward(api.RewardKind):
                kind = "stamp"

                async def revoke(self, tenant, member_id, reward):
                    pass  # take back what the grant with reward.reference gave
        """
        ...
