"""Retry delays: exponential with equal jitter, capped, floored at the provider's Retry-After."""

from __future__ import annotations

import random


def retry_delay_s(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    rng: random.Random,
    retry_after_s: float | None = None,
) -> float:
    """The delay before attempt ``attempt + 1``.

    The exponential step is ``base_s * 2 ** (attempt - 1)`` capped at ``cap_s``; equal jitter
    then picks uniformly between half of it and all of it, so it never collapses to zero.
    A provider's ``Retry-After`` is a floor, even above the cap.

    Args:
        attempt: how many attempts have been made (1 after the first failure).
        base_s: the first step.
        cap_s: the largest step.
        rng: the source of jitter, injected so tests can seed it.
        retry_after_s: what the provider asked for, if anything.

    Returns:
        Seconds to wait.
    """
    if attempt < 1:
        raise ValueError(f"attempt: must be 1 or more, got {attempt}")
    step = min(cap_s, base_s * 2.0 ** min(attempt - 1, 62))
    delay = step / 2 + rng.uniform(0, step / 2)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay
