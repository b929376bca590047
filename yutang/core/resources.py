"""What the core shares with plugins: one Redis client and bounded in-process caches.

One :class:`Resources` belongs to the process's runtime and reaches plugins through
:class:`~yutang.core.contract.TenantInfo`. Plugins open no Redis of their own and keep
no caches in module globals: a deployment has one Redis to configure and one place where
every in-process cache is bounded.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Hashable, MutableMapping
from typing import Any
from weakref import WeakKeyDictionary

from cachetools import LRUCache, TTLCache


class Resources:
    """The deployment's Redis (a client per event loop, created on first use) and the
    caches handed out by name."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._clients: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            WeakKeyDictionary()
        )
        self._caches: dict[tuple[int, str, str], MutableMapping[Hashable, Any]] = {}

    def redis(self) -> Any | None:
        """The Redis client of the running event loop, or None without ``YUTANG_REDIS_URL``.

        redis-py is imported only when a deployment has Redis, so Yutang runs without it.
        """
        if not self.redis_url:
            return None
        per_loop = self._clients.setdefault(asyncio.get_running_loop(), {})
        client = per_loop.get(self.redis_url)
        if client is None:
            redis = importlib.import_module("redis.asyncio")
            client = per_loop[self.redis_url] = redis.Redis.from_url(
                self.redis_url, decode_responses=True
            )
        return client

    def cache(
        self, tenant_id: int, plugin: str, name: str, *, maxsize: int, ttl: float | None
    ) -> MutableMapping[Hashable, Any]:
        """The cache of ``(tenant, plugin, name)``, made on first use with these bounds."""
        key = (tenant_id, plugin, name)
        found = self._caches.get(key)
        if found is None:
            found = self._caches[key] = LRUCache(maxsize) if ttl is None else TTLCache(maxsize, ttl)
        return found

    def clear(self) -> None:
        """Forget every cache (a test emptied the database, so ids repeat)."""
        self._caches.clear()
