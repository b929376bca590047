"""Where cached storefront responses live: this process's memory, bounded in bytes (one
worker), or Redis shared by every worker. Entries belong to a generation of their tenant
and of the deployment, so dropping a tenant's entries is one counter bump."""

from __future__ import annotations

import hashlib
import importlib
from collections import OrderedDict
from typing import Any, Protocol

import msgspec

from yutang.core import clock
from yutang.core.errors import ConfigError
from yutang.core.settings import AppSettings

_ENTRY_OVERHEAD = 200  # bytes per entry beyond body and key: dict slot, Struct, strings


class Entry(msgspec.Struct, array_like=True, frozen=True):
    """A stored response: its expiry (epoch seconds, core clock), ETag and body."""

    expires: float
    etag: str
    body: bytes


class Store(Protocol):
    """Where entries live: this process, or Redis shared by every worker."""

    async def lookup(self, slug: str, key: str) -> tuple[str, Entry | None]:
        """The current generation of the tenant and the entry under it, if any."""

    async def store(self, slug: str, generation: str, key: str, entry: Entry) -> None:
        """Keep ``entry`` under the generation read before the response was computed."""

    async def invalidate(self, slug: str | None) -> None:
        """Drop the tenant's entries (every tenant's when ``slug`` is None)."""

    async def aclose(self) -> None:
        """Release connections."""


class LocalStore:
    """An in-process LRU bounded by the bytes of its entries (one worker only)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[str, str], tuple[str, Entry]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._everyone = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _generation(self, slug: str) -> str:
        return f"{self._everyone}.{self._generations.get(slug, 0)}"

    async def lookup(self, slug: str, key: str) -> tuple[str, Entry | None]:
        generation = self._generation(slug)
        found = self._entries.get((slug, key))
        if found is None:
            return generation, None
        if found[0] != generation:
            self._drop((slug, key))
            return generation, None
        self._entries.move_to_end((slug, key))
        return generation, found[1]

    async def store(self, slug: str, generation: str, key: str, entry: Entry) -> None:
        if generation != self._generation(slug):
            return
        size = _size(key, entry)
        if size > self.max_bytes:
            return
        self._drop((slug, key))
        self._entries[(slug, key)] = (generation, entry)
        self.bytes += size
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, where: tuple[str, str]) -> None:
        found = self._entries.pop(where, None)
        if found is not None:
            self.bytes -= _size(where[1], found[1])

    async def invalidate(self, slug: str | None) -> None:
        if slug is None:
            self._everyone += 1
        else:
            self._generations[slug] = self._generations.get(slug, 0) + 1

    async def aclose(self) -> None:
        return None


def _size(key: str, entry: Entry) -> int:
    return len(key) + len(entry.body) + len(entry.etag) + _ENTRY_OVERHEAD


# One round trip: both generations, then the entry stored under them.
_LOOKUP = """
local g = (redis.call('GET', KEYS[1]) or '0') .. '.' .. (redis.call('GET', KEYS[2]) or '0')
return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}
"""


class RedisStore:
    """Entries shared by every worker: ``{prefix}rc:{slug}:{generation}:{key hash}``,
    each with a Redis expiry at its own; generations are counters without expiry."""

    def __init__(self, url: str, prefix: str) -> None:
        redis = importlib.import_module("redis.asyncio")
        self.client: Any = redis.Redis.from_url(url)
        self.prefix = prefix + "rc:"
        self._lookup = self.client.register_script(_LOOKUP)
        self._decoder = msgspec.msgpack.Decoder(Entry)
        self._encoder = msgspec.msgpack.Encoder()

    def _digest(self, key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    async def lookup(self, slug: str, key: str) -> tuple[str, Entry | None]:
        keys = [self.prefix + "gen", f"{self.prefix}gen:{slug}"]
        generation, raw = await self._lookup(keys, [f"{self.prefix}{slug}:", self._digest(key)])
        entry = None if raw is None else self._decoder.decode(raw)
        return generation.decode(), entry

    async def store(self, slug: str, generation: str, key: str, entry: Entry) -> None:
        ttl_ms = max(1, int((entry.expires - clock.now().timestamp()) * 1000))
        name = f"{self.prefix}{slug}:{generation}:{self._digest(key)}"
        await self.client.set(name, self._encoder.encode(entry), px=ttl_ms)

    async def invalidate(self, slug: str | None) -> None:
        await self.client.incr(self.prefix + "gen" if slug is None else f"{self.prefix}gen:{slug}")

    async def aclose(self) -> None:
        await self.client.aclose()


def make_store(settings: AppSettings) -> Store:
    """Redis when configured, else this process's memory."""
    if settings.redis_url:
        return RedisStore(settings.redis_url, settings.cache_prefix)
    return LocalStore(int(settings.response_cache_mb * 2**20))


def check_workers(settings: AppSettings, workers: int) -> None:
    """Refuse several workers with the cache on and no Redis: an admin write handled by
    one worker could not drop the entries of another, which would then serve old prices."""
    if workers > 1 and settings.response_cache and not settings.redis_url:
        raise ConfigError(
            f"{workers} workers with the response cache on need Redis: set YUTANG_REDIS_URL, "
            "or YUTANG_RESPONSE_CACHE=off, or run one worker"
        )
