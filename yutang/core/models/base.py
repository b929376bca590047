"""Base classes shared by core and plugin models."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class TenantModel(Model):
    """A row that belongs to one tenant: every query filters on ``tenant_id``."""

    id = fields.BigIntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "core.Tenant", related_name=False, on_delete=fields.RESTRICT, db_index=False
    )
    tenant_id: int

    class Meta:
        abstract = True


class Timestamped(TenantModel):
    """A tenant row that remembers when it was created."""

    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
