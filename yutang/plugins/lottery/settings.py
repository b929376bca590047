"""The lottery plugin's per-tenant settings (``[profiles.X.settings.lottery]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.api import TenantInfo


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Defaults for goods prizes: the days a winner has to claim, and whether a winner may
    pick the prize up instead of giving an address."""

    claim_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 7
    allow_pickup: bool = True


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's lottery settings."""
    return tenant.setting("lottery", Settings)
