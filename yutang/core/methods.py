"""Dispatching to an order's fulfilment method: the core calls only the one it names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yutang.core.contract import (
    CheckoutContext,
    Draft,
    FulfilmentMethod,
    ReleasedLine,
    TenantInfo,
)
from yutang.core.errors import DomainError
from yutang.core.plugins import Owned, PluginSet, hooks_of

HOOK = "yutang_fulfilment_methods"


@dataclass(frozen=True, slots=True)
class Chosen:
    """A checkout's fulfilment method, its owner and what it resolved (its choice)."""

    plugin: str
    method: FulfilmentMethod[Any]
    choice: Any


def owned(hooks: PluginSet, name: str, field: str = "fulfilment") -> Owned:
    """The tenant's method called ``name``, or INVALID naming ``field``."""
    found = hooks.owned(HOOK).get(name)
    if found is None:
        raise DomainError("INVALID", f"unknown fulfilment {name!r}", field)
    return found


async def resolve(checkout: CheckoutContext) -> Chosen:
    """The checkout's method with its choice, resolved once per checkout."""
    hooks = hooks_of(checkout.tenant)
    found = owned(hooks, checkout.fulfilment)
    method: FulfilmentMethod[Any] = found.obj
    choice = await hooks.registry.invoke(
        found.plugin, f"{method.name}.resolve", method.resolve, {"checkout": checkout}
    )
    return Chosen(found.plugin, method, choice)


async def fee(draft: Draft, chosen: Chosen) -> None:
    """Stage FEES: the method charges what it costs."""
    draft.source = chosen.plugin
    await hooks_of(draft.checkout.tenant).registry.invoke(
        chosen.plugin,
        f"{chosen.method.name}.fee",
        chosen.method.fee,
        {"draft": draft, "choice": chosen.choice},
    )


async def reserve(checkout: CheckoutContext, chosen: Chosen, order_id: int) -> None:
    """In placeOrder's transaction: the method takes its capacity."""
    await hooks_of(checkout.tenant).registry.invoke(
        chosen.plugin,
        f"{chosen.method.name}.reserve",
        chosen.method.reserve,
        {"checkout": checkout, "choice": chosen.choice, "order_id": order_id},
    )


async def release(
    tenant: TenantInfo, name: str, order_id: int, lines: list[ReleasedLine], reason: str
) -> None:
    """The order's method ``name`` gives back what it took (even if disabled since)."""
    found = hooks_of(tenant).registry.owner(HOOK, name)
    if found is not None:
        await hooks_of(tenant).registry.invoke(
            found.plugin,
            f"{name}.release",
            found.obj.release,
            {"tenant": tenant, "order_id": order_id, "lines": lines, "reason": reason},
        )


async def hold(
    tenant: TenantInfo, name: str, order_id: int, by: FulfilmentMethod[Any] | None
) -> str | None:
    """Why the order's method ``name`` refuses a fulfilment through the core, unless the
    method itself (``by``) is handing the order over."""
    found = hooks_of(tenant).registry.owner(HOOK, name)
    if found is None or by is found.obj:
        return None
    answer: str | None = await hooks_of(tenant).registry.invoke(
        found.plugin, f"{name}.hold", found.obj.hold, {"tenant": tenant, "order_id": order_id}
    )
    return answer


async def paid(tenant: TenantInfo, name: str, order_id: int) -> None:
    """The order's method ``name`` starts what follows its payment (even if disabled)."""
    found = hooks_of(tenant).registry.owner(HOOK, name)
    if found is not None:
        await hooks_of(tenant).registry.invoke(
            found.plugin, f"{name}.paid", found.obj.paid, {"tenant": tenant, "order_id": order_id}
        )
