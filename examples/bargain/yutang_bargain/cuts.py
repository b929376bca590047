"""How much each friend cuts: random amounts that reach the floor exactly with the last helper."""

from __future__ import annotations

import secrets


def next_cut(remaining: int, helpers_left: int) -> int:
    """The next helper's cut of ``remaining`` (minor units above the floor).

    The rule ("double the mean", as in WeChat red packets): with ``k`` helpers left, the
    cut is drawn uniformly, with a CSPRNG, between 1 and ``min(2 * remaining // k,
    remaining - (k - 1))``; the last helper (``k == 1``) takes exactly the remainder. So
    every cut is at least 1 fen, every helper after it still has at least 1 fen to cut,
    and after the configured number of helpers the price stands exactly at the floor.
    Needs ``remaining >= helpers_left >= 1`` (an offer's floor leaves a fen per helper).
    """
    if helpers_left < 1 or remaining < helpers_left:
        raise ValueError(f"cannot cut {remaining} among {helpers_left} helpers")
    if helpers_left == 1:
        return remaining
    cap = min(2 * remaining // helpers_left, remaining - (helpers_left - 1))
    return 1 + secrets.randbelow(cap)
