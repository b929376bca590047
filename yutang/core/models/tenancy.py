"""Tenants, their staff and stores, and the platform operators above them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from yutang.core.models.base import TenantModel, Timestamped


class Tenant(Model):
    """A merchant. Plugin set and settings come from its profile plus overrides.

    ``webhook_events`` are the event types its active webhook subscriptions want, kept
    by every change to them (with ``settings_version``), so the outbox looks
    subscriptions up only for events someone wants.
    """

    id = fields.BigIntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    time_zone = fields.CharField(max_length=64, default="Asia/Shanghai")
    currency = fields.CharField(max_length=3, default="CNY")
    profile = fields.CharField(max_length=64, default="default")
    status = fields.CharField(max_length=16, default="active", db_default="active")
    plugins: list[str] | None = fields.JSONField(null=True)
    settings: dict[str, dict[str, object]] = fields.JSONField(default=dict)
    settings_version = fields.IntField(default=1, db_default=1)
    cors_origins: list[str] | None = fields.JSONField(null=True)
    webhook_events: list[str] | None = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tenant"


class TenantDomain(Model):
    """A host name a tenant's storefront is served on: a request to it is the tenant's."""

    id = fields.BigIntField(primary_key=True)
    host = fields.CharField(max_length=253, unique=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "core.Tenant", related_name=False, on_delete=fields.CASCADE
    )

    class Meta:
        table = "tenant_domain"


class Operator(Model):
    """A platform operator (the SaaS vendor), above every tenant."""

    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=200)

    class Meta:
        table = "operator"


class Staff(Timestamped):
    """A staff member of a tenant, with one role: built-in or one the owner made."""

    username = fields.CharField(max_length=64)
    name = fields.CharField(max_length=100, default="")
    role = fields.CharField(max_length=32)
    password_hash = fields.CharField(max_length=200)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "staff"
        unique_together = (("tenant", "username"),)


class StaffRole(Timestamped):
    """A role an owner made from declared permissions, assigned to staff by its ``key``.

    ``all_stores`` false binds its holders to their own stores for store-scoped
    permissions, as a clerk is bound."""

    key = fields.CharField(max_length=32)
    name = fields.CharField(max_length=64)
    permissions: list[str] = fields.JSONField(default=list)
    all_stores = fields.BooleanField(default=False)

    class Meta:
        table = "staff_role"
        unique_together = (("tenant", "key"),)


class AuditEntry(Timestamped):
    """One staff action through the admin API (操作日志): who, what, on which object.

    ``actor`` is ``staff:<id>`` or ``operator:<id>``, ``action`` the admin mutation,
    ``plugin`` whose it is, ``target`` the global ID it acted on (or empty)."""

    actor = fields.CharField(max_length=64)
    action = fields.CharField(max_length=100)
    plugin = fields.CharField(max_length=64)
    target = fields.CharField(max_length=200, default="")

    class Meta:
        table = "audit_entry"
        indexes = (("tenant_id", "id"), ("tenant_id", "actor", "id"))


class Store(Timestamped):
    """A physical store that plugins (pickup, distributor) build on."""

    name = fields.CharField(max_length=200)
    address = fields.CharField(max_length=500, default="")

    class Meta:
        table = "store"
        indexes = (("tenant_id", "id"),)


class StoreStaff(TenantModel):
    """Which staff belong to which store (a clerk acts only for their stores)."""

    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="staff_links", on_delete=fields.CASCADE
    )
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "core.Staff", related_name="store_links", on_delete=fields.CASCADE
    )

    class Meta:
        table = "store_staff"
        unique_together = (("tenant", "store", "staff"),)


class AuthToken(Model):
    """A bearer token, stored as its sha256, for a member, staff member or operator."""

    id = fields.BigIntField(primary_key=True)
    digest = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=16)
    subject_id = fields.BigIntField()
    tenant_id = fields.BigIntField(null=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "auth_token"
        # Revoking an account's tokens; purging a tenant's expired ones.
        indexes = (("tenant_id", "kind", "subject_id"), ("tenant_id", "expires_at"))
