"""The bare baselines of the marketing benchmarks: litestar + msgspec endpoints doing, with
the raw driver, the statements Yutang's plugin paths issue (read from tortoise's
``tortoise.db_client`` log), in one transaction with the same locking.

They take the same GraphQL request bodies as Yutang and answer with the same JSON shape.
Each endpoint handles the shape of request its benchmark sends (one-off seckill sessions,
one draw at a time) rather than every case the plugin handles; where a statement differs
from Yutang's the comment next to it says so and why. Served as ``python -m bench.server
marketing``; the seckill gate uses the Redis named by ``BENCH_SECKILL_REDIS_URL``, if any.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from bisect import bisect_right
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import msgspec
from litestar import Litestar, Request, get, post

from bench.baselines import (
    T_CLAIM,
    T_LEVEL,
    T_REMEMBER,
    T_TAKE,
    Amount,
    Error,
    PlaceBody,
    PlaceData,
    PlacedOrder,
    PlacePayload,
    QuoteLine,
    QuoteOut,
    RawStore,
    Refused,
    TenantRow,
    gid,
    member_of,
    order_number,
    pk_of,
    request_hash,
    tenant_of,
)
from yutang.core.settings import AppSettings

REDIS_ENV = "BENCH_SECKILL_REDIS_URL"
REDIS_PREFIX = "ytbench"
RESYNC = 30  # seconds, as the plugin's gate
RECENT = 1.0  # seconds an item read for admission is used, as the plugin's

_json = msgspec.json.Encoder()


class ActivityRef(msgspec.Struct):
    plugin: str
    ref: str


class ActivityLine(msgspec.Struct, rename="camel"):
    sku_id: str
    quantity: int
    activity: ActivityRef | None = None


class SeckillVariables(msgspec.Struct):
    lines: list[ActivityLine]
    key: str


class SeckillRequest(msgspec.Struct):
    query: str
    variables: SeckillVariables


class JoinVariables(msgspec.Struct):
    lines: list[ActivityLine]
    key: str
    ext: dict[str, dict[str, str]] | None = None


class JoinRequest(msgspec.Struct):
    query: str
    variables: JoinVariables


class DrawVariables(msgspec.Struct):
    id: str
    key: str


class DrawRequest(msgspec.Struct):
    query: str
    variables: DrawVariables


class PrizeName(msgspec.Struct):
    name: str


class DrawOut(msgspec.Struct):
    id: str
    seq: int
    prize: PrizeName | None


class DrawPayload(msgspec.Struct):
    draw: DrawOut | None
    errors: list[Error]


class DrawData(msgspec.Struct, rename="camel"):
    draw_lottery: DrawPayload


class DrawBody(msgspec.Struct):
    data: DrawData


# --- seckill ------------------------------------------------------------------------------

T_ANSWERED = (
    "SELECT 1 FROM idempotency_record WHERE tenant_id = ? AND actor = ?"
    " AND operation = 'placeOrder' AND \"key\" = ?"
)
S_CART = (
    "SELECT s.price, s.stock, s.specs, s.product_id, p.name, p.published "
    "FROM sku s JOIN product p ON p.id = s.product_id WHERE s.tenant_id = ? AND s.id = ?"
)
S_ITEM = (
    "SELECT i.sku_id, i.price, i.stock, i.activity_id, a.limits, a.payment_minutes,"
    " a.stopped_at, s.starts_at, s.ends_at FROM seckill_item i"
    " JOIN seckill_session s ON s.id = i.session_id"
    " JOIN seckill_activity a ON a.id = i.activity_id WHERE i.tenant_id = ? AND i.id = ?"
)
S_LEFT = (
    "SELECT remaining FROM seckill_stock WHERE tenant_id = ? AND item_id = ? AND slot_start = ?"
)
S_HELD = (
    "SELECT taken FROM seckill_member_quota WHERE tenant_id = ? AND member_id = ?"
    " AND activity_id = ? AND scope = 'activity'"
)
S_ORDER = (
    "INSERT INTO orders (created_at, number, status, currency, subtotal, discount, fees, total,"
    " points_used, paid_amount, refunded_amount, quote, quote_hash, plugins, extensions,"
    " fulfilment, payment_deadline, member_id, tenant_id) VALUES"
    " (?, ?, 'pending_payment', ?, ?, ?, 0, ?, 0, 0, 0, ?, ?, ?, '{}', 'delivery', ?, ?, ?)"
    " RETURNING id"
)
S_LINE = (
    "INSERT INTO order_line (created_at, position, sku_id, product_id, product_name, specs,"
    " quantity, unit_price, amount, points, refunded_points, activity_plugin, activity_ref,"
    " refunded_quantity, refunded_amount, shipped_quantity, order_id, tenant_id)"
    " VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, 0, 0, 0, ?, ?)"
)
S_STOCK_ROW = (
    "INSERT INTO seckill_stock (slot_start, remaining, item_id, tenant_id) VALUES (?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
S_TAKE_STOCK = (
    "UPDATE seckill_stock SET remaining = remaining - ? "
    "WHERE tenant_id = ? AND item_id = ? AND slot_start = ? AND remaining >= ?"
)
S_QUOTA_ROW = (
    "INSERT INTO seckill_member_quota (member_id, scope, taken, activity_id, tenant_id)"
    " VALUES (?, 'activity', 0, ?, ?) ON CONFLICT DO NOTHING"
)
S_TAKE_QUOTA = (
    "UPDATE seckill_member_quota SET taken = taken + ? "
    "WHERE tenant_id = ? AND activity_id = ? AND member_id = ? AND scope = 'activity'"
    " AND taken <= ?"
)
S_RESERVE = (
    "INSERT INTO seckill_reservation (created_at, order_id, member_id, slot_start, quantity,"
    " released, paid, activity_id, item_id, tenant_id) VALUES (?, ?, ?, ?, ?, 0, FALSE, ?, ?, ?)"
)
S_JOB = (
    "INSERT INTO job (tenant_id, name, payload, plugins, dedupe_key, status, run_at, attempts,"
    " max_attempts, created_at) VALUES (?, 'core.payment_timeout', ?, '[]', ?, 'pending', ?,"
    " 0, 10, ?)"
)


# --- lottery ------------------------------------------------------------------------------

L_ACTIVITY = (
    "SELECT id, name, starts_at, ends_at, stopped_at, points_per_draw, free_draws_per_day,"
    " daily_cap, total_cap FROM lottery_activity WHERE tenant_id = ? AND id = ?"
)
L_COUNTER_ROW = (
    "INSERT INTO lottery_counter (member_id, day, today, free_today, total, earned,"
    " earned_used, activity_id, tenant_id) VALUES (?, NULL, 0, 0, 0, 0, 0, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
L_COUNTER = (
    "SELECT id, day, today, free_today, total, earned, earned_used FROM lottery_counter"
    " WHERE tenant_id = ? AND activity_id = ? AND member_id = ?"
)
L_BY_KEY = (
    "SELECT id, activity_id, seq, prize_id FROM lottery_draw"
    " WHERE tenant_id = ? AND member_id = ? AND idempotency_key = ?"
)
L_POINTS_SEEN = (
    "SELECT 1 FROM points_entry WHERE tenant_id = ? AND member_id = ? AND reason = ?"
    " AND reference = ? LIMIT 1"
)
L_DEBIT = "UPDATE member SET points = points + ? WHERE tenant_id = ? AND id = ? AND points >= ?"
L_CREDIT = "UPDATE member SET points = points + ? WHERE tenant_id = ? AND id = ?"
L_BALANCE = "SELECT points FROM member WHERE id = ?"
L_ENTRY = (
    "INSERT INTO points_entry (created_at, delta, balance_after, reason, reference, member_id,"
    " tenant_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
L_PRIZES = (
    "SELECT id, name, kind, weight, amount, remaining, win_cap FROM lottery_prize"
    " WHERE tenant_id = ? AND activity_id = ? ORDER BY position"
)
L_TAKE_PRIZE = "UPDATE lottery_prize SET remaining = remaining - 1 WHERE id = ? AND remaining > 0"
L_DRAW = (
    "INSERT INTO lottery_draw (created_at, member_id, seq, idempotency_key, paid_with,"
    " points_charged, weights, total_weight, random_value, fallthrough, activity_id,"
    " chosen_prize_id, prize_id, tenant_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " RETURNING id"
)
L_COUNT = (
    "UPDATE lottery_counter SET day = ?, today = ?, free_today = ?, total = ?, earned_used = ?"
    " WHERE id = ?"
)


# --- group buy ----------------------------------------------------------------------------

G_ITEM = (
    "SELECT i.sku_id, i.price, a.id, a.member_limit, a.payment_minutes, a.stopped_at"
    " FROM groupbuy_item i JOIN groupbuy_activity a ON a.id = i.activity_id"
    " WHERE i.tenant_id = ? AND i.id = ?"
)
G_TEAM = (
    "SELECT activity_id, status, expires_at, seats, size FROM groupbuy_team"
    " WHERE tenant_id = ? AND id = ?"
)
G_SEATED = (
    "SELECT 1 FROM groupbuy_seat WHERE tenant_id = ? AND team_id = ? AND member_id = ?"
    " AND status IN ('held', 'paid') LIMIT 1"
)
G_HELD = (
    "SELECT taken FROM groupbuy_quota WHERE tenant_id = ? AND activity_id = ? AND member_id = ?"
)
G_QUOTA_ROW = (
    "INSERT INTO groupbuy_quota (member_id, taken, activity_id, tenant_id) VALUES (?, 0, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
G_TAKE_QUOTA = (
    "UPDATE groupbuy_quota SET taken = taken + ? "
    "WHERE tenant_id = ? AND activity_id = ? AND member_id = ? AND taken <= ?"
)
G_TAKE_SEAT = (
    "UPDATE groupbuy_team SET seats = seats + 1 WHERE tenant_id = ? AND id = ?"
    " AND status = 'open' AND expires_at > ? AND seats < size"
)
G_SEAT = (
    "INSERT INTO groupbuy_seat (created_at, item_id, member_id, order_id, quantity, released,"
    " leader, status, activity_id, team_id, tenant_id)"
    " VALUES (?, ?, ?, ?, ?, 0, FALSE, 'held', ?, ?, ?)"
)


def activity_limit(limits: str) -> int:
    """The ACTIVITY limit, the only one the benchmark's activities have (the plugin also
    keeps per-session and per-item-per-session limits, each a counter like this one)."""
    limit: int = msgspec.json.decode(limits)["activity"]
    return limit


class SeckillGate:
    """The plugin's Redis mirror, done by hand: the plugin's own Lua script on keys of the
    baseline's prefix, rebuilt from the database on a miss and expiring after ``RESYNC``."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        from yutang.plugins.seckill.gate import _SCRIPT

        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.script = _SCRIPT

    def keys(self, tenant_id: int, item: int, start: datetime, activity: int) -> list[str]:
        base = f"{REDIS_PREFIX}:{tenant_id}"
        return [f"{base}:stock:{item}:{int(start.timestamp())}", f"{base}:quota:{activity}"]

    async def run(
        self, keys: list[str], take: bool, qty: int, member: int, limit: int, fill: Any
    ) -> bool:
        """SOLD_OUT / LIMIT_REACHED as Refused; False when the mirror cannot answer."""
        for attempt in range(2):
            verdict, _ = await self.client.eval(
                self.script, 2, *keys, int(take), 1, qty, str(member), qty, limit
            )
            if verdict == "OK":
                return True
            if verdict == "SOLD_OUT":
                raise Refused("SOLD_OUT", "lines[0].quantity", "sold out in this session")
            if verdict == "LIMIT":
                raise Refused("LIMIT_REACHED", "lines[0].quantity", "limit reached")
            if fill is None:  # admission: a miss goes on to the transaction
                return False
            if attempt == 0:
                left, held = await fill()
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.set(keys[0], left, ex=RESYNC, nx=True)
                    pipe.hsetnx(keys[1], str(member), held)
                    pipe.expire(keys[1], RESYNC, nx=True)
                    await pipe.execute()
        return False

    async def give_back(self, keys: list[str], qty: int, member: int) -> None:
        await self.client.incrby(keys[0], qty)
        await self.client.hincrby(keys[1], str(member), -qty)


class CartLine(NamedTuple):
    """The SKU of an activity line as read, with the unit price the activity gives."""

    sku_id: int
    product_id: int
    name: str
    specs: Any
    list_price: int
    unit: int


class MarketingStore(RawStore):
    """:class:`bench.baselines.RawStore` with the marketing transactions."""

    async def _order(
        self,
        c: Any,
        tenant: TenantRow,
        member_id: int,
        line: ActivityLine,
        cart: CartLine,
        plugin: str,
        deadline: Any,
        now: datetime,
    ) -> tuple[int, int]:
        """The order of one activity line and its line row, as placeOrder writes them."""
        qty = line.quantity
        line_out = QuoteLine(line.sku_id, qty, Amount(cart.unit * qty))
        quote = QuoteOut(Amount(cart.list_price * qty), Amount(cart.unit * qty), "", [line_out])
        quote = msgspec.structs.replace(quote, hash=hashlib.sha256(_json.encode(quote)).hexdigest())
        ts = self._ts(now)
        (order_id,) = (
            await c.fetch(
                S_ORDER,
                ts,
                order_number(now),
                tenant.currency,
                quote.subtotal.amount,
                quote.subtotal.amount - quote.total.amount,
                quote.total.amount,
                _json.encode(quote).decode(),
                quote.hash,
                f'["core", "{plugin}"]',
                deadline,
                member_id,
                tenant.id,
            )
        )[0]
        assert line.activity is not None
        await c.execute(
            S_LINE,
            ts,
            cart.sku_id,
            cart.product_id,
            cart.name,
            cart.specs,
            qty,
            cart.unit,
            cart.unit * qty,
            plugin,
            line.activity.ref,
            order_id,
            tenant.id,
        )
        return order_id, quote.total.amount

    async def _finish(
        self, c: Any, tenant: TenantRow, actor: str, key: str, order_id: int, deadline: Any
    ) -> None:
        """The payment timeout job and the idempotency record's result."""
        ts = self._ts(datetime.now(UTC))
        result = _json.encode({"order_id": order_id}).decode()
        await c.execute(S_JOB, tenant.id, result, f"payment_timeout:{order_id}", deadline, ts)
        await c.execute(T_REMEMBER, result, tenant.id, actor, "placeOrder", key)

    async def _activity_sku(
        self, c: Any, tenant: TenantRow, member_id: int, sku_id: int, qty: int
    ) -> tuple[int, Any, int, str]:
        """The SKU read (and the member's level, which activity lines ignore): list price,
        specs, product and its name."""
        rows = await c.fetch(S_CART, tenant.id, sku_id)
        if not rows or not rows[0][5]:
            raise Refused("NOT_FOUND", "lines[0].skuId", "SKU not found")
        list_price, stock, specs, product_id, name, _ = rows[0]
        if qty > stock:
            raise Refused("INSUFFICIENT_STOCK", "lines[0].quantity", f"only {stock} left")
        # Yutang reads the member, then its level: two statements; one here.
        await c.fetch(T_LEVEL, tenant.id, member_id)
        return list_price, specs, product_id, name

    def __init__(self, settings: AppSettings) -> None:
        super().__init__(settings)
        url = os.environ.get(REDIS_ENV, "")
        self.gate = SeckillGate(url) if url else None
        self._items: dict[tuple[int, int], tuple[float, tuple[Any, ...]]] = {}

    async def _admit(
        self,
        tenant: TenantRow,
        member_id: int,
        sku_id: int,
        item_id: int,
        qty: int,
        key: str,
        now: datetime,
    ) -> None:
        """The plugin's admission, by hand, before the transaction: the item as read in
        the last second, the gate's check, and for a refusal the key's earlier answer."""
        assert self.gate is not None
        clock = time.monotonic()
        copy = self._items.get((tenant.id, item_id))
        if copy is None or copy[0] <= clock:
            if copy is not None:  # the others keep using it while this request reads
                self._items[(tenant.id, item_id)] = (clock + RECENT, copy[1])
            async with self._conn() as c:
                found = await c.fetch(S_ITEM, tenant.id, item_id)
            if not found:
                return
            copy = self._items[(tenant.id, item_id)] = (clock + RECENT, tuple(found[0]))
        sku, _, _, activity_id, limits, _, stopped, start, end = copy[1]
        limit = activity_limit(limits)
        start = self._dt(start)
        if sku != sku_id or stopped is not None or not start <= now < self._dt(end):
            return
        keys = self.gate.keys(tenant.id, item_id, start, activity_id)
        try:
            await self.gate.run(keys, False, qty, member_id, limit, None)
        except Refused:
            async with self._conn() as c:
                if not await c.fetch(T_ANSWERED, tenant.id, f"member:{member_id}", key):
                    raise

    async def seckill(
        self, tenant: TenantRow, member_id: int, line: ActivityLine, key: str
    ) -> tuple[int, int]:
        """A one-line seckill placeOrder, statement for statement as the plugin's path."""
        now = datetime.now(UTC)
        actor = f"member:{member_id}"
        ts = self._ts(now)
        sku_id = pk_of(line.sku_id, "Sku")
        if line.activity is None or line.activity.plugin != "seckill":
            raise Refused("INVALID", "lines[0].activity", "a seckill line is expected")
        item_id = pk_of(line.activity.ref, "SeckillItem")
        qty = line.quantity
        if self.gate is not None:
            await self._admit(tenant, member_id, sku_id, item_id, qty, key, now)
        taken_by_gate: list[str] | None = None
        try:
            async with self._transaction() as c:
                await c.execute(
                    T_CLAIM, ts, actor, "placeOrder", key, request_hash([line, key]), tenant.id
                )
                list_price, specs, product_id, name = await self._activity_sku(
                    c, tenant, member_id, sku_id, qty
                )
                found = await c.fetch(S_ITEM, tenant.id, item_id)
                if not found or found[0][0] != sku_id:
                    raise Refused("NOT_APPLICABLE", "lines[0].skuId", "not in that session")
                _, price, item_stock, activity_id, limits, minutes, stopped, start, end = found[0]
                limit = activity_limit(limits)
                start, end = self._dt(start), self._dt(end)
                # One-off sessions only (the benchmark's); the plugin also handles daily ones.
                if stopped is not None or not start <= now < end:
                    raise Refused("NOT_OPEN", "lines[0].activity", "session not open")
                if qty > limit:
                    raise Refused("LIMIT_EXCEEDED", "lines[0].quantity", "over the limit")
                slot = self._ts(start)
                keys = self.gate.keys(tenant.id, item_id, start, activity_id) if self.gate else []

                async def fill() -> tuple[int, int]:
                    # The plugin rebuilds the mirror with tortoise on its own connection.
                    left = await c.fetch(S_LEFT, tenant.id, item_id, slot)
                    held = await c.fetch(S_HELD, tenant.id, member_id, activity_id)
                    return (left[0][0] if left else item_stock), (held[0][0] if held else 0)

                if self.gate is not None:
                    await self.gate.run(keys, False, qty, member_id, limit, fill)
                else:
                    left = await c.fetch(S_LEFT, tenant.id, item_id, slot)
                    if qty > (left[0][0] if left else item_stock):
                        raise Refused("SOLD_OUT", "lines[0].quantity", "sold out in this session")
                    held = await c.fetch(S_HELD, tenant.id, member_id, activity_id)
                    if (held[0][0] if held else 0) + qty > limit:
                        raise Refused("LIMIT_REACHED", "lines[0].quantity", "limit reached")
                if not await c.execute(T_TAKE, qty, tenant.id, sku_id, qty):
                    raise Refused("INSUFFICIENT_STOCK", "lines", "sold out")
                cart = CartLine(sku_id, product_id, name, specs, list_price, min(price, list_price))
                deadline = self._ts(now + timedelta(minutes=minutes))
                order_id, total = await self._order(
                    c, tenant, member_id, line, cart, "seckill", deadline, now
                )
                if self.gate is not None and await self.gate.run(
                    keys, True, qty, member_id, limit, fill
                ):
                    taken_by_gate = keys
                await c.execute(S_STOCK_ROW, slot, item_stock, item_id, tenant.id)
                if not await c.execute(S_TAKE_STOCK, qty, tenant.id, item_id, slot, qty):
                    raise Refused("SOLD_OUT", "lines[0].quantity", "sold out in this session")
                await c.execute(S_QUOTA_ROW, member_id, activity_id, tenant.id)
                if not await c.execute(
                    S_TAKE_QUOTA, qty, tenant.id, activity_id, member_id, limit - qty
                ):
                    raise Refused("LIMIT_REACHED", "lines[0].quantity", "limit reached")
                await c.execute(
                    S_RESERVE, ts, order_id, member_id, slot, qty, activity_id, item_id, tenant.id
                )
                await self._finish(c, tenant, actor, key, order_id, deadline)
        except BaseException:
            # The plugin gives the gate's units back, and on a refusal by the database
            # also resets the counter from it; here the units go back only.
            if self.gate is not None and taken_by_gate is not None:
                await self.gate.give_back(taken_by_gate, qty, member_id)
            raise
        return order_id, total


async def _points(
    store: RawStore, c: Any, tenant_id: int, member_id: int, delta: int, reason: str, ref: str
) -> None:
    """The core's points ledger entry: seen-check, balance change, balance read, entry."""
    if await c.fetch(L_POINTS_SEEN, tenant_id, member_id, reason, ref):
        return
    if delta < 0:
        changed = await c.execute(L_DEBIT, delta, tenant_id, member_id, -delta)
    else:
        changed = await c.execute(L_CREDIT, delta, tenant_id, member_id)
    if not changed:
        raise Refused("INSUFFICIENT_POINTS", "points", "not enough points")
    (balance,) = (await c.fetch(L_BALANCE, member_id))[0]
    ts = store._ts(datetime.now(UTC))
    await c.execute(L_ENTRY, ts, delta, balance, reason, ref, member_id, tenant_id)


async def lottery_draw(
    store: RawStore, tenant: TenantRow, member_id: int, activity_id: int, key: str
) -> DrawOut:
    """One points-paid draw under the member's counter row, as the plugin's path for an
    activity without member restrictions, free or earned draws, win caps or goods prizes
    (the benchmark's). The savepoint around the prize unit and its grant is left out: the
    grant here cannot be refused."""
    now = datetime.now(UTC)
    ts = store._ts(now)
    lock = "" if store.sqlite else " FOR UPDATE"
    async with store._conn() as c:
        found = await c.fetch(L_ACTIVITY, tenant.id, activity_id)
    if not found:
        raise Refused("NOT_FOUND", "activityId", "lottery activity not found")
    _, _, starts, ends, stopped, cost, _, daily_cap, total_cap = found[0]
    async with store._transaction() as c:
        await c.execute(L_COUNTER_ROW, member_id, activity_id, tenant.id)
        rows = await c.fetch(L_COUNTER + lock, tenant.id, activity_id, member_id)
        counter_id, day, today, free_today, total, _, earned_used = rows[0]
        done = await c.fetch(L_BY_KEY, tenant.id, member_id, key)
        if done:
            return DrawOut(gid("LotteryDraw", done[0][0]), done[0][2], None)
        if stopped is not None or not store._dt(starts) <= now < store._dt(ends):
            raise Refused("NOT_OPEN", "activityId", "this lucky draw has ended")
        # The tenant's day; the benchmark's tenant has the default zone.
        local_day = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
        if str(day) != str(local_day):
            today = free_today = 0
        if daily_cap is not None and today >= daily_cap:
            raise Refused("LIMIT_REACHED", "activityId", "daily cap")
        if total_cap is not None and total >= total_cap:
            raise Refused("LIMIT_REACHED", "activityId", "total cap")
        if not cost:
            raise Refused("LOTTERY_NO_DRAWS_LEFT", "activityId", "no free or earned draws left")
        seq = total + 1
        await _points(store, c, tenant.id, member_id, -cost, "lottery", f"{activity_id}:{seq}")
        prizes = await c.fetch(L_PRIZES, tenant.id, activity_id)
        weights = [p[3] for p in prizes]
        value = secrets.randbelow(sum(weights))
        chosen = prizes[bisect_right(list(accumulate(weights)), value)]
        prize_id, prize_name, kind, _, amount, remaining, _ = chosen
        awarded: Any = None
        fallthrough = ""
        if kind == "none":
            awarded = chosen
        elif remaining is not None and (
            remaining <= 0 or not await c.execute(L_TAKE_PRIZE, prize_id)
        ):
            fallthrough = "OUT_OF_STOCK"
        else:
            awarded = chosen
            if kind == "points":
                ref = f"lottery:{activity_id}:{member_id}:{seq}"
                await _points(store, c, tenant.id, member_id, amount, "reward", ref)
        (draw_id,) = (
            await c.fetch(
                L_DRAW,
                ts,
                member_id,
                seq,
                key,
                "points",
                cost,
                _json.encode([[p[0], p[3]] for p in prizes]).decode(),
                sum(weights),
                value,
                fallthrough,
                activity_id,
                prize_id,
                awarded[0] if awarded else None,
                tenant.id,
            )
        )[0]
        day_value = local_day.isoformat() if store.sqlite else local_day
        await c.execute(L_COUNT, day_value, today + 1, free_today, seq, earned_used, counter_id)
    # Yutang then reads the prize and its claim for the payload (two statements): the
    # prize is at hand here.
    return DrawOut(gid("LotteryDraw", draw_id), seq, PrizeName(prize_name) if awarded else None)


async def groupbuy_join(
    store: MarketingStore,
    tenant: TenantRow,
    member_id: int,
    line: ActivityLine,
    team_ref: str,
    key: str,
) -> tuple[int, int]:
    """A one-line placeOrder joining an open team, statement for statement as the plugin's
    path: the team read and seat check, the quota, the seat by conditional UPDATE on the
    team row, the team re-read and the seat check again under that lock."""
    now = datetime.now(UTC)
    actor = f"member:{member_id}"
    ts = store._ts(now)
    sku_id = pk_of(line.sku_id, "Sku")
    if line.activity is None or line.activity.plugin != "groupbuy":
        raise Refused("INVALID", "lines[0].activity", "a group-buy line is expected")
    item_id = pk_of(line.activity.ref, "GroupbuyItem")
    team_id = pk_of(team_ref, "GroupbuyTeam")
    qty = line.quantity
    field = "extensions.groupbuy.team"
    async with store._transaction() as c:
        await c.execute(
            T_CLAIM, ts, actor, "placeOrder", key, request_hash([line, team_ref, key]), tenant.id
        )
        list_price, specs, product_id, name = await store._activity_sku(
            c, tenant, member_id, sku_id, qty
        )
        found = await c.fetch(G_ITEM, tenant.id, item_id)
        if not found or found[0][0] != sku_id:
            raise Refused("NOT_APPLICABLE", "lines[0].skuId", "not that item's SKU")
        _, price, activity_id, limit, minutes, stopped = found[0]
        if qty > limit:
            raise Refused("LIMIT_EXCEEDED", "lines[0].quantity", "over the limit")
        teams = await c.fetch(G_TEAM, tenant.id, team_id)
        if not teams:
            raise Refused("NOT_FOUND", field, "group-buy team not found")
        if teams[0][0] != activity_id:
            raise Refused("GROUPBUY_TEAM_MISMATCH", field, "that team is of another group buy")
        _, status, expires, seats, size = teams[0]
        expires = store._dt(expires)
        # The plugin's order of checks, and its codes for each.
        if stopped is not None:
            raise Refused("NOT_OPEN", field, "this group buy was stopped")
        if status != "open":
            raise Refused("GROUPBUY_TEAM_CLOSED", field, f"this team is {status}")
        if expires <= now:
            raise Refused("EXPIRED", field, "this team has expired")
        if seats >= size:
            raise Refused("GROUPBUY_TEAM_FULL", field, "every seat of this team is taken")
        if await c.fetch(G_SEATED, tenant.id, team_id, member_id):
            raise Refused("GROUPBUY_ALREADY_IN_TEAM", field, "you are already in this team")
        held = await c.fetch(G_HELD, tenant.id, activity_id, member_id)
        if (held[0][0] if held else 0) + qty > limit:
            raise Refused("LIMIT_REACHED", "lines[0].quantity", "limit reached")
        if not await c.execute(T_TAKE, qty, tenant.id, sku_id, qty):
            raise Refused("INSUFFICIENT_STOCK", "lines", "sold out")
        cart = CartLine(sku_id, product_id, name, specs, list_price, min(price, list_price))
        deadline = store._ts(min(now + timedelta(minutes=minutes), expires))
        order_id, total = await store._order(
            c, tenant, member_id, line, cart, "groupbuy", deadline, now
        )
        await c.execute(G_QUOTA_ROW, member_id, activity_id, tenant.id)
        if not await c.execute(G_TAKE_QUOTA, qty, tenant.id, activity_id, member_id, limit - qty):
            raise Refused("LIMIT_REACHED", "lines[0].quantity", "limit reached")
        if not await c.execute(G_TAKE_SEAT, tenant.id, team_id, ts):
            raise Refused("GROUPBUY_TEAM_FULL", field, "every seat of this team is taken")
        await c.fetch(G_TEAM, tenant.id, team_id)
        if await c.fetch(G_SEATED, tenant.id, team_id, member_id):
            raise Refused("GROUPBUY_ALREADY_IN_TEAM", field, "you are already in this team")
        await c.execute(
            G_SEAT, ts, item_id, member_id, order_id, qty, activity_id, team_id, tenant.id
        )
        await store._finish(c, tenant, actor, key, order_id, deadline)
    return order_id, total


def create_app(settings: AppSettings) -> Litestar:
    """The bare marketing app; endpoints under ``/bare/``."""
    store = MarketingStore(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()
            if store.gate is not None:
                await store.gate.client.aclose()

    unauthenticated = Error("UNAUTHENTICATED", None, "log in as a member first")

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @post("/bare/seckill", status_code=200)
    async def seckill(request: Request[Any, Any, Any], data: SeckillRequest) -> PlaceBody:
        tenant = await tenant_of(store, settings, request)
        member_id = await member_of(store, request, tenant)
        if member_id is None:
            return PlaceBody(PlaceData(PlacePayload(None, [unauthenticated])))
        if len(data.variables.lines) != 1:
            error = Error("INVALID", "lines", "one line per seckill order here")
            return PlaceBody(PlaceData(PlacePayload(None, [error])))
        try:
            order_id, total = await store.seckill(
                tenant, member_id, data.variables.lines[0], data.variables.key
            )
        except Refused as refused:
            return PlaceBody(PlaceData(PlacePayload(None, [refused.error])))
        order = PlacedOrder(gid("Order", order_id), "pending_payment", Amount(total))
        return PlaceBody(PlaceData(PlacePayload(order, [])))

    @post("/bare/lottery", status_code=200)
    async def lottery(request: Request[Any, Any, Any], data: DrawRequest) -> DrawBody:
        tenant = await tenant_of(store, settings, request)
        member_id = await member_of(store, request, tenant)
        if member_id is None:
            return DrawBody(DrawData(DrawPayload(None, [unauthenticated])))
        try:
            activity = pk_of(data.variables.id, "LotteryActivity")
            drawn = await lottery_draw(store, tenant, member_id, activity, data.variables.key)
        except Refused as refused:
            return DrawBody(DrawData(DrawPayload(None, [refused.error])))
        return DrawBody(DrawData(DrawPayload(drawn, [])))

    @post("/bare/groupbuy", status_code=200)
    async def groupbuy(request: Request[Any, Any, Any], data: JoinRequest) -> PlaceBody:
        tenant = await tenant_of(store, settings, request)
        member_id = await member_of(store, request, tenant)
        if member_id is None:
            return PlaceBody(PlaceData(PlacePayload(None, [unauthenticated])))
        team = (data.variables.ext or {}).get("groupbuy", {}).get("team", "")
        if len(data.variables.lines) != 1 or not team:
            error = Error("INVALID", "lines", "one line joining a team here")
            return PlaceBody(PlaceData(PlacePayload(None, [error])))
        try:
            order_id, total = await groupbuy_join(
                store, tenant, member_id, data.variables.lines[0], team, data.variables.key
            )
        except Refused as refused:
            return PlaceBody(PlaceData(PlacePayload(None, [refused.error])))
        order = PlacedOrder(gid("Order", order_id), "pending_payment", Amount(total))
        return PlaceBody(PlaceData(PlacePayload(order, [])))

    return Litestar(
        route_handlers=[health, seckill, lottery, groupbuy], lifespan=[lifespan], debug=False
    )
