"""Sending commands' messages, or leaving them to the scheduler when the broker refuses them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from store.command_store import CommandStore

Publish = Callable[[Sequence[str]], None]  # sends one broker message per command id

log = structlog.get_logger("ordercmd.dispatch")


def send_or_defer(store: CommandStore, publish: Publish, command_ids: Sequence[str]) -> bool:
    """Send the messages of ``command_ids``; when the broker fails, the scheduler sends them.

    Every caller has recorded the commands first (admitted, released from a lane, replayed), so
    a refused message only waits for the scheduler's next tick (``due_again``): nothing is lost,
    and the caller has nothing to retry.

    Returns:
        Whether the messages went out now.

    Raises:
        redis.RedisError: the store is unreachable too; the scheduler still sends the messages,
            once their dispatch guard runs out.
    """
    try:
        publish(command_ids)
    except Exception as exc:  # whatever the broker raises: kombu, redis-py, the socket
        store.due_again(command_ids)
        log.warning(
            "broker unavailable: the scheduler will send the messages",
            commands=len(command_ids),
            error=type(exc).__name__,
        )
        return False
    return True
