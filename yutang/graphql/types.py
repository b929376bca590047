"""The core's GraphQL types. Scalar fields are plain attributes (the executor's fast
path); anything that needs I/O is built by the parent resolver or loaded in batches."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, Generic, TypeVar, overload

import strawberry
from tortoise.models import Model
from tortoise.queryset import QuerySet

from yutang.core.errors import DomainError, TooManyAttempts
from yutang.core.money import format_money
from yutang.graphql.ids import decode_tagged, to_global
from yutang.graphql.scalars import MinorUnits
from yutang.graphql.statuses import InstalmentStatus

T = TypeVar("T")
M = TypeVar("M", bound=Model)

MAX_PAGE = 100


@strawberry.type(description="An amount of money; `amount` in minor units.")
class Money:
    amount: MinorUnits
    currency: str
    formatted: str

    @classmethod
    def of(cls, amount: int, currency: str) -> Money:
        """Money with its display form."""
        return cls(
            amount=MinorUnits(amount), currency=currency, formatted=format_money(amount, currency)
        )


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def cursor_of(pk: int) -> str:
    """An opaque cursor for keyset pagination by primary key."""
    return base64.b64encode(f"c:{pk}".encode()).decode()


def after_pk(cursor: str | None) -> int | None:
    """The primary key a cursor points after; INVALID naming ``after`` if malformed."""
    if cursor is None:
        return None
    decoded = decode_tagged(cursor)
    if decoded is None or decoded[0] != "c":
        raise DomainError("INVALID", "not a valid cursor", "after")
    return decoded[1]


def connection(nodes: list[T], pks: list[int], has_next: bool, had_after: bool) -> Connection[T]:
    """A connection over one page of nodes in key order."""
    edges = [Edge(cursor=cursor_of(pk), node=n) for n, pk in zip(nodes, pks, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=had_after,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@overload
async def keyset_page(
    query: QuerySet[M],
    first: int,
    after: str | None,
    build: Callable[[list[M]], list[T] | Awaitable[list[T]]],
    *,
    newest_first: bool = True,
) -> Connection[T]: ...


@overload
async def keyset_page(
    query: QuerySet[M],
    first: int,
    after: str | None,
    build: Callable[[list[dict[str, Any]]], list[T] | Awaitable[list[T]]],
    *,
    newest_first: bool = True,
    values: Sequence[str],
) -> Connection[T]: ...


async def keyset_page(
    query: QuerySet[M],
    first: int,
    after: str | None,
    build: Callable[[list[Any]], list[T] | Awaitable[list[T]]],
    *,
    newest_first: bool = True,
    values: Sequence[str] | None = None,
) -> Connection[T]:
    """One page of ``query`` keyset-paginated on ``id``: newest (highest id) first, or
    oldest first with ``newest_first=False``. ``first`` is clamped to 0..MAX_PAGE and
    ``after`` is a cursor from an earlier page. ``build`` turns the page's rows into its
    nodes, in the same order (a list, or an awaitable of one); with ``values`` the rows
    are dicts of those fields (which must include ``id``) instead of model instances."""
    first = max(0, min(first, MAX_PAGE))
    start = after_pk(after)
    if start is not None:
        query = query.filter(id__lt=start) if newest_first else query.filter(id__gt=start)
    query = query.order_by("-id" if newest_first else "id").limit(first + 1)
    rows: list[Any] = await (query.values(*values) if values is not None else query)
    page = rows[:first]
    built = build(page)
    nodes = await built if isinstance(built, Awaitable) else built
    pks = [r["id"] for r in page] if values is not None else [r.id for r in page]
    return connection(nodes, pks, len(rows) > first, start is not None)


@strawberry.type(description="A problem with the input or the request the caller can act on.")
class UserError:
    code: str = strawberry.field(
        description="Typed in each schema as its ErrorCode enum (yutang.graphql.error_codes)."
    )
    field: str | None = strawberry.field(description="The input at fault, as a path.")
    message: str = strawberry.field(description="For people; do not parse it.")
    retry_after: int | None = strawberry.field(
        default=None, description="Seconds to wait before trying again (TOO_MANY_ATTEMPTS)."
    )

    @classmethod
    def of(cls, err: DomainError) -> UserError:
        """From a domain error."""
        retry_after = err.retry_after if isinstance(err, TooManyAttempts) else None
        return cls(code=err.code, field=err.field, message=err.message, retry_after=retry_after)


@strawberry.type
class Category(Node):
    name: str
    parent_id: strawberry.ID | None
    pk: strawberry.Private[int]


@strawberry.type
class Image:
    url: str
    position: int


@strawberry.type
class SpecOption:
    name: str
    value: str


@strawberry.type
class Sku(Node):
    specs: list[SpecOption]
    code: str
    price: Money
    stock: int
    weight_grams: int
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]


@strawberry.type(description="The lowest and highest list price of a product's SKUs.")
class PriceRange:
    min: Money
    max: Money


@strawberry.type
class Product(Node):
    name: str
    description: str
    published: bool
    virtual: bool = strawberry.field(
        description="Ships nothing (a deposit, an e-ticket, a service): no address, no fee."
    )
    spec_names: list[str]
    tags: list[str]
    category: Category | None
    images: list[Image]
    skus: list[Sku]
    price_range: PriceRange | None = strawberry.field(
        description="From the cheapest to the dearest SKU at list price, for a product card "
        "(¥58.00–¥99.00); null when it has no SKU. A member price, an activity price or a "
        "promotion is the quote's to apply, for one member and cart."
    )
    pk: strawberry.Private[int]


@strawberry.type
class ActivityRef:
    plugin: str
    ref: str


@strawberry.type
class AdjustmentShare:
    line: int
    amount: Money


@strawberry.type(description="One price change with the plugin that made it and its label.")
class Adjustment:
    source: str
    stage: int
    label: str
    kind: str
    amount: Money
    lines: list[AdjustmentShare]


@strawberry.type(
    description="A message for the shopper; `ref` and `amount` let a frontend act on it."
)
class Hint:
    source: str
    message: str
    ref: str | None = strawberry.field(
        default=None, description="What it is about (a usable coupon's ID), if anything."
    )
    amount: Money | None = strawberry.field(
        default=None, description="What taking it up would save."
    )


@strawberry.type
class QuoteLine:
    index: int
    sku_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str
    specs: list[SpecOption]
    quantity: int
    list_price: Money = strawberry.field(
        description="The unit's list price; on a gift line, what one unit of the gift is worth "
        "(gift lines cost 0 and are not in the quote's subtotal)."
    )
    unit_price: Money
    discount: Money
    amount: Money
    points: int
    activity: ActivityRef | None
    gift: str | None = strawberry.field(
        description="The plugin that added this line as a free gift, if it is one."
    )


@strawberry.type(
    description="A part of an order paid in parts (a presale's deposit, its balance). "
    "The first is due at once (by the order's payment deadline); each later one in its window."
)
class PlannedInstalment:
    label: str
    amount: Money
    opens_at: datetime | None = strawberry.field(description="None for the first: at once.")
    due_at: datetime | None = strawberry.field(
        description="None for the first: the order's payment deadline."
    )


@strawberry.type(description="A priced checkout. Send `hash` to placeOrder as `quoteHash`.")
class Quote:
    lines: list[QuoteLine]
    adjustments: list[Adjustment]
    hints: list[Hint]
    subtotal: Money = strawberry.field(
        description="What the shopper's own lines cost at list price (gift lines not included)."
    )
    discount: Money = strawberry.field(
        description="What discounts took off those lines: `subtotal` less their amounts."
    )
    fees: Money
    total: Money
    points_used: int
    instalments: list[PlannedInstalment] = strawberry.field(
        description="How `total` is paid when an activity splits it (empty: at once)."
    )
    hash: str


@strawberry.type(
    description="An instalment of an order paid in parts: PENDING, then PAID; "
    "CANCELLED or FORFEITED if the order ended first."
)
class Instalment:
    position: int
    label: str
    amount: Money
    opens_at: datetime
    due_at: datetime
    status: InstalmentStatus
    paid_at: datetime | None


@strawberry.type
class OrderLine(Node):
    sku_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str = strawberry.field(description="The product's name when it was ordered.")
    image_url: str | None = strawberry.field(
        description="The product's first image when it was ordered (null: it had none)."
    )
    specs: list[SpecOption]
    quantity: int
    unit_price: Money
    amount: Money
    points: int
    refunded_quantity: int
    refunded_amount: Money
    shipped_quantity: int
    activity: ActivityRef | None
    pk: strawberry.Private[int]


@strawberry.type(description="Where a delivery order goes, as it was placed.")
class DeliveryAddress:
    receiver: str
    phone: str
    province: str
    city: str
    district: str | None
    detail: str


@strawberry.type
class ShipmentLine:
    line_id: strawberry.ID
    quantity: int


@strawberry.type(description="A parcel handed to a carrier.")
class Shipment(Node):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    lines: list[ShipmentLine]


@strawberry.enum(description="A member's gender, as they give it.")
class Gender(Enum):
    UNKNOWN = "unknown"
    MALE = "male"
    FEMALE = "female"


@strawberry.type
class Member(Node):
    phone: str
    nickname: str
    avatar_url: str | None
    birthday: date | None
    gender: Gender
    region: str | None = strawberry.field(description="A 6-digit region code, like 330106.")
    tags: list[str]
    points: int
    paid_spend: Money
    level: str | None
    created_at: datetime
    pk: strawberry.Private[int]


def specs_of(specs: dict[str, str]) -> list[SpecOption]:
    """Spec options in a stable order."""
    return [SpecOption(name=k, value=v) for k, v in specs.items()]


def gid(type_name: str, pk: int) -> strawberry.ID:
    """A global ID typed for strawberry."""
    return strawberry.ID(to_global(type_name, pk))
