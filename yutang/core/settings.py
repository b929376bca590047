"""Process settings, read once from ``YUTANG_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class AppSettings(msgspec.Struct, frozen=True):
    """Where the database, Redis and ``plugins.toml`` are, and how the server behaves."""

    database_url: str = "sqlite://yutang.sqlite3"
    plugins_file: str = "plugins.toml"
    redis_url: str | None = None
    default_tenant: str = "demo"
    production: bool = False
    db_pool_size: int = 10
    token_days: int = 30

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, **overrides: object) -> AppSettings:
        """Build settings from the environment; keyword overrides win."""
        names = {
            "database_url": "YUTANG_DATABASE_URL",
            "plugins_file": "YUTANG_PLUGINS_FILE",
            "redis_url": "YUTANG_REDIS_URL",
            "default_tenant": "YUTANG_DEFAULT_TENANT",
            "db_pool_size": "YUTANG_DB_POOL_SIZE",
        }
        values: dict[str, object] = {
            key: os.environ[var] for key, var in names.items() if os.environ.get(var)
        }
        values["production"] = os.environ.get("YUTANG_ENV", "development") == "production"
        values.update(overrides)
        return msgspec.convert(values, cls, strict=False)

    def plugins_path(self) -> Path:
        """The ``plugins.toml`` path."""
        return Path(self.plugins_file)
