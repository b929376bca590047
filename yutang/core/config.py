"""``plugins.toml``: industry profiles, pinned tenants, and each plugin's settings.

The file is validated whole at start-up against the installed plugins and their
settings Structs; an error names the file, the key and the reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from yutang.core.errors import ConfigError
from yutang.core.plugins import CORE_PLUGIN, PluginRegistry

S = TypeVar("S", bound=msgspec.Struct)


class Profile(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A plugin set with default settings (``retail``, ``local-services``)."""

    plugins: list[str] = msgspec.field(default_factory=list)
    settings: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


class TenantPin(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A tenant declared in the file (created by ``migrate``/``serve`` if missing)."""

    profile: str = "default"
    name: str = ""
    time_zone: str = "Asia/Shanghai"
    currency: str = "CNY"
    plugins: list[str] | None = None
    settings: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


class PluginsFile(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The parsed ``plugins.toml``."""

    profiles: dict[str, Profile] = msgspec.field(default_factory=dict)
    tenants: dict[str, TenantPin] = msgspec.field(default_factory=dict)


def _path_of(err: msgspec.ValidationError) -> tuple[str, str]:
    """Split msgspec's ``"reason - at `$.a.b`"`` into (dotted key, reason)."""
    text = str(err)
    reason, _, at = text.rpartition(" - at `")
    if not reason:
        return "", text
    return at.rstrip("`").removeprefix("$").lstrip("."), reason


def validate_settings(
    registry: PluginRegistry, plugin: str, values: dict[str, Any], where: str
) -> msgspec.Struct | None:
    """Validate one plugin's settings against its Struct; ConfigError names ``where``.

    A key the Struct lists in ``replaced_keys`` (old key → what to write instead) is
    refused with that advice rather than as an unknown field.
    """
    info = registry.plugins.get(plugin)
    if info is None:
        raise ConfigError(f"{where}: unknown plugin {plugin!r} (not installed)")
    if info.settings_schema is None:
        if values:
            raise ConfigError(f"{where}: plugin {plugin!r} takes no settings")
        return None
    replaced: Mapping[str, str] = getattr(info.settings_schema, "replaced_keys", {})
    if old := sorted(values.keys() & replaced.keys()):
        raise ConfigError(f"{where}.{old[0]}: no longer accepted, use {replaced[old[0]]}")
    try:
        return msgspec.convert(values, info.settings_schema)
    except msgspec.ValidationError as exc:
        key, reason = _path_of(exc)
        raise ConfigError(f"{where}{'.' + key if key else ''}: {reason}") from exc


def load_plugins_file(
    path: Path, registry: PluginRegistry, *, required: bool = False
) -> PluginsFile:
    """Read and validate ``plugins.toml``; a missing file means one empty default profile,
    unless it was named (``required``): then a typo would silently disable every plugin."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: no such file (YUTANG_PLUGINS_FILE names it)")
        return PluginsFile(profiles={"default": Profile()})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for key in raw.keys() - {"profiles", "tenants"}:
        raise ConfigError(f"{path} [{key}]: unknown table (expected profiles or tenants)")
    profiles = {
        name: _entry(value, Profile, path, f"profiles.{name}")
        for name, value in _table(raw, "profiles", path).items()
    }
    tenants = {
        slug: _entry(value, TenantPin, path, f"tenants.{slug}")
        for slug, value in _table(raw, "tenants", path).items()
    }
    parsed = PluginsFile(profiles={"default": Profile(), **profiles}, tenants=tenants)
    for pname, profile in parsed.profiles.items():
        _check_layer(registry, path, f"profiles.{pname}", profile.plugins, profile.settings)
    for slug, pin in parsed.tenants.items():
        if pin.profile not in parsed.profiles:
            raise ConfigError(f"{path} [tenants.{slug}].profile: unknown profile {pin.profile!r}")
        _check_layer(registry, path, f"tenants.{slug}", pin.plugins or [], pin.settings)
        merged = merge_settings(parsed.profiles[pin.profile].settings, pin.settings)
        for plugin, values in merged.items():
            validate_settings(
                registry, plugin, values, f"{path} [tenants.{slug}.settings.{plugin}]"
            )
    return parsed


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path} [{key}]: expected a table")
    return value


def _entry(value: Any, schema: type[S], path: Path, where: str) -> S:
    """Convert one profile or tenant table; the error names that table and the key in it."""
    try:
        return msgspec.convert(value, schema)
    except msgspec.ValidationError as exc:
        key, reason = _path_of(exc)
        raise ConfigError(f"{path} [{where}{'.' + key if key else ''}]: {reason}") from exc


def _check_layer(
    registry: PluginRegistry,
    path: Path,
    where: str,
    plugins: list[str],
    settings: dict[str, dict[str, Any]],
) -> None:
    for name in plugins:
        if name not in registry.plugins or name == CORE_PLUGIN:
            raise ConfigError(f"{path} [{where}].plugins: unknown plugin {name!r}")
    for plugin, values in settings.items():
        validate_settings(registry, plugin, values, f"{path} [{where}.settings.{plugin}]")


def merge_settings(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Merge settings layers key by key per plugin; later layers win."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for plugin, values in layer.items():
            out[plugin] = {**out.get(plugin, {}), **values}
    return out
