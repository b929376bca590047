"""The bare baselines: litestar + msgspec endpoints doing a request's database work by hand.

``raw`` talks to the driver (asyncpg, or aiosqlite behind one lock as tortoise does) with
hand-written SQL; ``tortoise`` does the same through the ORM, reading with ``.values()``.
They take the same request bodies as the GraphQL documents below and return the same JSON
shape, so the difference to Yutang is the engine's own cost. They skip what a benchmark
never exercises (idempotent replays, plugins, activity lines).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, Protocol

import msgspec
from litestar import Litestar, Request, get, post
from litestar.exceptions import NotFoundException

from yutang.core.money import format_money
from yutang.core.settings import AppSettings

PRODUCT_LIST = """query ProductList {
  products(first: 20) {
    edges { node {
      id name images { url position }
      skus { id specs { name value } price { amount formatted } stock }
    } }
  }
}"""
QUOTE = """query Quote($lines: [LineInput!]!) {
  quote(input: {lines: $lines}) {
    quote { subtotal { amount } total { amount } hash lines { skuId quantity amount { amount } } }
    errors { code field message }
  }
}"""
PLACE_ORDER = """mutation Place($lines: [LineInput!]!, $key: String!) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key}) {
    order { id status total { amount } }
    errors { code field message }
  }
}"""
PAY_ORDER = """mutation Pay($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { id status paidAmount { amount } }
    paymentStatus
    errors { code field message }
  }
}"""
PAGE_SIZE = 20
PAYMENT_MINUTES = 30

_log = logging.getLogger("bench.rawdb")
_json = msgspec.json.Encoder()


# --- request and response shapes (field names as in the GraphQL documents) ---------------


class Line(msgspec.Struct, rename="camel"):
    sku_id: str
    quantity: int


class AnyRequest(msgspec.Struct):
    query: str
    variables: dict[str, Any] | None = None


class QuoteVariables(msgspec.Struct):
    lines: list[Line]


class QuoteRequest(msgspec.Struct):
    query: str
    variables: QuoteVariables


class PlaceVariables(msgspec.Struct):
    lines: list[Line]
    key: str


class PlaceRequest(msgspec.Struct):
    query: str
    variables: PlaceVariables


class PayVariables(msgspec.Struct):
    id: str
    key: str


class PayRequest(msgspec.Struct):
    query: str
    variables: PayVariables


class Amount(msgspec.Struct):
    amount: int


class Price(msgspec.Struct):
    amount: int
    formatted: str


class Image(msgspec.Struct):
    url: str
    position: int


class Spec(msgspec.Struct):
    name: str
    value: str


class SkuNode(msgspec.Struct):
    id: str
    specs: list[Spec]
    price: Price
    stock: int


class ProductNode(msgspec.Struct):
    id: str
    name: str
    images: list[Image]
    skus: list[SkuNode]


class Edge(msgspec.Struct):
    node: ProductNode


class Page(msgspec.Struct):
    edges: list[Edge]


class ProductsData(msgspec.Struct):
    products: Page


class ProductsBody(msgspec.Struct):
    data: ProductsData


class Error(msgspec.Struct):
    code: str
    field: str | None
    message: str


class QuoteLine(msgspec.Struct, rename="camel"):
    sku_id: str
    quantity: int
    amount: Amount


class QuoteOut(msgspec.Struct):
    subtotal: Amount
    total: Amount
    hash: str
    lines: list[QuoteLine]


class QuotePayload(msgspec.Struct):
    quote: QuoteOut | None
    errors: list[Error]


class QuoteData(msgspec.Struct):
    quote: QuotePayload


class QuoteBody(msgspec.Struct):
    data: QuoteData


class PlacedOrder(msgspec.Struct):
    id: str
    status: str
    total: Amount


class PlacePayload(msgspec.Struct):
    order: PlacedOrder | None
    errors: list[Error]


class PlaceData(msgspec.Struct, rename="camel"):
    place_order: PlacePayload


class PlaceBody(msgspec.Struct):
    data: PlaceData


class PaidOrder(msgspec.Struct, rename="camel"):
    id: str
    status: str
    paid_amount: Amount


class PayPayload(msgspec.Struct, rename="camel"):
    order: PaidOrder | None
    payment_status: str | None
    errors: list[Error]


class PayData(msgspec.Struct, rename="camel"):
    pay_order: PayPayload


class PayBody(msgspec.Struct):
    data: PayData


# --- what both stores return --------------------------------------------------------------


class TenantRow(NamedTuple):
    id: int
    currency: str
    status: str


class TokenRow(NamedTuple):
    kind: str
    subject_id: int
    tenant_id: int | None
    expires_at: datetime


class CartRow(NamedTuple):
    sku_id: int
    price: int
    stock: int
    specs: Any
    product_id: int
    name: str
    published: bool


ProductRows = tuple[
    list[tuple[int, str]],
    list[tuple[int, int, dict[str, str], int, int]],
    list[tuple[int, str, int]],
]


class Refused(Exception):
    """A request the shop refuses (sold out, unknown SKU): a payload error, as in GraphQL."""

    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.error = Error(code, field, message)


@dataclass(frozen=True, slots=True)
class Priced:
    """A priced cart: the quote shown, and what placing it writes."""

    quote: QuoteOut
    rows: list[CartRow]
    quantities: list[int]
    unit_prices: list[int]


def gid(kind: str, pk: int) -> str:
    """Yutang's global ID."""
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def pk_of(value: str, kind: str) -> int:
    """The primary key of a global ID of ``kind``."""
    found, _, pk = base64.b64decode(value).decode().partition(":")
    if found != kind:
        raise Refused("INVALID", "id", f"expected a {kind} ID")
    return int(pk)


def build_page(currency: str, rows: ProductRows) -> ProductsBody:
    """The product list's JSON from products, their SKUs and their images."""
    products, skus, images = rows
    sku_nodes: dict[int, list[SkuNode]] = {pk: [] for pk, _ in products}
    image_nodes: dict[int, list[Image]] = {pk: [] for pk, _ in products}
    for pk, product_id, specs, price, stock in skus:
        sku_nodes[product_id].append(
            SkuNode(
                id=gid("Sku", pk),
                specs=[Spec(k, v) for k, v in specs.items()],
                price=Price(price, format_money(price, currency)),
                stock=stock,
            )
        )
    for product_id, url, position in images:
        image_nodes[product_id].append(Image(url, position))
    edges = [
        Edge(ProductNode(gid("Product", pk), name, image_nodes[pk], sku_nodes[pk]))
        for pk, name in products
    ]
    return ProductsBody(ProductsData(Page(edges)))


def price_cart(lines: list[Line], rows: Iterable[CartRow], level_percent: int | None) -> Priced:
    """Check the cart against stock and price it (member level price, as the core does)."""
    by_id = {r.sku_id: r for r in rows}
    picked, quantities, units, out = [], [], [], []
    subtotal = total = 0
    for i, ln in enumerate(lines):
        row = by_id.get(pk_of(ln.sku_id, "Sku"))
        if row is None or not row.published:
            raise Refused("NOT_FOUND", f"lines[{i}].skuId", "SKU not found")
        if ln.quantity > row.stock:
            raise Refused("INSUFFICIENT_STOCK", f"lines[{i}].quantity", f"only {row.stock} left")
        unit = row.price if level_percent is None else row.price * level_percent // 100
        subtotal += row.price * ln.quantity
        total += unit * ln.quantity
        picked.append(row)
        quantities.append(ln.quantity)
        units.append(unit)
        out.append(QuoteLine(ln.sku_id, ln.quantity, Amount(unit * ln.quantity)))
    quote = QuoteOut(Amount(subtotal), Amount(total), "", out)
    digest = hashlib.sha256(_json.encode(quote)).hexdigest()
    return Priced(msgspec.structs.replace(quote, hash=digest), picked, quantities, units)


def order_number(now: datetime) -> str:
    """An order number as the core makes them."""
    return f"{now:%y%m%d}{secrets.randbelow(10**10):010d}"


def request_hash(data: object) -> str:
    """The idempotency record's request hash."""
    return hashlib.sha256(_json.encode(data)).hexdigest()


class Store(Protocol):
    """The database work of the four endpoints."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def tenant(self, slug: str) -> TenantRow | None: ...

    async def token(self, digest: str) -> TokenRow | None: ...

    async def product_page(self, tenant_id: int, first: int) -> ProductRows: ...

    async def quote(self, tenant_id: int, member_id: int | None, lines: list[Line]) -> Priced: ...

    async def place(
        self, tenant: TenantRow, member_id: int, lines: list[Line], key: str
    ) -> tuple[int, int]: ...

    async def pay(
        self, tenant: TenantRow, member_id: int, order_id: int, key: str
    ) -> tuple[int, int]: ...


# --- raw driver ---------------------------------------------------------------------------


class Conn(Protocol):
    """One connection (or transaction) of the raw driver; SQL uses ``?`` placeholders."""

    async def fetch(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]: ...

    async def execute(self, sql: str, *args: Any) -> int: ...

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...


@cache
def _numbered(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, ...``."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class PgConn:
    """An asyncpg connection or pool."""

    def __init__(self, con: Any) -> None:
        self.con = con

    async def fetch(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
        _log.debug(sql)
        rows: Sequence[Sequence[Any]] = await self.con.fetch(_numbered(sql), *args)
        return rows

    async def execute(self, sql: str, *args: Any) -> int:
        _log.debug(sql)
        status: str = await self.con.execute(_numbered(sql), *args)
        return int(status.rpartition(" ")[2])

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        _log.debug(sql)
        await self.con.executemany(_numbered(sql), rows)


class LiteConn:
    """The aiosqlite connection (the caller holds the lock)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def fetch(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
        _log.debug(sql)
        rows: Sequence[Sequence[Any]] = await self.db.execute_fetchall(sql, args)
        return rows

    async def execute(self, sql: str, *args: Any) -> int:
        _log.debug(sql)
        cursor = await self.db.execute(sql, args)
        count: int = cursor.rowcount
        await cursor.close()
        return count

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        _log.debug(sql)
        await self.db.executemany(sql, rows)


def _in(count: int) -> str:
    return ", ".join("?" * count)


T_TENANT = "SELECT id, currency, status FROM tenant WHERE slug = ?"
T_TOKEN = "SELECT kind, subject_id, tenant_id, expires_at FROM auth_token WHERE digest = ?"
T_PRODUCTS = (
    "SELECT id, name FROM product WHERE tenant_id = ? AND published = TRUE ORDER BY id LIMIT ?"
)
T_SKUS = (
    "SELECT id, product_id, specs, price, stock FROM sku "
    "WHERE tenant_id = ? AND product_id IN ({}) ORDER BY id"
)
T_IMAGES = (
    "SELECT product_id, url, position FROM product_image "
    "WHERE tenant_id = ? AND product_id IN ({}) ORDER BY position, id"
)
T_CART = (
    "SELECT s.id, s.price, s.stock, s.specs, s.product_id, p.name, p.published "
    "FROM sku s JOIN product p ON p.id = s.product_id WHERE s.tenant_id = ? AND s.id IN ({})"
)
T_LEVEL = (
    "SELECT (SELECT l.discount_percent FROM member_level l WHERE l.tenant_id = m.tenant_id "
    "AND l.min_spend <= m.paid_spend ORDER BY l.min_spend DESC LIMIT 1) "
    "FROM member m WHERE m.tenant_id = ? AND m.id = ?"
)
T_CLAIM = (
    "INSERT INTO idempotency_record (created_at, actor, operation, key, request_hash, tenant_id)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
T_REMEMBER = (
    "UPDATE idempotency_record SET result = ? "
    "WHERE tenant_id = ? AND actor = ? AND operation = ? AND key = ?"
)
T_TAKE = "UPDATE sku SET stock = stock - ? WHERE tenant_id = ? AND id = ? AND stock >= ?"
T_ORDER = (
    "INSERT INTO orders (created_at, number, status, currency, subtotal, discount, fees, total,"
    " points_used, paid_amount, refunded_amount, quote, quote_hash, plugins, extensions,"
    " fulfilment, payment_deadline, member_id, tenant_id) VALUES"
    " (?, ?, 'pending_payment', ?, ?, ?, 0, ?, 0, 0, 0, ?, ?, '[\"core\"]', '{}', 'delivery',"
    " ?, ?, ?) RETURNING id"
)
T_LINE = (
    "INSERT INTO order_line (created_at, position, sku_id, product_id, product_name, specs,"
    " quantity, unit_price, amount, points, refunded_points, refunded_quantity,"
    " refunded_amount, shipped_quantity, order_id, tenant_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, ?, ?)"
)
T_JOB = (
    "INSERT INTO job (tenant_id, name, payload, plugins, dedupe_key, status, run_at, attempts,"
    " max_attempts, created_at) VALUES (?, 'core.payment_timeout', ?, '[]', ?, 'pending', ?,"
    " 0, 10, ?)"
)
T_ORDER_FOR_PAY = (
    "SELECT status, total, payment_deadline FROM orders "
    "WHERE tenant_id = ? AND id = ? AND member_id = ?"
)
T_PAYMENT = (
    "INSERT INTO payment (created_at, provider, amount, status, reference, captured_at,"
    " order_id, tenant_id) VALUES (?, 'dev', ?, 'captured', ?, ?, ?, ?) RETURNING id"
)
T_PAID = (
    "UPDATE orders SET status = 'paid', paid_at = ?, paid_amount = ? "
    "WHERE tenant_id = ? AND id = ? AND status = 'pending_payment'"
)
T_SPEND = "UPDATE member SET paid_spend = paid_spend + ? WHERE tenant_id = ? AND id = ?"


class RawStore:
    """Hand-written SQL on asyncpg (a pool) or aiosqlite (one connection, one lock)."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self.sqlite = settings.is_sqlite
        self._pool: Any = None
        self._db: Any = None
        self._lock: Any = None

    async def open(self) -> None:
        if self.sqlite:
            import asyncio

            import aiosqlite

            self._db = await aiosqlite.connect(
                self.settings.database_url.removeprefix("sqlite://"), isolation_level=None
            )
            for pragma in ("journal_mode=WAL", "foreign_keys=ON"):
                await self._db.execute(f"PRAGMA {pragma}")
            self._lock = asyncio.Lock()
        else:
            import asyncpg  # type: ignore[import-untyped]

            self._pool = await asyncpg.create_pool(
                self.settings.database_url, min_size=1, max_size=self.settings.db_pool_size
            )

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
        if self._pool is not None:
            await self._pool.close()

    def _ts(self, value: datetime) -> Any:
        """A timestamp as the driver takes it (tortoise's text form on SQLite)."""
        return value.isoformat(" ") if self.sqlite else value

    def _dt(self, value: Any) -> datetime:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        if self.sqlite:
            async with self._lock:
                yield LiteConn(self._db)
        else:
            yield PgConn(self._pool)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Conn]:
        if self.sqlite:
            async with self._lock:
                await self._db.execute("BEGIN")
                try:
                    yield LiteConn(self._db)
                except BaseException:
                    await self._db.execute("ROLLBACK")
                    raise
                await self._db.execute("COMMIT")
        else:
            async with self._pool.acquire() as con, con.transaction():
                yield PgConn(con)

    async def tenant(self, slug: str) -> TenantRow | None:
        async with self._conn() as c:
            rows = await c.fetch(T_TENANT, slug)
        return TenantRow(*rows[0]) if rows else None

    async def token(self, digest: str) -> TokenRow | None:
        async with self._conn() as c:
            rows = await c.fetch(T_TOKEN, digest)
        if not rows:
            return None
        kind, subject, tenant, expires = rows[0]
        return TokenRow(kind, subject, tenant, self._dt(expires))

    async def product_page(self, tenant_id: int, first: int) -> ProductRows:
        decode = msgspec.json.decode
        async with self._conn() as c:
            products = [(r[0], r[1]) for r in await c.fetch(T_PRODUCTS, tenant_id, first)]
        ids = [pk for pk, _ in products]
        if not ids:
            return products, [], []
        async with self._conn() as c:
            skus = await c.fetch(T_SKUS.format(_in(len(ids))), tenant_id, *ids)
        async with self._conn() as c:
            images = await c.fetch(T_IMAGES.format(_in(len(ids))), tenant_id, *ids)
        return (
            products,
            [(r[0], r[1], decode(r[2]), r[3], r[4]) for r in skus],
            [(r[0], r[1], r[2]) for r in images],
        )

    async def _cart(
        self, c: Conn, tenant_id: int, member_id: int | None, lines: list[Line]
    ) -> Priced:
        ids = sorted({pk_of(ln.sku_id, "Sku") for ln in lines})
        rows = await c.fetch(T_CART.format(_in(len(ids))), tenant_id, *ids)
        level = None
        if member_id is not None:
            found = await c.fetch(T_LEVEL, tenant_id, member_id)
            level = found[0][0] if found else None
        return price_cart(lines, (CartRow(*r) for r in rows), level)

    async def quote(self, tenant_id: int, member_id: int | None, lines: list[Line]) -> Priced:
        async with self._conn() as c:
            return await self._cart(c, tenant_id, member_id, lines)

    async def place(
        self, tenant: TenantRow, member_id: int, lines: list[Line], key: str
    ) -> tuple[int, int]:
        now = datetime.now(UTC)
        actor = f"member:{member_id}"
        ts = self._ts(now)
        async with self._transaction() as c:
            await c.execute(
                T_CLAIM, ts, actor, "placeOrder", key, request_hash([lines, key]), tenant.id
            )
            priced = await self._cart(c, tenant.id, member_id, lines)
            needed: dict[int, int] = {}
            for row, qty in zip(priced.rows, priced.quantities, strict=True):
                needed[row.sku_id] = needed.get(row.sku_id, 0) + qty
            for sku_id in sorted(needed):
                if not await c.execute(T_TAKE, needed[sku_id], tenant.id, sku_id, needed[sku_id]):
                    raise Refused("INSUFFICIENT_STOCK", "lines", "sold out")
            quote = priced.quote
            deadline = self._ts(now + timedelta(minutes=PAYMENT_MINUTES))
            (order_id,) = (
                await c.fetch(
                    T_ORDER,
                    ts,
                    order_number(now),
                    tenant.currency,
                    quote.subtotal.amount,
                    quote.subtotal.amount - quote.total.amount,
                    quote.total.amount,
                    _json.encode(quote).decode(),
                    quote.hash,
                    deadline,
                    member_id,
                    tenant.id,
                )
            )[0]
            await c.executemany(
                T_LINE,
                [
                    (
                        ts,
                        i,
                        r.sku_id,
                        r.product_id,
                        r.name,
                        r.specs,
                        q,
                        u,
                        u * q,
                        order_id,
                        tenant.id,
                    )
                    for i, (r, q, u) in enumerate(
                        zip(priced.rows, priced.quantities, priced.unit_prices, strict=True)
                    )
                ],
            )
            await c.execute(
                T_JOB,
                tenant.id,
                _json.encode({"order_id": order_id}).decode(),
                f"payment_timeout:{order_id}",
                deadline,
                ts,
            )
            await c.execute(
                T_REMEMBER,
                _json.encode({"order_id": order_id}).decode(),
                tenant.id,
                actor,
                "placeOrder",
                key,
            )
        return order_id, quote.total.amount

    async def pay(
        self, tenant: TenantRow, member_id: int, order_id: int, key: str
    ) -> tuple[int, int]:
        now = datetime.now(UTC)
        actor = f"member:{member_id}"
        ts = self._ts(now)
        lock = "" if self.sqlite else " FOR UPDATE"
        async with self._transaction() as c:
            request = {"order_id": order_id, "provider": "dev"}
            await c.execute(T_CLAIM, ts, actor, "payOrder", key, request_hash(request), tenant.id)
            rows = await c.fetch(T_ORDER_FOR_PAY + lock, tenant.id, order_id, member_id)
            if not rows:
                raise Refused("NOT_FOUND", "orderId", "order not found")
            status, total, deadline = rows[0]
            if status != "pending_payment":
                raise Refused("ILLEGAL_TRANSITION", "orderId", f"the order is {status}")
            if self._dt(deadline) <= now:
                raise Refused("PAYMENT_EXPIRED", "orderId", "the time to pay has run out")
            reference = f"P{order_id}-{secrets.token_hex(6)}"
            (payment_id,) = (
                await c.fetch(T_PAYMENT, ts, total, reference, ts, order_id, tenant.id)
            )[0]
            await c.execute(T_PAID, ts, total, tenant.id, order_id)
            await c.execute(T_SPEND, total, tenant.id, member_id)
            await c.execute(
                T_REMEMBER,
                _json.encode({"payment_id": payment_id}).decode(),
                tenant.id,
                actor,
                "payOrder",
                key,
            )
        return order_id, total


# --- tortoise -----------------------------------------------------------------------------


class TortoiseStore:
    """The same work through tortoise on Yutang's models, reading with ``.values()``."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings

    async def open(self) -> None:
        from yutang.core.db import init_db
        from yutang.core.runtime import build_runtime

        await init_db(self.settings, build_runtime(self.settings).registry)

    async def close(self) -> None:
        from yutang.core.db import close_db

        await close_db()

    async def tenant(self, slug: str) -> TenantRow | None:
        from yutang.core.models import Tenant

        rows = await Tenant.filter(slug=slug).values("id", "currency", "status")
        return TenantRow(**rows[0]) if rows else None

    async def token(self, digest: str) -> TokenRow | None:
        from yutang.core.models import AuthToken

        rows = await AuthToken.filter(digest=digest).values(
            "kind", "subject_id", "tenant_id", "expires_at"
        )
        return TokenRow(**rows[0]) if rows else None

    async def product_page(self, tenant_id: int, first: int) -> ProductRows:
        from yutang.core.models import Product, ProductImage, Sku

        products = [
            (r["id"], r["name"])
            for r in await Product.filter(tenant_id=tenant_id, published=True)
            .order_by("id")
            .limit(first)
            .values("id", "name")
        ]
        ids = [pk for pk, _ in products]
        if not ids:
            return products, [], []
        skus = (
            await Sku.filter(tenant_id=tenant_id, product_id__in=ids)
            .order_by("id")
            .values("id", "product_id", "specs", "price", "stock")
        )
        images = (
            await ProductImage.filter(tenant_id=tenant_id, product_id__in=ids)
            .order_by("position", "id")
            .values("product_id", "url", "position")
        )
        return (
            products,
            [(r["id"], r["product_id"], r["specs"], r["price"], r["stock"]) for r in skus],
            [(r["product_id"], r["url"], r["position"]) for r in images],
        )

    async def quote(self, tenant_id: int, member_id: int | None, lines: list[Line]) -> Priced:
        from yutang.core.models import Member, MemberLevel, Sku

        ids = {pk_of(ln.sku_id, "Sku") for ln in lines}
        rows = await Sku.filter(tenant_id=tenant_id, id__in=ids).values(
            "id", "price", "stock", "specs", "product_id", "product__name", "product__published"
        )
        level = None
        if member_id is not None:
            member = await Member.filter(tenant_id=tenant_id, id=member_id).values("paid_spend")
            if member:
                found = (
                    await MemberLevel.filter(
                        tenant_id=tenant_id, min_spend__lte=member[0]["paid_spend"]
                    )
                    .order_by("-min_spend")
                    .limit(1)
                    .values("discount_percent")
                )
                level = found[0]["discount_percent"] if found else None
        cart = (
            CartRow(
                r["id"],
                r["price"],
                r["stock"],
                r["specs"],
                r["product_id"],
                r["product__name"],
                r["product__published"],
            )
            for r in rows
        )
        return price_cart(lines, cart, level)

    async def place(
        self, tenant: TenantRow, member_id: int, lines: list[Line], key: str
    ) -> tuple[int, int]:
        from tortoise.expressions import F
        from tortoise.transactions import in_transaction

        from yutang.core.models import IdempotencyRecord, Job, Order, OrderLine, Sku

        now = datetime.now(UTC)
        actor = f"member:{member_id}"
        async with in_transaction():
            await IdempotencyRecord.create(
                tenant_id=tenant.id,
                actor=actor,
                operation="placeOrder",
                key=key,
                request_hash=request_hash([lines, key]),
            )
            priced = await self.quote(tenant.id, member_id, lines)
            needed: dict[int, int] = {}
            for row, qty in zip(priced.rows, priced.quantities, strict=True):
                needed[row.sku_id] = needed.get(row.sku_id, 0) + qty
            for sku_id in sorted(needed):
                qty = needed[sku_id]
                taken = await Sku.filter(tenant_id=tenant.id, id=sku_id, stock__gte=qty).update(
                    stock=F("stock") - qty
                )
                if not taken:
                    raise Refused("INSUFFICIENT_STOCK", "lines", "sold out")
            quote = priced.quote
            deadline = now + timedelta(minutes=PAYMENT_MINUTES)
            order = await Order.create(
                tenant_id=tenant.id,
                number=order_number(now),
                member_id=member_id,
                currency=tenant.currency,
                subtotal=quote.subtotal.amount,
                discount=quote.subtotal.amount - quote.total.amount,
                total=quote.total.amount,
                quote=msgspec.to_builtins(quote),
                quote_hash=quote.hash,
                plugins=["core"],
                payment_deadline=deadline,
            )
            await OrderLine.bulk_create(
                [
                    OrderLine(
                        tenant_id=tenant.id,
                        order_id=order.id,
                        position=i,
                        sku_id=r.sku_id,
                        product_id=r.product_id,
                        product_name=r.name,
                        specs=r.specs,
                        quantity=q,
                        unit_price=u,
                        amount=u * q,
                    )
                    for i, (r, q, u) in enumerate(
                        zip(priced.rows, priced.quantities, priced.unit_prices, strict=True)
                    )
                ]
            )
            await Job.create(
                tenant_id=tenant.id,
                name="core.payment_timeout",
                payload={"order_id": order.id},
                run_at=deadline,
                dedupe_key=f"payment_timeout:{order.id}",
            )
            await IdempotencyRecord.filter(
                tenant_id=tenant.id, actor=actor, operation="placeOrder", key=key
            ).update(result={"order_id": order.id})
        return order.id, quote.total.amount

    async def pay(
        self, tenant: TenantRow, member_id: int, order_id: int, key: str
    ) -> tuple[int, int]:
        from tortoise.expressions import F
        from tortoise.transactions import in_transaction

        from yutang.core.models import IdempotencyRecord, Member, Order, Payment

        now = datetime.now(UTC)
        actor = f"member:{member_id}"
        async with in_transaction():
            request = {"order_id": order_id, "provider": "dev"}
            await IdempotencyRecord.create(
                tenant_id=tenant.id,
                actor=actor,
                operation="payOrder",
                key=key,
                request_hash=request_hash(request),
            )
            order = (
                await Order.filter(tenant_id=tenant.id, id=order_id, member_id=member_id)
                .select_for_update()
                .only("id", "status", "total", "payment_deadline")
                .first()
            )
            if order is None:
                raise Refused("NOT_FOUND", "orderId", "order not found")
            if order.status != "pending_payment":
                raise Refused("ILLEGAL_TRANSITION", "orderId", f"the order is {order.status}")
            if order.payment_deadline <= now:
                raise Refused("PAYMENT_EXPIRED", "orderId", "the time to pay has run out")
            payment = await Payment.create(
                tenant_id=tenant.id,
                order_id=order_id,
                provider="dev",
                amount=order.total,
                status="captured",
                reference=f"P{order_id}-{secrets.token_hex(6)}",
                captured_at=now,
            )
            await Order.filter(tenant_id=tenant.id, id=order_id, status="pending_payment").update(
                status="paid", paid_at=now, paid_amount=order.total
            )
            await Member.filter(tenant_id=tenant.id, id=member_id).update(
                paid_spend=F("paid_spend") + order.total
            )
            await IdempotencyRecord.filter(
                tenant_id=tenant.id, actor=actor, operation="payOrder", key=key
            ).update(result={"payment_id": payment.id})
        return order_id, order.total


# --- the app ------------------------------------------------------------------------------


async def tenant_of(
    store: Store, settings: AppSettings, request: Request[Any, Any, Any]
) -> TenantRow:
    """The request's active tenant (``X-Tenant``, else the default), as the core finds it."""
    slug = request.headers.get("x-tenant") or settings.default_tenant
    tenant = await store.tenant(slug)
    if tenant is None or tenant.status != "active":
        raise NotFoundException(f"tenant {slug!r}")
    return tenant


async def member_of(store: Store, request: Request[Any, Any, Any], tenant: TenantRow) -> int | None:
    """The member behind the request's live bearer token, if one of this tenant's."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    token = await store.token(hashlib.sha256(auth[7:].strip().encode()).hexdigest())
    if (
        token is None
        or token.kind != "member"
        or token.tenant_id != tenant.id
        or token.expires_at <= datetime.now(UTC)
    ):
        return None
    return token.subject_id


def create_app(kind: str, settings: AppSettings) -> Litestar:
    """The bare app on the ``raw`` or ``tortoise`` store; endpoints under ``/bare/``."""
    store: Store = RawStore(settings) if kind == "raw" else TortoiseStore(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    def unauthenticated() -> Error:
        return Error("UNAUTHENTICATED", None, "log in as a member first")

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @post("/bare/products", status_code=200)
    async def products(request: Request[Any, Any, Any], data: AnyRequest) -> ProductsBody:
        tenant = await tenant_of(store, settings, request)
        return build_page(tenant.currency, await store.product_page(tenant.id, PAGE_SIZE))

    @post("/bare/quote", status_code=200)
    async def quote(request: Request[Any, Any, Any], data: QuoteRequest) -> QuoteBody:
        tenant = await tenant_of(store, settings, request)
        member_id = await member_of(store, request, tenant)
        try:
            priced = await store.quote(tenant.id, member_id, data.variables.lines)
        except Refused as refused:
            return QuoteBody(QuoteData(QuotePayload(None, [refused.error])))
        return QuoteBody(QuoteData(QuotePayload(priced.quote, [])))

    @post("/bare/place", status_code=200)
    async def place(request: Request[Any, Any, Any], data: PlaceRequest) -> PlaceBody:
        tenant = await tenant_of(store, settings, request)
        member_id = await member_of(store, request, tenant)
        if member_id is None:
            return PlaceBody(PlaceData(PlacePayload(None, [unauthenticated()])))
        try:
            order_id, total = await store.place(
                tenant, member_id, data.variables.lines, data.variables.key
            )
        except Refused as refused:
            return PlaceBody(PlaceData(PlacePayload(None, [refused.error])))
        order = PlacedOrder(gid("Order", order_id), "pending_payment", Amount(total))
        return PlaceBody(PlaceData(PlacePayload(order, [])))

    @post("/bare/pay", status_code=200)
    async def pay(request: Request[Any, Any, Any], data: PayRequest) -> PayBody:
        tenant = await tenant_of(store, settings, request)
        member_id = await member_of(store, request, tenant)
        if member_id is None:
            return PayBody(PayData(PayPayload(None, None, [unauthenticated()])))
        try:
            order_pk = pk_of(data.variables.id, "Order")
            order_id, paid = await store.pay(tenant, member_id, order_pk, data.variables.key)
        except Refused as refused:
            return PayBody(PayData(PayPayload(None, None, [refused.error])))
        order = PaidOrder(gid("Order", order_id), "paid", Amount(paid))
        return PayBody(PayData(PayPayload(order, "captured", [])))

    return Litestar(
        route_handlers=[health, products, quote, place, pay], lifespan=[lifespan], debug=False
    )
