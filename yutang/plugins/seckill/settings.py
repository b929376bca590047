"""The seckill plugin's per-tenant settings (``[profiles.X.settings.seckill]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

import msgspec

from yutang.api import TenantInfo


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Defaults for new activities, the limits admins may set, and whether the Redis gate
    answers sold-out and limit checks when the deployment has Redis (``gate``)."""

    payment_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    max_member_limit: Annotated[int, msgspec.Meta(ge=1)] = 100
    gate: bool = True

    replaced_keys: ClassVar[Mapping[str, str]] = {
        "redis_url": "the deployment's YUTANG_REDIS_URL (gate = false turns the gate off)"
    }


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's seckill settings."""
    return tenant.setting("seckill", Settings)
