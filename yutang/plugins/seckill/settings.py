"""The seckill plugin's per-tenant settings (``[profiles.X.settings.seckill]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.api import TenantInfo


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Defaults for new activities, the limits admins may set, and the optional Redis gate
    (``redis_url``, else the ``YUTANG_SECKILL_REDIS_URL`` environment variable)."""

    payment_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    max_member_limit: Annotated[int, msgspec.Meta(ge=1)] = 100
    redis_url: str = ""


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's seckill settings."""
    return tenant.setting("seckill", Settings)
