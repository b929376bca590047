"""The distributor plugin's per-tenant settings (``[profiles.X.settings.distributor]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

import msgspec

from yutang.api import TenantInfo

Rate = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Hours = Annotated[int, msgspec.Meta(ge=0, le=87_600)]


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How members become promoters, how customers bind to them, what they earn and when.

    Rates are basis points of what a line paid (1000 = 10%). There is deliberately no
    fee setting: nobody pays to become a promoter.
    """

    promoter_mode: Literal["apply", "auto", "spend"] = "apply"
    spend_threshold: Annotated[int, msgspec.Meta(ge=0)] = 0
    bind_mode: Literal["first", "latest", "signup"] = "first"
    binding_days: Days = 0  # how long a binding lasts and earns; 0 = for good
    protection_days: Days = 0  # latest-link-wins: a new binding cannot be taken meanwhile
    levels: Literal[1, 2] = 2
    first_rate: Rate = 1000
    second_rate: Rate = 0
    include_fees: bool = False  # commission on shipping and other fees too
    self_purchase: bool = False  # a promoter's own orders earn level 1 for themselves
    excluded_activities: list[str] = msgspec.field(default_factory=list)  # activity plugins
    freeze_hours: Hours = 168  # after completion, before commission becomes available
    withdraw_min: Annotated[int, msgspec.Meta(ge=1)] = 100
    withdraw_fee_rate: Rate = 0

    # Old keys, refused with their replacement: freezes were whole days until same-day
    # services (tickets used the day they are bought) needed hours.
    replaced_keys: ClassVar[Mapping[str, str]] = {"freeze_days": "freeze_hours (days × 24)"}


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's distributor settings."""
    return tenant.setting("distributor", Settings)
