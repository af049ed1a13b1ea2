"""Commands an operator's pause held, released in admission order at their account's rate.

``claim.lua`` puts a paused account's live commands in its held set; once the account (and
its provider) is resumed, the scheduler hands them out one slot of the account's rate limit
apart (``release_held.lua``), never as a burst, and the account is gated as usual again when
its held set is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from store import keys
from store.scripts import Scripts

RELEASE_LIMIT = 1000  # most commands released per account per tick (one publish batch)

# an account's rate interval (ms) and burst; None for an account not configured
Limits = Callable[[str], "tuple[int, int] | None"]


def release_held(
    scripts: Scripts,
    names: Sequence[str],
    providers: Callable[[str], str],
    limits: Limits,
    tick_ms: int,
) -> dict[str, int]:
    """Release what each account's rate can take within the next tick and one slot.

    Returns:
        Commands released per account (accounts with none left out).
    """
    flow_keys: list[str] = []
    flow_args: list[str | int] = []
    for name in names:
        provider = providers(name)
        flow_keys += [keys.held(name), keys.rate(provider, name)]
        interval_ms = (limits(name) or (0, 1))[0]
        flow_args += [name, provider, interval_ms, tick_ms + interval_ms]
    released = scripts.release_held(
        keys=[keys.dispatch(), keys.schedule(), *flow_keys],
        args=[RELEASE_LIMIT, keys.command(""), *flow_args],
    )
    return {name: int(n) for name, n in zip(names, released, strict=True) if int(n)}
