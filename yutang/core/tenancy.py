"""Resolving the request's tenant: its plugin set and validated settings."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, TypeVar

import msgspec
from cachetools import LRUCache

from yutang.core.config import PluginsFile, merge_settings, validate_settings
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import Tenant
from yutang.core.plugins import CORE_PLUGIN, PluginRegistry
from yutang.core.resources import Resources
from yutang.core.sql import Statement

S = TypeVar("S", bound=msgspec.Struct)

current_tenant: ContextVar[TenantInfo | None] = ContextVar("yutang_tenant", default=None)


class TenantResolver:
    """Turns a tenant row into a :class:`TenantInfo`, cached per (id, version)."""

    def __init__(
        self, registry: PluginRegistry, plugins_file: PluginsFile, resources: Resources
    ) -> None:
        self.registry = registry
        self.file = plugins_file
        self.resources = resources
        self._cache: LRUCache[tuple[int, int, str, str], TenantInfo] = LRUCache(10_000)

    async def by_slug(self, slug: str) -> TenantInfo:
        """The tenant with this slug; NOT_FOUND if none, SUSPENDED if suspended."""
        if "\x00" in slug:  # PostgreSQL cannot compare it; no slug holds one
            raise NotFound(f"tenant {slug!r}", "X-Tenant")
        info = await self._current("slug", slug)
        if info is None:
            raise NotFound(f"tenant {slug!r}", "X-Tenant")
        if info.status != "active":
            raise DomainError("TENANT_SUSPENDED", f"tenant {slug!r} is suspended", "X-Tenant")
        return info

    async def by_id(self, tenant_id: int) -> TenantInfo:
        """The tenant with this id, whatever its status (jobs still run for it)."""
        info = await self._current("id", tenant_id)
        if info is None:
            raise NotFound(f"tenant {tenant_id}", "tenantId")
        return info

    async def _current(self, column: str, value: str | int) -> TenantInfo | None:
        """The tenant as it is now: one plain statement reads its cache key (every request
        and job asks), the whole row is read only when that key is new."""
        q = Statement()
        rows = await q.rows(
            "SELECT id, settings_version, profile, status FROM tenant "
            f"WHERE {column} = {q.arg(value)}"
        )
        if not rows:
            return None
        r = rows[0]
        info = self._cache.get((r["id"], r["settings_version"], r["profile"], r["status"]))
        return info if info is not None else self.from_row(await Tenant.get(id=r["id"]))

    def from_row(self, row: Tenant) -> TenantInfo:
        """Build (or reuse) the info for a tenant row."""
        key = (row.id, row.settings_version, row.profile, row.status)
        info = self._cache.get(key)
        if info is None:
            info = self._cache[key] = self._build(row)
        return info

    def _build(self, row: Tenant) -> TenantInfo:
        profile = self.file.profiles.get(row.profile) or self.file.profiles["default"]
        pin = self.file.tenants.get(row.slug)
        names: list[str] = profile.plugins
        if pin is not None and pin.plugins is not None:
            names = pin.plugins
        if row.plugins is not None:
            names = row.plugins
        layers = [profile.settings, pin.settings if pin else {}, row.settings or {}]
        merged = merge_settings(*layers)
        plugin_set = self.registry.plugin_set(names)
        settings: dict[str, Any] = {}
        for plugin in plugin_set.names:
            values = merged.get(plugin, {})
            where = f"tenant {row.slug} settings.{plugin}"
            settings[plugin] = validate_settings(self.registry, plugin, values, where)
        settings.setdefault(CORE_PLUGIN, None)
        return TenantInfo(
            id=row.id,
            slug=row.slug,
            name=row.name,
            time_zone=row.time_zone,
            currency=row.currency,
            status=row.status,
            profile=row.profile,
            settings_version=row.settings_version,
            hooks=plugin_set,
            plugins=plugin_set.names,
            settings=settings,
            resources=self.resources,
            webhook_events=frozenset(row.webhook_events or ()),
        )

    def clear(self) -> None:
        """Forget cached tenants (tests that rewrite settings in place)."""
        self._cache.clear()
