"""Asking for rewards another plugin provides, without importing that plugin."""

from __future__ import annotations

from yutang.core.errors import DomainError
from yutang.core.events import Reward
from yutang.core.tenancy import TenantInfo


async def grant_reward(tenant: TenantInfo, member_id: int, reward: Reward) -> None:
    """Grant ``reward`` through whichever enabled plugin provides its kind.

    Runs in the caller's transaction; NO_REWARD_PROVIDER if no plugin handles the kind.
    """
    handled = await tenant.hooks.first(
        "yutang_grant_reward", tenant=tenant, member_id=member_id, reward=reward
    )
    if not handled:
        raise DomainError("NO_REWARD_PROVIDER", f"no enabled plugin grants {reward.kind!r}")


async def revoke_reward(tenant: TenantInfo, member_id: int, reward: Reward) -> None:
    """Revoke a reward granted earlier with the same reference (best effort per kind)."""
    await tenant.hooks.first(
        "yutang_revoke_reward", tenant=tenant, member_id=member_id, reward=reward
    )
