"""The cut rule: after the configured number of helpers the price stands exactly at the floor."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yutang_bargain.cuts import next_cut


@given(st.integers(1, 100).flatmap(lambda n: st.tuples(st.just(n), st.integers(n, 10_000_000))))
def test_n_helpers_cut_exactly_down_to_the_floor(case: tuple[int, int]) -> None:
    helpers, above_floor = case
    remaining, cuts = above_floor, []
    for left in range(helpers, 0, -1):
        cut = next_cut(remaining, left)
        assert 1 <= cut <= remaining - (left - 1)
        cuts.append(cut)
        remaining -= cut
    assert sum(cuts) == above_floor
    assert remaining == 0


def test_cuts_are_random_not_even() -> None:
    assert len({next_cut(10_000, 5) for _ in range(50)}) > 5


@pytest.mark.parametrize(("remaining", "left"), [(2, 3), (0, 1), (5, 0)])
def test_no_cut_without_a_fen_per_helper(remaining: int, left: int) -> None:
    with pytest.raises(ValueError, match="cannot cut"):
        next_cut(remaining, left)
