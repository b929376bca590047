"""Tortoise configuration (core app + one app per plugin), start-up and migrations."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
from tortoise import Tortoise, connections
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.operations import RunPython

from yutang.core.plugins import CORE_PLUGIN, PluginRegistry
from yutang.core.settings import AppSettings


def _with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in params.items():
        query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


def connection_url(settings: AppSettings, *, migrating: bool = False) -> str:
    """The database URL with pool size (PostgreSQL) or pragmas (SQLite) filled in.

    SQLite migrations rebuild tables; with foreign keys on, the rebuild's DROP would
    cascade into child rows, so migrations run with them off.
    """
    url = settings.database_url
    if settings.is_sqlite:
        return _with_params(url, {"foreign_keys": "OFF"}) if migrating else url
    size = str(settings.db_pool_size)
    return _with_params(url, {"minsize": "1", "maxsize": size})


def apps_config(registry: PluginRegistry) -> dict[str, dict[str, Any]]:
    """The tortoise apps: ``core`` plus every installed plugin that has models."""
    apps: dict[str, dict[str, Any]] = {
        "core": {
            "models": ["yutang.core.models"],
            "default_connection": "default",
            "migrations": "yutang.migrations",
        }
    }
    for name, info in sorted(registry.plugins.items()):
        if name == CORE_PLUGIN or not info.models:
            continue
        package = info.models.rpartition(".")[0]
        apps[name] = {
            "models": [info.models],
            "default_connection": "default",
            "migrations": f"{package}.migrations",
        }
    return apps


def tortoise_config(
    settings: AppSettings, registry: PluginRegistry, *, migrating: bool = False
) -> dict[str, Any]:
    """The full tortoise config for this process."""
    return {
        "connections": {"default": connection_url(settings, migrating=migrating)},
        "apps": apps_config(registry),
        "use_tz": True,
        "timezone": "UTC",
    }


class Unreachable(Exception):
    """The database does not answer; the message names it (never its password)."""


def sqlite_file(settings: AppSettings) -> Path | None:
    """The embedded database's file, as tortoise reads the URL (None: PostgreSQL, or
    SQLite in memory)."""
    if not settings.is_sqlite:
        return None
    parts = urlsplit(settings.database_url)
    name = parts.netloc + parts.path
    return None if name == ":memory:" else Path(name).absolute()


def describe(settings: AppSettings) -> str:
    """The database as a message names it: the file, or the database, host and port."""
    if settings.is_sqlite:
        path = sqlite_file(settings)
        return "SQLite in memory" if path is None else f"the SQLite database {path}"
    parts = urlsplit(settings.database_url)
    host = parts.hostname or "localhost"
    return f"the database {parts.path.lstrip('/')!r} on {host}:{parts.port or 5432}"


def exists(settings: AppSettings) -> bool:
    """False for a SQLite file not yet made: connecting to it would create it."""
    path = sqlite_file(settings)
    return path is None or path.exists()


async def reach(settings: AppSettings, registry: PluginRegistry) -> None:
    """Open one connection and close it, so a command that needs the database says in
    one line that it cannot have it, before it starts (a server would answer 500 to
    every request and its job loop log a traceback twice a second)."""
    path = sqlite_file(settings)
    if path is not None and not path.parent.is_dir():
        raise Unreachable(f"cannot open {describe(settings)}: {path.parent} does not exist")
    try:
        await Tortoise.init(config=tortoise_config(settings, registry))
        await connections.get("default").execute_query("SELECT 1")
    except (OSError, DBConnectionError, sqlite3.Error, asyncpg.PostgresError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise Unreachable(f"cannot reach {describe(settings)}: {reason}") from exc
    finally:
        await Tortoise.close_connections()


async def init_db(settings: AppSettings, registry: PluginRegistry) -> None:
    """Open the connection pool for this process (global fallback: litestar's lifespan
    runs in another task than the requests)."""
    await Tortoise.init(config=tortoise_config(settings, registry), _enable_global_fallback=True)


async def close_db() -> None:
    """Close every connection; without it aiosqlite's thread keeps the process alive."""
    await Tortoise.close_connections()


async def run_migrations(
    settings: AppSettings,
    registry: PluginRegistry,
    progress: Callable[[str, str, str], object] | None = None,
) -> None:
    """Apply the core's and every installed plugin's migrations, then close."""
    try:
        await tortoise_migrate(
            config=tortoise_config(settings, registry, migrating=True), progress=progress
        )
    finally:
        await Tortoise.close_connections()


def __getattr__(name: str) -> Any:
    """``TORTOISE_ORM`` for tortoise's own CLI (``makemigrations``): core + plugins."""
    if name != "TORTOISE_ORM":
        raise AttributeError(name)
    from yutang.core.runtime import build_runtime

    settings = AppSettings.from_env()
    return tortoise_config(settings, build_runtime(settings).registry)


_COLUMN_OR_TEXT = re.compile(r"'(?:[^']|'')*'|\b([a-z_][a-z0-9_]*)\b")


def _on_new_row(found: re.Match[str]) -> str:
    """A column as the trigger's new row has it; a string literal as it is."""
    column = found.group(1)
    return found.group(0) if column is None else f"NEW.{column}"


def check_constraints(*checks: tuple[str, str, str]) -> RunPython:
    """A migration operation creating CHECK constraints: ``(table, name, check)`` each.

    tortoise records a model's ``CheckConstraint`` in the migration state but does not
    create it, and adding one on SQLite rebuilds the table without its unique
    constraints and indexes. This creates them per dialect: constraints on PostgreSQL,
    triggers that abort the statement on SQLite. Write SQL keywords in upper case and
    columns in lower case (``"seats >= 0 AND seats <= size"``, ``"status IN ('a', 'b')"``).
    """

    async def create(apps: Any, schema_editor: Any) -> None:
        client = schema_editor.client
        for table, name, check in checks:
            if client.capabilities.dialect == "sqlite":
                on_new_row = re.sub(_COLUMN_OR_TEXT, _on_new_row, check)
                for event in ("INSERT", "UPDATE"):
                    await client.execute_script(
                        f'CREATE TRIGGER "{name}_{event.lower()}" BEFORE {event} ON "{table}" '
                        f"WHEN NOT ({on_new_row}) "
                        f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
                    )
            else:
                await client.execute_script(
                    f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})'
                )

    return RunPython(create)
