"""The wechatpay plugin's per-tenant settings (``[profiles.X.settings.wechatpay]``): how
withdrawals are paid out by merchant transfer (商家转账). Payments need none."""

from __future__ import annotations

from typing import Annotated

import msgspec

from yutang.api import TenantInfo

Short = Annotated[str, msgspec.Meta(max_length=32)]


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Merchant transfers pay other plugins' payouts (a distributor's withdrawals) once
    ``transfer_scene_id`` names a scene the merchant platform approved (``1005``,
    佣金报酬, for commission); empty, staff pay withdrawals by hand.

    ``report`` is what the scene must declare (``info_type`` → ``info_content``; scene
    1005 asks for 岗位类型 and 报酬说明); ``remark`` is shown to the payee, and
    ``perception`` is how the payee's WeChat names the money (e.g. 劳务报酬).
    """

    transfer_scene_id: Annotated[str, msgspec.Meta(max_length=36, pattern=r"^[0-9]*$")] = ""
    remark: Short = "佣金提现"
    report: dict[Annotated[str, msgspec.Meta(max_length=15)], Short] = msgspec.field(
        default_factory=lambda: {"岗位类型": "推广员", "报酬说明": "推广佣金"}
    )
    perception: Short = ""


def settings_of(tenant: TenantInfo) -> Settings:
    """This tenant's wechatpay settings."""
    return tenant.setting("wechatpay", Settings)
