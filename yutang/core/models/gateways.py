"""A tenant's credentials for its payment gateways, sealed at rest."""

from __future__ import annotations

from tortoise import fields

from yutang.core.models.base import Timestamped


class GatewayCredentials(Timestamped):
    """One provider's credentials for one tenant, sealed under the deployment's keys
    (``yutang.core.sealing``); ``hint`` is what staff see of them (a merchant id, the
    tail of a key serial), never a secret."""

    provider = fields.CharField(max_length=32)
    sealed = fields.TextField()
    hint = fields.CharField(max_length=200, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "gateway_credentials"
        unique_together = (("tenant", "provider"),)
