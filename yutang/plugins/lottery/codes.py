"""The lottery's own error codes; everything else it refuses with is shared
(``NOT_OPEN``, ``LIMIT_REACHED``, ``EXPIRED``, ``NOT_ELIGIBLE``, ...)."""

from __future__ import annotations

from yutang import api

CODES = api.ErrorCodes(
    "lottery",
    {
        "LOTTERY_NO_DRAWS_LEFT": "no free or earned draw is left, and draws cost no points",
        "LOTTERY_ALREADY_CLAIMED": "this goods prize was already claimed",
    },
)
