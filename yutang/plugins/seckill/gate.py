"""The optional Redis gate: answers "sold out" and "limit reached" from Redis.

Used only when the ``redis_url`` setting (or ``YUTANG_SECKILL_REDIS_URL``) names a Redis.
Redis mirrors the database's counters: units left per (item, occurrence) and units held
per (activity, member). Admission asks the mirror before placeOrder's transaction (in
front of GraphQL for a plain request), and an order takes its units from it with one
atomic script before the database's conditional UPDATEs, so once an occurrence is sold
out every further order is refused without a transaction, a lock or a seckill table
read. The database stays the only judge: a missing key is rebuilt from it,
every key expires after ``RESYNC`` and is rebuilt again (healing any drift, e.g. an order
that failed after the gate let it through), an order the database refuses gives its units
back at once and resets the counter it contradicted, and a request the mirror cannot
answer (its keys churning) goes on to the database. Every drift errs towards letting a
request through to the database, never towards refusing one the database would accept,
except for an order that fails after this plugin's hook, until its keys expire. A Redis
that is down or unreachable answers nothing: the database decides alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from yutang import api
from yutang.plugins.seckill.models import SeckillQuota, SeckillStock
from yutang.plugins.seckill.settings import settings_of

ENV = "YUTANG_SECKILL_REDIS_URL"
RESYNC = 30  # seconds a mirrored counter lives before it is read from the database again

Units = dict[tuple[int, datetime], tuple[int, int]]
"""Units asked per (item, occurrence start), with the item's stock per occurrence."""
Quota = dict[int, tuple[int, int]]
"""Units asked per activity, with its per-member limit."""

# KEYS: n stock keys, then one quota hash per activity. ARGV: take (1/0), n, n quantities,
# member, then per activity its quantity and its limit. Returns {verdict, key index}.
_SCRIPT = """
local take, n = ARGV[1] == '1', tonumber(ARGV[2])
local m, member = #KEYS - n, ARGV[n + 3]
for i = 1, n do
  local left = redis.call('GET', KEYS[i])
  if not left then return {'MISS', i} end
  if tonumber(left) < tonumber(ARGV[2 + i]) then return {'SOLD_OUT', i} end
end
for j = 1, m do
  local held = redis.call('HGET', KEYS[n + j], member)
  if not held then return {'MISS', n + j} end
  local want, limit = tonumber(ARGV[n + 2 + 2 * j]), tonumber(ARGV[n + 3 + 2 * j])
  if tonumber(held) + want > limit then return {'LIMIT', j} end
end
if take then
  for i = 1, n do redis.call('DECRBY', KEYS[i], ARGV[2 + i]) end
  for j = 1, m do redis.call('HINCRBY', KEYS[n + j], member, ARGV[n + 2 + 2 * j]) end
end
return {'OK', 0}
"""
# KEYS and ARGV as above, without the flag: adds quantities back to counters that exist.
_GIVE_BACK = """
local n = tonumber(ARGV[1])
local member = ARGV[n + 2]
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[1 + i]) end
end
for j = 1, #KEYS - n do
  if redis.call('HEXISTS', KEYS[n + j], member) == 1 then
    redis.call('HINCRBY', KEYS[n + j], member, -tonumber(ARGV[n + 1 + 2 * j]))
  end
end
return 1
"""

# One client (connection pool) per event loop and URL; redis-py is imported only when a
# tenant configures a gate, so the plugin works without it installed.
_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = WeakKeyDictionary()


def gate_for(tenant: api.TenantInfo) -> Gate | None:
    """The tenant's gate, or None when no Redis is configured."""
    url = settings_of(tenant).redis_url or os.environ.get(ENV, "")
    if not url:
        return None
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(url)
    if client is None:
        redis = importlib.import_module("redis.asyncio")
        client = per_loop[url] = redis.Redis.from_url(url, decode_responses=True)
    return Gate(client, tenant.id)


def _unavailable() -> tuple[type[BaseException], ...]:
    """What a Redis that is down or unreachable raises: the gate then answers nothing and
    the database decides, as without a gate."""
    return (OSError, importlib.import_module("redis.exceptions").RedisError)


class Refused(Exception):
    """A counter cannot give what is asked: SOLD_OUT for an (item, occurrence) key,
    LIMIT_REACHED for an activity key."""

    def __init__(self, code: str, key: tuple[int, datetime] | int) -> None:
        super().__init__(code, key)
        self.code = code
        self.key = key


class Gate:
    """One tenant's view of the mirror."""

    def __init__(self, client: Any, tenant_id: int) -> None:
        self.client = client
        self.tenant_id = tenant_id

    def _stock_key(self, item_id: int, start: datetime) -> str:
        return f"seckill:{self.tenant_id}:stock:{item_id}:{int(start.timestamp())}"

    def _quota_key(self, activity_id: int) -> str:
        return f"seckill:{self.tenant_id}:quota:{activity_id}"

    async def check(
        self, units: Units, quota: Quota, member_id: int | None, *, rebuild: bool = True
    ) -> None:
        """Refuse what the mirror says cannot be had; writes nothing to the database.
        Missing counters are rebuilt from it, or with ``rebuild=False`` let through."""
        quota = quota if member_id is not None else {}
        await self._run(units, quota, member_id or 0, False, rebuild)

    async def take(self, units: Units, quota: Quota, member_id: int) -> bool:
        """Take the units and the quota from the mirror, all or nothing; False when the
        mirror could not answer (keys churning) and the database alone decides."""
        return await self._run(units, quota, member_id, True)

    async def _run(
        self, units: Units, quota: Quota, member_id: int, take: bool, rebuild: bool = True
    ) -> bool:
        stock_keys = sorted(units)
        activities = sorted(quota)
        keys = [self._stock_key(*k) for k in stock_keys]
        keys += [self._quota_key(a) for a in activities]
        args: list[int | str] = [int(take), len(stock_keys)]
        args += [units[k][0] for k in stock_keys]
        args.append(str(member_id))
        for a in activities:
            args += list(quota[a])
        for attempt in range(2):
            try:
                verdict, index = await self.client.eval(_SCRIPT, len(keys), *keys, *args)
            except _unavailable():
                return False
            if verdict == "OK":
                return True
            if verdict == "SOLD_OUT":
                raise Refused("SOLD_OUT", stock_keys[int(index) - 1])
            if verdict == "LIMIT":
                raise Refused("LIMIT_REACHED", activities[int(index) - 1])
            if attempt > 0 or not rebuild:
                break
            await self.rebuild(units, quota, member_id)
        return False

    async def give_back(self, units: Units, quota: Quota, member_id: int) -> None:
        """Add units and quota back to the counters the mirror holds."""
        stock_keys, activities = sorted(units), sorted(quota)
        keys = [self._stock_key(*k) for k in stock_keys]
        keys += [self._quota_key(a) for a in activities]
        args: list[int | str] = [len(stock_keys), *(units[k][0] for k in stock_keys)]
        args.append(str(member_id))
        for a in activities:
            args += list(quota[a])
        with contextlib.suppress(*_unavailable()):  # the counters heal when they expire
            await self.client.eval(_GIVE_BACK, len(keys), *keys, *args)

    async def rebuild(
        self, units: Units, quota: Quota, member_id: int, *, overwrite: bool = False
    ) -> None:
        """Copy the counters from the database (the occurrence's full stock when no order
        took from it yet), each to expire after ``RESYNC``. Unless ``overwrite``, a
        counter another request mirrored meanwhile is kept."""
        left = (
            {
                (r["item_id"], r["slot_start"]): r["remaining"]
                for r in await SeckillStock.filter(
                    tenant_id=self.tenant_id,
                    item_id__in={i for i, _ in units},
                    slot_start__in={s for _, s in units},
                ).values("item_id", "slot_start", "remaining")
            }
            if units
            else {}
        )
        held = (
            {
                r["activity_id"]: r["taken"]
                for r in await SeckillQuota.filter(
                    tenant_id=self.tenant_id, member_id=member_id, activity_id__in=list(quota)
                ).values("activity_id", "taken")
            }
            if quota
            else {}
        )
        with contextlib.suppress(*_unavailable()):  # rebuilt on a later miss
            async with self.client.pipeline(transaction=True) as pipe:
                for key, (_, stock) in units.items():
                    value = left.get(key, stock)
                    pipe.set(self._stock_key(*key), value, ex=RESYNC, nx=not overwrite)
                for activity_id in quota:
                    name, taken = self._quota_key(activity_id), held.get(activity_id, 0)
                    if overwrite:
                        pipe.hset(name, str(member_id), taken)
                    else:
                        pipe.hsetnx(name, str(member_id), taken)
                    pipe.expire(name, RESYNC, nx=True)
                await pipe.execute()

    async def resync(self, units: Units, quota: Quota, member_id: int, refused: Refused) -> None:
        """Give back what an order took, then set the counter the database contradicted
        to the database's value."""
        await self.give_back(units, quota, member_id)
        if isinstance(refused.key, tuple):
            await self.rebuild({refused.key: units[refused.key]}, {}, member_id, overwrite=True)
        else:
            await self.rebuild({}, {refused.key: quota[refused.key]}, member_id, overwrite=True)
