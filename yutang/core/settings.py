"""Process settings, read once from ``YUTANG_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec


class AppSettings(msgspec.Struct, frozen=True):
    """Where the database, Redis and ``plugins.toml`` are, and how the server behaves.

    ``plugins_file`` unset means ``plugins.toml`` in the working directory, if there is
    one (none: no plugins); a path that is set must exist.
    ``response_cache_ttl`` (seconds) is the longest a cached anonymous storefront response
    lives: the bound on how stale stock shown from the cache can be. ``persisted_queries``
    is ``open`` (any query, automatic persisted queries) or ``allowlist`` (anonymous
    storefront callers may run only operations the tenant registered).

    ``trusted_proxies`` are the comma-separated CIDRs of load balancers whose
    ``X-Forwarded-For`` names the client (none: the peer address is the client). The
    ``*_limit_*`` settings are rates in the notation of the ``limits`` library
    (``"5/15minutes"``, several joined by ``;``): failed logins per account and per client
    address, verification codes sent per phone and per client address, sign-ups per client
    address.
    ``max_cost_storefront`` / ``max_cost_admin`` bound an operation's cost computed before
    it runs (``docs/security.md``); ``max_cost_persisted`` is the storefront's bound
    for operations on the tenant's allowlist. ``introspection`` is ``on`` (anyone),
    ``staff`` (staff and operators with a valid token, admin API only) or ``off``; None
    means ``on`` in development and ``staff`` in production.
    ``hsts_seconds`` > 0 sends ``Strict-Transport-Security`` with that max-age.
    ``cors_origins`` are the comma-separated origins whose browser pages may call the API
    (``https://shop.example.com``; ``*`` for any; none: no CORS).
    ``front_admission`` asks the plugins about a placeOrder in front of GraphQL (off: the
    resolver asks them); ``plan_executor`` completes plain object trees with plans
    (off: graphql-core's generic completion).
    ``trace_plugins`` logs every hook and owned-object call with its plugin and timing
    (logger ``yutang.plugins.trace``).
    ``job_concurrency`` is how many jobs of each queue a worker runs at once
    (``events=3,timeouts=2,bulk=1,webhooks=2,gateways=1``; keep the sum under
    ``db_pool_size``);
    ``jobs_listen_url`` a DSN straight to PostgreSQL for the worker's ``LISTEN`` when
    ``database_url`` goes through a transaction-mode pooler (none: ``database_url``);
    ``job_retention_days`` how long done jobs are kept, ``webhook_retention_days``
    how long the log of settled webhook deliveries is (``docs/operations.md``).
    """

    database_url: str = "sqlite://yutang.sqlite3"
    plugins_file: str | None = None
    redis_url: str | None = None
    default_tenant: str = "demo"
    production: bool = False
    db_pool_size: int = 10
    token_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    response_cache: bool = True
    response_cache_ttl: float = 1.0
    response_cache_mb: int = 64
    cache_prefix: str = "yutang:"
    persisted_queries: Literal["open", "allowlist"] = "open"
    trusted_proxies: str = ""
    login_limit_account: str = "5/15minutes"
    login_limit_address: str = "30/15minutes"
    code_limit_phone: str = "1/minute;5/hour"
    code_limit_address: str = "20/hour"
    register_limit_address: str = "20/hour"
    max_cost_storefront: int = 100_000
    max_cost_admin: int = 100_000
    max_cost_persisted: int = 250_000
    introspection: Literal["on", "staff", "off"] | None = None
    hsts_seconds: int = 0
    cors_origins: str = ""
    front_admission: bool = True
    plan_executor: bool = True
    trace_plugins: bool = False
    job_concurrency: str = "events=3,timeouts=2,bulk=1,webhooks=2,gateways=1"
    jobs_listen_url: str | None = None
    job_retention_days: Annotated[float, msgspec.Meta(gt=0)] = 7.0
    webhook_retention_days: Annotated[float, msgspec.Meta(gt=0)] = 30.0

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
            "response_cache": "YUTANG_RESPONSE_CACHE",
            "response_cache_ttl": "YUTANG_RESPONSE_CACHE_TTL",
            "response_cache_mb": "YUTANG_RESPONSE_CACHE_MB",
            "cache_prefix": "YUTANG_CACHE_PREFIX",
            "persisted_queries": "YUTANG_PERSISTED_QUERIES",
            "token_days": "YUTANG_TOKEN_DAYS",
            "trusted_proxies": "YUTANG_TRUSTED_PROXIES",
            "login_limit_account": "YUTANG_LOGIN_LIMIT_ACCOUNT",
            "login_limit_address": "YUTANG_LOGIN_LIMIT_ADDRESS",
            "code_limit_phone": "YUTANG_CODE_LIMIT_PHONE",
            "code_limit_address": "YUTANG_CODE_LIMIT_ADDRESS",
            "register_limit_address": "YUTANG_REGISTER_LIMIT_ADDRESS",
            "max_cost_storefront": "YUTANG_MAX_COST_STOREFRONT",
            "max_cost_admin": "YUTANG_MAX_COST_ADMIN",
            "max_cost_persisted": "YUTANG_MAX_COST_PERSISTED",
            "introspection": "YUTANG_INTROSPECTION",
            "hsts_seconds": "YUTANG_HSTS_SECONDS",
            "cors_origins": "YUTANG_CORS_ORIGINS",
            "front_admission": "YUTANG_FRONT_ADMISSION",
            "plan_executor": "YUTANG_PLAN_EXECUTOR",
            "trace_plugins": "YUTANG_TRACE_PLUGINS",
            "job_concurrency": "YUTANG_JOB_CONCURRENCY",
            "jobs_listen_url": "YUTANG_JOBS_LISTEN_URL",
            "job_retention_days": "YUTANG_JOB_RETENTION_DAYS",
            "webhook_retention_days": "YUTANG_WEBHOOK_RETENTION_DAYS",
        }
        values: dict[str, object] = {
            key: os.environ[var] for key, var in names.items() if os.environ.get(var)
        }
        for switch in ("response_cache", "front_admission", "plan_executor", "trace_plugins"):
            value = values.get(switch)
            if isinstance(value, str):
                values[switch] = value.lower() not in ("off", "0", "false", "no")
        values["production"] = os.environ.get("YUTANG_ENV", "development") == "production"
        values.update(overrides)
        return msgspec.convert(values, cls, strict=False)

    @property
    def introspection_policy(self) -> Literal["on", "staff", "off"]:
        """Who may introspect: ``introspection``, or by environment when unset."""
        if self.introspection is not None:
            return self.introspection
        return "staff" if self.production else "on"

    def plugins_path(self) -> Path:
        """The ``plugins.toml`` path."""
        return Path(self.plugins_file or "plugins.toml")


class WebhookSettings(msgspec.Struct, frozen=True):
    """The deployment's rules for webhooks going out, from ``YUTANG_WEBHOOK_*``.

    Read where they apply — when a subscription is saved and before every delivery — so
    the API and job workers running as separate processes apply the same environment.
    ``allow_private`` (``YUTANG_WEBHOOK_ALLOW_PRIVATE``) lets URLs resolve to loopback,
    private, link-local or other non-global addresses (a receiver inside the operator's
    own network); ``allow_http`` (``YUTANG_WEBHOOK_ALLOW_HTTP``) lets them be plain
    ``http``. ``timeout`` (``YUTANG_WEBHOOK_TIMEOUT``, seconds) bounds one attempt from
    connecting to the last byte read.
    """

    allow_private: bool = False
    allow_http: bool = False
    timeout: Annotated[float, msgspec.Meta(gt=0, le=30)] = 10.0

    @classmethod
    def from_env(cls) -> WebhookSettings:
        """The rules the environment sets now."""
        values: dict[str, object] = {}
        for key in ("allow_private", "allow_http"):
            raw = os.environ.get(f"YUTANG_WEBHOOK_{key.upper()}")
            if raw:
                values[key] = raw.lower() not in ("off", "0", "false", "no")
        timeout = os.environ.get("YUTANG_WEBHOOK_TIMEOUT")
        if timeout:
            values["timeout"] = timeout
        return msgspec.convert(values, cls, strict=False)
