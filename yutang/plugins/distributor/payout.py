"""The payout-provider hook this plugin declares for other plugins (a WeChat Pay transfer,
a bank API) to implement."""

from __future__ import annotations

import msgspec

from yutang import api


class Payout(msgspec.Struct, frozen=True):
    """Money to transfer to a promoter: ``reference`` is the provider's idempotency key."""

    withdrawal_id: int
    member_id: int
    amount: int  # after the fee
    currency: str
    account: str
    reference: str


@api.hookspec(firstresult=True)
def yutang_distributor_payout(tenant: api.TenantInfo, payout: Payout) -> bool | None:
    """Transfer ``payout``: True when done, False while under way (asked again for about
    ten days, a transfer waiting on its payee included), None when this plugin does not
    pay out this one. Kind: outside any transaction, may run more than once per
    reference. A withdrawal a provider answered False for is settled by that provider
    only: staff cannot mark it paid, so it is never paid twice. Without any provider,
    staff pay offline and mark it paid.
    """
