"""Dispatching line activities to their owners: the core calls only the kind a line names.

A checkout's lines are grouped by ``activity.plugin`` (the kind); each kind resolves its
lines once into a claim, which the core keeps and hands to the kind's later methods. An
order's kinds are read from its stored quote, so no step needs another query to know them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from yutang.core.contract import (
    Activity,
    CheckoutContext,
    Draft,
    Instalment,
    LineInput,
    ReleasedLine,
    TenantInfo,
)
from yutang.core.errors import DomainError
from yutang.core.plugins import Owned, PluginSet, hooks_of

HOOK = "yutang_activities"


def _of(hooks: PluginSet, kind: str) -> Owned | None:
    return hooks.owned(HOOK).get(kind)


def _grouped(pairs: Iterable[tuple[str, Any]]) -> dict[str, list[Any]]:
    """Items by kind, kinds in name order (the order every dispatch runs in)."""
    groups: dict[str, list[Any]] = {}
    for kind, item in pairs:
        groups.setdefault(kind, []).append(item)
    return dict(sorted(groups.items()))


def admits(hooks: PluginSet) -> bool:
    """Whether any activity kind of this plugin set refuses orders at admission (overrides
    :meth:`Activity.admit`)."""
    found: bool | None = hooks.memo.get("activities_admit")
    if found is None:
        found = any(type(o.obj).admit is not Activity.admit for o in hooks.owned(HOOK).values())
        hooks.memo["activities_admit"] = found
    return found


async def admit(tenant: TenantInfo, member_id: int, lines: list[LineInput]) -> None:
    """Let each kind refuse its lines before placeOrder's transaction; unknown kinds are
    left to the transaction to name."""
    hooks = hooks_of(tenant)
    groups = _grouped((ln.activity.plugin, (i, ln)) for i, ln in enumerate(lines) if ln.activity)
    for kind, items in groups.items():
        owned = _of(hooks, kind)
        if owned is not None:
            activity: Activity[Any] = owned.obj
            await hooks.registry.invoke(
                owned.plugin,
                f"{kind}.admit",
                activity.admit,
                {"tenant": tenant, "member_id": member_id, "lines": dict(items)},
            )


async def resolve(checkout: CheckoutContext) -> dict[str, Any]:
    """Each kind's claim on its lines, by kind; a line naming a kind no enabled plugin owns
    is refused."""
    hooks = hooks_of(checkout.tenant)
    claims: dict[str, Any] = {}
    groups = _grouped((ln.activity.plugin, ln) for ln in checkout.lines if ln.activity)
    for kind, lines in groups.items():
        owned = _of(hooks, kind)
        if owned is None:
            raise DomainError(
                "NOT_APPLICABLE",
                f"no enabled plugin runs activities of kind {kind!r}",
                f"lines[{lines[0].index}].activity.plugin",
            )
        activity: Activity[Any] = owned.obj
        claims[kind] = await hooks.registry.invoke(
            owned.plugin,
            f"{kind}.resolve",
            activity.resolve,
            {"checkout": checkout, "lines": lines},
        )
    return claims


async def price(draft: Draft, claims: Mapping[str, Any]) -> None:
    """Stage ACTIVITY: each kind prices its lines from its claim (pure, no I/O)."""
    hooks = hooks_of(draft.checkout.tenant)
    for kind, claim in claims.items():
        owned = _of(hooks, kind)
        assert owned is not None
        activity: Activity[Any] = owned.obj
        draft.source = owned.plugin
        await hooks.registry.invoke(
            owned.plugin, f"{kind}.price", activity.price, {"draft": draft, "claim": claim}
        )


async def payment_deadline(
    checkout: CheckoutContext, claims: Mapping[str, Any], default: datetime
) -> datetime:
    """The earliest of ``default`` and every kind's deadline."""
    deadline = default
    hooks = hooks_of(checkout.tenant)
    for kind, claim in claims.items():
        owned = _of(hooks, kind)
        assert owned is not None
        activity: Activity[Any] = owned.obj
        answer = await hooks.registry.invoke(
            owned.plugin,
            f"{kind}.payment_deadline",
            activity.payment_deadline,
            {"checkout": checkout, "claim": claim},
        )
        if answer is not None and answer < deadline:
            deadline = answer
    return deadline


async def payment_plan(
    checkout: CheckoutContext, claims: Mapping[str, Any], total: int
) -> list[Instalment]:
    """The order's instalments if one kind splits its total (empty otherwise); a plan
    that breaks :meth:`Activity.payment_plan`'s rules is the plugin's bug and fails."""
    hooks = hooks_of(checkout.tenant)
    plans: list[tuple[str, list[Instalment]]] = []
    for kind, claim in claims.items():
        owned = _of(hooks, kind)
        assert owned is not None
        activity: Activity[Any] = owned.obj
        plan = await hooks.registry.invoke(
            owned.plugin,
            f"{kind}.payment_plan",
            activity.payment_plan,
            {"checkout": checkout, "claim": claim, "total": total},
        )
        if plan is not None:
            _check_plan(kind, plan, total)
            plans.append((kind, plan))
    if len(plans) > 1:
        kinds = " and ".join(kind for kind, _ in plans)
        raise DomainError(
            "ORDER_ALONE", f"{kinds} each split the payment: order them separately", "lines"
        )
    return plans[0][1] if plans else []


def _check_plan(kind: str, plan: list[Instalment], total: int) -> None:
    problem = _plan_problem(plan, total)
    if problem is not None:
        raise RuntimeError(f"activity {kind!r}: the payment plan {problem}")


def _plan_problem(plan: list[Instalment], total: int) -> str | None:
    if len(plan) < 2:
        return "has fewer than two instalments"
    if sum(p.amount for p in plan) != total or any(p.amount <= 0 for p in plan):
        return f"does not split the total {total} into positive amounts"
    if plan[0].opens_at is not None or plan[0].due_at is not None:
        return "sets a window on the first instalment"
    previous = None
    for p in plan[1:]:
        if p.opens_at is None or p.due_at is None or p.opens_at >= p.due_at:
            return "leaves a later instalment without a window"
        if previous is not None and p.opens_at < previous:
            return "opens an instalment before the one before it is due"
        previous = p.due_at
    return None


async def reserve(checkout: CheckoutContext, claims: Mapping[str, Any], order_id: int) -> None:
    """In placeOrder's transaction: each kind takes its own stock for the order."""
    hooks = hooks_of(checkout.tenant)
    for kind, claim in claims.items():
        owned = _of(hooks, kind)
        assert owned is not None
        activity: Activity[Any] = owned.obj
        await hooks.registry.invoke(
            owned.plugin,
            f"{kind}.reserve",
            activity.reserve,
            {"checkout": checkout, "claim": claim, "order_id": order_id},
        )


async def release(
    tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
) -> None:
    """Each kind among ``lines`` gives back what it took for them, even if its plugin was
    disabled since (the registry, not the tenant's set, knows the owner)."""
    registry = hooks_of(tenant).registry
    groups = _grouped((ln.activity.plugin, ln) for ln in lines if ln.activity)
    for kind, mine in groups.items():
        owned = registry.owner(HOOK, kind)
        if owned is not None:
            activity: Activity[Any] = owned.obj
            await registry.invoke(
                owned.plugin,
                f"{kind}.release",
                activity.release,
                {"tenant": tenant, "order_id": order_id, "lines": mine, "reason": reason},
            )


def kinds_of(quote: Mapping[str, Any]) -> list[str]:
    """The activity kinds of an order's lines, from its stored quote, in name order."""
    return sorted({ln["activity"]["plugin"] for ln in quote["lines"] if ln.get("activity")})


async def each(
    tenant: TenantInfo, quote: Mapping[str, Any], method: str, /, **kwargs: Any
) -> list[Any]:
    """Call ``method`` of every activity kind of an order (by its stored quote), even one
    whose plugin was disabled since; the answers that are not None."""
    registry = hooks_of(tenant).registry
    answers = []
    for kind in kinds_of(quote):
        owned = registry.owner(HOOK, kind)
        if owned is None:
            continue
        answer = await registry.invoke(
            owned.plugin, f"{kind}.{method}", getattr(owned.obj, method), kwargs
        )
        if answer is not None:
            answers.append(answer)
    return answers
