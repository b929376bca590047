"""Creating platform operators, tenants and their staff; operators' per-tenant overrides."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core import auth, roles
from yutang.core.accounts import checked_password
from yutang.core.config import merge_settings, validate_settings
from yutang.core.errors import ConfigError, DomainError, NotFound
from yutang.core.inputs import bounded
from yutang.core.models import Operator, Staff, Tenant
from yutang.core.runtime import Runtime

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Owner(msgspec.Struct, frozen=True):
    """The first owner of a new tenant."""

    username: str
    password: str


async def create_tenant(
    runtime: Runtime,
    slug: str,
    name: str,
    profile: str = "default",
    time_zone: str = "Asia/Shanghai",
    currency: str = "CNY",
    owner: Owner | None = None,
) -> Tenant:
    """A new tenant on a profile of ``plugins.toml``, with its first owner if given (in
    the same transaction: no tenant is left without the owner it was created with)."""
    if not _SLUG.match(slug):
        raise DomainError("INVALID", "lower-case letters, digits and dashes, 2–63", "slug")
    if profile not in runtime.plugins_file.profiles:
        raise DomainError("INVALID", f"unknown profile {profile!r}", "profile")
    bounded(name, "name", 200)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainError("INVALID", f"unknown time zone {time_zone!r}", "timeZone") from exc
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise DomainError("INVALID", "an ISO 4217 code such as CNY", "currency")
    password_hash = None
    if owner is not None:
        _check_username(owner.username, "ownerUsername")
        checked_password(owner.password, "ownerPassword")
        password_hash = await auth.hash_in_thread(owner.password)
    async with in_transaction():
        if await Tenant.exists(slug=slug):
            raise DomainError("SLUG_TAKEN", f"tenant {slug!r} exists", "slug")
        tenant = await Tenant.create(
            slug=slug, name=name or slug, profile=profile, time_zone=time_zone, currency=currency
        )
        if owner is not None and password_hash is not None:
            await Staff.create(
                tenant_id=tenant.id,
                username=owner.username,
                role="owner",
                password_hash=password_hash,
            )
    return tenant


async def set_tenant_plugins(
    runtime: Runtime,
    slug: str,
    *,
    profile: str | None = None,
    plugins: list[str] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    status: str | None = None,
) -> Tenant:
    """Change a tenant's profile, plugin set, settings overrides or status; validated by
    each plugin's Struct and versioned, so every worker picks it up on its next request."""
    bounded(slug, "slug", 64)
    async with in_transaction():
        tenant = await Tenant.filter(slug=slug).select_for_update().first()
        if tenant is None:
            raise NotFound(f"tenant {slug!r}", "slug")
        changes: dict[str, Any] = {}
        if profile is not None:
            if profile not in runtime.plugins_file.profiles:
                raise DomainError("INVALID", f"unknown profile {profile!r}", "profile")
            changes["profile"] = profile
        if plugins is not None:
            for i, name in enumerate(plugins):
                if name not in runtime.registry.plugins or name == "core":
                    raise DomainError("INVALID", f"unknown plugin {name!r}", f"plugins[{i}]")
            changes["plugins"] = sorted(set(plugins))
        if settings is not None:
            for plugin, values in settings.items():
                if not isinstance(values, dict):
                    raise DomainError(
                        "INVALID", "settings of a plugin are an object", f"settings.{plugin}"
                    )
            merged = merge_settings(tenant.settings or {}, settings)
            for plugin, values in merged.items():
                try:
                    validate_settings(runtime.registry, plugin, values, f"settings.{plugin}")
                except ConfigError as exc:
                    raise DomainError("INVALID", str(exc), f"settings.{plugin}") from exc
            changes["settings"] = merged
        if status is not None:
            if status not in ("active", "suspended"):
                raise DomainError("INVALID", "active or suspended", "status")
            changes["status"] = status
        await Tenant.filter(id=tenant.id).update(
            settings_version=F("settings_version") + 1, **changes
        )
        return await Tenant.get(id=tenant.id)


def _check_username(username: str, field: str) -> None:
    if not 1 <= len(username.strip()) <= 64 or username != username.strip():
        raise DomainError("INVALID", "1 to 64 characters, no surrounding spaces", field)


async def create_staff(
    tenant_id: int, username: str, password: str, role: str, name: str = ""
) -> Staff:
    """A staff member of a tenant with a built-in role or one the owner made."""
    _check_username(username, "username")
    checked_password(password, "password")
    bounded(name, "name", 100)
    password_hash = await auth.hash_in_thread(password)
    async with in_transaction():
        await roles.check_role(tenant_id, role)
        if await Staff.exists(tenant_id=tenant_id, username=username):
            raise DomainError("USERNAME_TAKEN", "this username exists", "username")
        return await Staff.create(
            tenant_id=tenant_id,
            username=username,
            name=name,
            role=role,
            password_hash=password_hash,
        )


async def create_operator(username: str, password: str) -> Operator:
    """A platform operator (the first one is made with ``yutang operator create``)."""
    _check_username(username, "username")
    checked_password(password, "password")
    if await Operator.exists(username=username):
        raise DomainError("USERNAME_TAKEN", f"operator {username!r} exists", "username")
    return await Operator.create(
        username=username, password_hash=await auth.hash_in_thread(password)
    )


async def ensure_pinned_tenants(runtime: Runtime) -> None:
    """Create tenants pinned in ``plugins.toml`` that do not exist yet."""
    for slug, pin in runtime.plugins_file.tenants.items():
        if not await Tenant.exists(slug=slug):
            await Tenant.create(
                slug=slug,
                name=pin.name or slug,
                profile=pin.profile,
                time_zone=pin.time_zone,
                currency=pin.currency,
            )
