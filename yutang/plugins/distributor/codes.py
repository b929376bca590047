"""The distributor's own error codes; everything else it refuses with is shared
(``NOT_FOUND``, ``CONFLICT``, ``NOT_ELIGIBLE``, ``ILLEGAL_TRANSITION``, ...)."""

from __future__ import annotations

from yutang import api

CODES = api.ErrorCodes(
    "distributor",
    {
        "DISTRIBUTOR_BINDING_CLOSED": "the shop binds members only with the code given at sign-up",
        "DISTRIBUTOR_SELF_BINDING": "a promoter cannot bind to themselves",
        "DISTRIBUTOR_BINDING_LOOP": "that promoter is already in the member's own team",
        "DISTRIBUTOR_ALREADY_BOUND": "the member is bound, and the shop never replaces a live "
        "binding",
        "DISTRIBUTOR_BINDING_PROTECTED": "the member's current binding is still protected",
        "DISTRIBUTOR_NOT_A_PROMOTER": "only promoters do this (withdraw)",
        "DISTRIBUTOR_INSUFFICIENT_BALANCE": "the amount is more than the available balance",
        "DISTRIBUTOR_PAYOUT_UNDER_WAY": "a payout provider is transferring the withdrawal",
        "DISTRIBUTOR_NOT_STORE_STAFF": "the staff member does not work at that store",
    },
)
