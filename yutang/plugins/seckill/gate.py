"""The optional Redis gate: answers "sold out" and "limit reached" from Redis.

Used when the deployment has Redis (``YUTANG_REDIS_URL``, offered to plugins by the core)
and the tenant's ``gate`` setting is on (the default).
Redis mirrors the database's counters: units left per (item, occurrence) and units held
per (activity, member, limited scope). Admission asks the mirror before placeOrder's
transaction (in front of GraphQL for a plain request), and an order takes its units and
quota from it with one atomic script before the database's conditional UPDATEs, so once
an occurrence is sold out every further order is refused without a transaction, a lock
or a seckill table read. The database stays the only judge: a missing key is rebuilt
from it, every key expires after ``RESYNC`` and is rebuilt again (healing any drift, e.g. an order
that failed after the gate let it through), an order the database refuses gives its units
back at once and resets the counter it contradicted, and a request the mirror cannot
answer (its keys churning) goes on to the database. Every drift errs towards letting a
request through to the database, never towards refusing one the database would accept,
except for an order that fails after this plugin's hook, until its keys expire. A Redis
that is down or unreachable answers nothing: the database decides alone.
"""

from __future__ import annotations

import contextlib
import importlib
from datetime import datetime
from typing import Any, cast

from yutang import api
from yutang.plugins.seckill.limits import check_order
from yutang.plugins.seckill.models import SeckillMemberQuota, SeckillStock
from yutang.plugins.seckill.settings import settings_of

RESYNC = 30  # seconds a mirrored counter lives before it is read from the database again

Units = dict[tuple[int, datetime], tuple[int, int]]
"""Units asked per (item, occurrence start), with the item's stock per occurrence."""
Quota = dict[tuple[int, str], tuple[int, int]]
"""Units asked per (activity, scope key), with that scope's per-member limit."""

# KEYS: n stock keys, then one quota hash per limit (an activity's hash once per limit).
# ARGV: take (1/0), n, n quantities, then per limit its hash field, quantity and limit.
# Returns {verdict, key index}.
_SCRIPT = """
local take, n = ARGV[1] == '1', tonumber(ARGV[2])
for i = 1, n do
  local left = redis.call('GET', KEYS[i])
  if not left then return {'MISS', i} end
  if tonumber(left) < tonumber(ARGV[2 + i]) then return {'SOLD_OUT', i} end
end
for j = 1, #KEYS - n do
  local at = n + 3 * j
  local held = redis.call('HGET', KEYS[n + j], ARGV[at])
  if not held then return {'MISS', n + j} end
  if tonumber(held) + tonumber(ARGV[at + 1]) > tonumber(ARGV[at + 2]) then
    return {'LIMIT', j}
  end
end
if take then
  for i = 1, n do redis.call('DECRBY', KEYS[i], ARGV[2 + i]) end
  for j = 1, #KEYS - n do
    redis.call('HINCRBY', KEYS[n + j], ARGV[n + 3 * j], ARGV[n + 3 * j + 1])
  end
end
return {'OK', 0}
"""
# KEYS as above; ARGV: n, n quantities, then per limit its hash field and quantity. Adds
# the quantities back to counters that exist.
_GIVE_BACK = """
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[1 + i]) end
end
for j = 1, #KEYS - n do
  local field = ARGV[n + 2 * j]
  if redis.call('HEXISTS', KEYS[n + j], field) == 1 then
    redis.call('HINCRBY', KEYS[n + j], field, -tonumber(ARGV[n + 2 * j + 1]))
  end
end
return 1
"""


def gate_for(tenant: api.TenantInfo) -> Gate | None:
    """The tenant's gate, or None without the deployment's Redis or with ``gate`` off."""
    if not settings_of(tenant).gate:
        return None
    client = tenant.redis()
    return None if client is None else Gate(client, tenant.id)


def _unavailable() -> tuple[type[BaseException], ...]:
    """What a Redis that is down or unreachable raises: the gate then answers nothing and
    the database decides, as without a gate."""
    return (OSError, importlib.import_module("redis.exceptions").RedisError)


class Refused(Exception):
    """A counter cannot give what is asked: SOLD_OUT for an (item, occurrence) key,
    LIMIT_REACHED for an (activity, scope key) key."""

    def __init__(self, code: str, key: tuple[int, datetime] | tuple[int, str]) -> None:
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

    @staticmethod
    def _field(member_id: int, scope: str) -> str:
        """A member's counter in its activity's hash: the bare member id for the ACTIVITY
        scope (as before scopes, so a rolling deploy shares the counter)."""
        return str(member_id) if scope == "activity" else f"{member_id}:{scope}"

    def _keys(
        self, stock_keys: list[tuple[int, datetime]], limits: list[tuple[int, str]]
    ) -> list[str]:
        """Every Redis key a script takes: the stock keys, then a hash per limit."""
        keys = [self._stock_key(*k) for k in stock_keys]
        return keys + [self._quota_key(activity_id) for activity_id, _ in limits]

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
        stock_keys, limits = sorted(units), sorted(quota, key=check_order)
        keys = self._keys(stock_keys, limits)
        args: list[int | str] = [int(take), len(stock_keys)]
        args += [units[k][0] for k in stock_keys]
        for activity_id, scope in limits:
            args += [self._field(member_id, scope), *quota[(activity_id, scope)]]
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
                raise Refused("LIMIT_REACHED", limits[int(index) - 1])
            if attempt > 0 or not rebuild:
                break
            await self.rebuild(units, quota, member_id)
        return False

    async def give_back(self, units: Units, quota: Quota, member_id: int) -> None:
        """Add units and quota back to the counters the mirror holds."""
        stock_keys, limits = sorted(units), sorted(quota, key=check_order)
        keys = self._keys(stock_keys, limits)
        args: list[int | str] = [len(stock_keys), *(units[k][0] for k in stock_keys)]
        for activity_id, scope in limits:
            args += [self._field(member_id, scope), quota[(activity_id, scope)][0]]
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
                (r["activity_id"], r["scope"]): r["taken"]
                for r in await SeckillMemberQuota.filter(
                    tenant_id=self.tenant_id,
                    member_id=member_id,
                    activity_id__in={a for a, _ in quota},
                    scope__in={s for _, s in quota},
                ).values("activity_id", "scope", "taken")
            }
            if quota
            else {}
        )
        with contextlib.suppress(*_unavailable()):  # rebuilt on a later miss
            async with self.client.pipeline(transaction=True) as pipe:
                for key, (_, stock) in units.items():
                    value = left.get(key, stock)
                    pipe.set(self._stock_key(*key), value, ex=RESYNC, nx=not overwrite)
                for activity_id, scope in quota:
                    name, field = self._quota_key(activity_id), self._field(member_id, scope)
                    taken = held.get((activity_id, scope), 0)
                    if overwrite:
                        pipe.hset(name, field, taken)
                    else:
                        pipe.hsetnx(name, field, taken)
                    pipe.expire(name, RESYNC, nx=True)
                await pipe.execute()

    async def resync(self, units: Units, quota: Quota, member_id: int, refused: Refused) -> None:
        """Give back what an order took, then set the counter the database contradicted
        to the database's value."""
        await self.give_back(units, quota, member_id)
        if refused.code == "SOLD_OUT":
            key = cast(tuple[int, datetime], refused.key)
            await self.rebuild({key: units[key]}, {}, member_id, overwrite=True)
        else:
            limit = cast(tuple[int, str], refused.key)
            await self.rebuild({}, {limit: quota[limit]}, member_id, overwrite=True)
