"""The GraphQL form of a presale, shared by the storefront and the admin."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from yutang import api
from yutang.plugins.presale.activities import phase_of
from yutang.plugins.presale.checkout import ACTIVITY
from yutang.plugins.presale.models import PresaleActivity


@strawberry.enum(name="PresalePhase", description="Where a presale stands.")
class Phase(Enum):
    UPCOMING = strawberry.enum_value("upcoming", description="Before the deposit window.")
    DEPOSIT = strawberry.enum_value("deposit", description="In the deposit window: order now.")
    WAITING = strawberry.enum_value("waiting", description="Between the two windows.")
    BALANCE = strawberry.enum_value("balance", description="In the balance window: pay the rest.")
    ENDED = "ended"
    CANCELLED = "cancelled"


@strawberry.type(
    name="Presale",
    description='A deposit presale (定金膨胀) of a SKU: order it with `{plugin: "presale", '
    "ref: id}` in the deposit window; the order is paid as a deposit now and the balance in "
    "the balance window. Amounts are per unit.",
)
class PresaleNode(api.Node):
    name: str
    sku_id: strawberry.ID
    product_id: strawberry.ID
    phase: Phase
    deposit: api.MoneyType = strawberry.field(description="定金: paid when ordering.")
    deduction: api.MoneyType = strawberry.field(
        description="What the deposit counts for off the price (膨胀金额)."
    )
    price: api.MoneyType = strawberry.field(description="The final price of a unit.")
    balance: api.MoneyType = strawberry.field(
        description="尾款: price less deduction, paid in the balance window (fees on top)."
    )
    deposit_starts_at: datetime
    deposit_ends_at: datetime
    balance_starts_at: datetime
    balance_ends_at: datetime
    stock: int
    stock_left: int
    member_limit: int
    refund_forfeited: bool = strawberry.field(
        description="Whether a deposit whose balance goes unpaid is given back (else kept)."
    )
    server_time: datetime = strawberry.field(description="Now, for countdowns.")


def presale_node(tenant: api.TenantInfo, a: PresaleActivity, now: datetime) -> PresaleNode:
    """A presale as both schemas show it."""

    def money(amount: int) -> api.MoneyType:
        return api.MoneyType.of(amount, tenant.currency)

    return PresaleNode(
        id=strawberry.ID(api.to_global(ACTIVITY, a.id)),
        name=a.name,
        sku_id=strawberry.ID(api.to_global("Sku", a.sku_id)),
        product_id=strawberry.ID(api.to_global("Product", a.product_id)),
        phase=Phase(phase_of(a, now)),
        deposit=money(a.deposit),
        deduction=money(a.deduction),
        price=money(a.price),
        balance=money(a.price - a.deduction),
        deposit_starts_at=a.deposit_starts_at,
        deposit_ends_at=a.deposit_ends_at,
        balance_starts_at=a.balance_starts_at,
        balance_ends_at=a.balance_ends_at,
        stock=a.stock,
        stock_left=a.stock - a.reserved,
        member_limit=a.member_limit,
        refund_forfeited=a.refund_forfeited,
        server_time=now,
    )
