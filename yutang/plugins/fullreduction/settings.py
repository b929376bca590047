"""The full-reduction plugin's per-tenant settings (``[profiles.X.settings.fullreduction]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.api import TenantInfo


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Limits on what admins may save: tiers per rule, products or categories per scope."""

    max_tiers: Annotated[int, msgspec.Meta(ge=1, le=20)] = 10
    max_scope_ids: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's full-reduction settings."""
    return tenant.setting("fullreduction", Settings)
