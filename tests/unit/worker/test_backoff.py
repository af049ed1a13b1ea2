"""The backoff function: a table of exact values with a fixed "random" draw."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.backoff import retry_delay_s


class FixedDraw(random.Random):
    """``uniform(a, b)`` returns a + share * (b - a)."""

    def __init__(self, share: float) -> None:
        super().__init__()
        self.share = share

    def uniform(self, a: float, b: float) -> float:
        return a + self.share * (b - a)


@pytest.mark.parametrize(
    ("attempt", "share", "retry_after_s", "expected"),
    [
        (1, 0.0, None, 1.0),  # step 2*2^0 = 2; half of it, no jitter drawn
        (1, 1.0, None, 2.0),  # 2/2 + 1.0 * 2/2 = 2
        (2, 0.5, None, 3.0),  # step 4: 2 + 0.5 * 2
        (3, 0.0, None, 4.0),  # step 8: 4 + 0
        (9, 0.0, None, 256.0),  # step 2*2^8 = 512: 256
        (10, 0.0, None, 300.0),  # step 1024 capped at 600: 300
        (10, 1.0, None, 600.0),  # capped step, full jitter: 600
        (60, 1.0, None, 600.0),  # huge attempts stay at the cap
        (1, 0.0, 30.0, 30.0),  # Retry-After floors the delay
        (10, 1.0, 900.0, 900.0),  # ...even above the cap
        (3, 1.0, 1.0, 8.0),  # a smaller Retry-After does not shorten it
    ],
)
def test_retry_delay_table(attempt, share, retry_after_s, expected):
    delay = retry_delay_s(
        attempt, base_s=2.0, cap_s=600.0, rng=FixedDraw(share), retry_after_s=retry_after_s
    )
    assert delay == pytest.approx(expected)


@given(st.integers(1, 10_000), st.integers(0, 2**32))
def test_delay_is_between_half_the_step_and_the_cap(attempt, seed):
    delay = retry_delay_s(attempt, base_s=2.0, cap_s=600.0, rng=random.Random(seed))
    step = min(600.0, 2.0 * 2 ** min(attempt - 1, 62))
    assert step / 2 <= delay <= step


def test_attempt_zero_is_refused():
    with pytest.raises(ValueError, match="attempt"):
        retry_delay_s(0, base_s=1, cap_s=1, rng=random.Random(0))
