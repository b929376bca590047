"""The group-buy plugin's per-tenant settings (``[profiles.X.settings.groupbuy]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.api import TenantInfo


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Defaults for new activities and the bounds admins may set.

    ``payment_minutes`` is how long a joiner's seat is held unpaid; ``max_team_size`` and
    ``max_validity_hours`` keep a merchant from creating teams that can never fill.
    """

    payment_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15
    max_team_size: Annotated[int, msgspec.Meta(ge=2, le=1000)] = 100
    max_validity_hours: Annotated[int, msgspec.Meta(ge=1, le=720)] = 168


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's group-buy settings."""
    return tenant.setting("groupbuy", Settings)
