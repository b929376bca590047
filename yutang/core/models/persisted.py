"""Persisted GraphQL operations a tenant's frontend team registered (the allowlist)."""

from __future__ import annotations

from tortoise import fields

from yutang.core.models.base import Timestamped


class PersistedOperation(Timestamped):
    """A storefront operation registered by its sha256, so production accepts it from
    anonymous callers and clients may send the hash alone."""

    sha256 = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200, default="")
    query = fields.TextField()

    class Meta:
        table = "persisted_operation"
        unique_together = (("tenant_id", "sha256"),)
