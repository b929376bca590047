"""Asking for rewards another plugin provides, without importing that plugin."""

from __future__ import annotations

from yutang.core.contract import Reward, RewardKind, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of

HOOK = "yutang_reward_kinds"


async def grant_reward(tenant: TenantInfo, member_id: int, reward: Reward) -> None:
    """Grant ``reward`` through the enabled plugin that provides its kind.

    Runs in the caller's transaction; NO_REWARD_PROVIDER if no enabled plugin does.
    """
    owned = hooks_of(tenant).owned(HOOK).get(reward.kind)
    if owned is None:
        raise DomainError("NO_REWARD_PROVIDER", f"no enabled plugin grants {reward.kind!r}")
    kind: RewardKind = owned.obj
    await hooks_of(tenant).registry.invoke(
        owned.plugin,
        f"{reward.kind}.grant",
        kind.grant,
        {"tenant": tenant, "member_id": member_id, "reward": reward},
    )


async def revoke_reward(tenant: TenantInfo, member_id: int, reward: Reward) -> None:
    """Revoke a reward granted earlier with the same reference (nothing when no enabled
    plugin provides its kind)."""
    owned = hooks_of(tenant).owned(HOOK).get(reward.kind)
    if owned is None:
        return
    kind: RewardKind = owned.obj
    await hooks_of(tenant).registry.invoke(
        owned.plugin,
        f"{reward.kind}.revoke",
        kind.revoke,
        {"tenant": tenant, "member_id": member_id, "reward": reward},
    )
