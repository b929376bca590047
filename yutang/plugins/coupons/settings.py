"""The coupons plugin's per-tenant settings (``[profiles.X.settings.coupons]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.api import TenantInfo


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Limits on templates admins may save, and how many coupon hints a quote shows."""

    max_per_member: Annotated[int, msgspec.Meta(ge=1)] = 100
    max_valid_days: Annotated[int, msgspec.Meta(ge=1)] = 366
    max_scope_ids: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    quote_hints: Annotated[int, msgspec.Meta(ge=0, le=20)] = 3


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's coupon settings."""
    return tenant.setting("coupons", Settings)
