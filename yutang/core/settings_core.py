"""The core's own per-tenant settings (validated like any plugin's)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.core.contract import TenantInfo


class CoreSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Timeouts, windows and the points rate; ``[profiles.X.settings.core]`` in the file.

    ``register_requires_code``: ``register`` takes a code sent to the phone first;
    ``password_reset_by_code``: members may reset a forgotten password with one. Codes
    are sent by the ``verification_provider`` (``dev`` logs them instead), live
    ``code_minutes`` and allow ``code_attempts`` checks.
    """

    payment_timeout_minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)] = 30
    auto_complete_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 10
    after_sale_days: Annotated[int, msgspec.Meta(ge=0, le=90)] = 7
    points_per_yuan: Annotated[int, msgspec.Meta(ge=1)] = 100
    points_max_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 50
    register_requires_code: bool = False
    password_reset_by_code: bool = True
    verification_provider: str = "dev"
    code_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] = 10
    code_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5


def core_settings(tenant: TenantInfo) -> CoreSettings:
    """This tenant's core settings."""
    return tenant.setting("core", CoreSettings)
