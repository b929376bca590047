"""The process's runtime: settings, installed plugins, ``plugins.toml``, tenants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from yutang.core import builtin
from yutang.core.config import PluginsFile, load_plugins_file
from yutang.core.domains import Domains
from yutang.core.plugins import CORE_PLUGIN, PluginRegistry
from yutang.core.resources import Resources
from yutang.core.settings import AppSettings
from yutang.core.tenancy import TenantResolver


@dataclass
class Runtime:
    """Everything a request, a job or a CLI command needs beyond the database."""

    settings: AppSettings
    registry: PluginRegistry
    plugins_file: PluginsFile
    tenants: TenantResolver
    resources: Resources
    domains: Domains


def build_runtime(
    settings: AppSettings,
    *,
    entry_points: bool = True,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Runtime:
    """Register the core plugin, installed plugins (entry points) and extras, then
    validate ``plugins.toml`` against them."""
    registry = PluginRegistry(trace=settings.trace_plugins)
    registry.register(CORE_PLUGIN, builtin, version="", distribution="yutang")
    if entry_points:
        registry.load_entry_points()
    for name, module in extra_plugins:
        registry.register(name, module)
    registry.check()
    plugins_file = load_plugins_file(
        settings.plugins_path(), registry, required=settings.plugins_file is not None
    )
    resources = Resources(settings.redis_url)
    return Runtime(
        settings=settings,
        registry=registry,
        plugins_file=plugins_file,
        tenants=TenantResolver(registry, plugins_file, resources),
        resources=resources,
        domains=Domains(),
    )
