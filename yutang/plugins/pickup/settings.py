"""The pickup plugin's per-tenant settings (``[profiles.X.settings.pickup]``)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from yutang import api


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What pickup costs, how long an order waits at the store, what happens after, and
    how many code lookups a staff member may make per minute (codes must not be guessable
    by trying)."""

    fee: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 0  # minor units per pickup order
    deadline_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7
    on_deadline: Literal["complete", "refund"] = "complete"
    lookups_per_minute: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 30
    slot_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 7  # how far ahead slots are offered


def settings_of(tenant: api.TenantInfo) -> Settings:
    """This tenant's pickup settings (defaults once the plugin was disabled)."""
    return tenant.setting("pickup", Settings)
