"""A worker's card in the store, rewritten by its scheduler: pool, concurrency, queues, pids."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import redis

from store.workers import CARD_EVERY_S, WorkerCard, write_card

POOL_NAMES = {"prefork": "prefork", "thread": "threads", "solo": "solo"}  # Celery module -> option


class Presence:
    """Writes this worker's card at most every ``every_s`` (call ``beat`` on every tick)."""

    def __init__(
        self, client: redis.Redis, controller: Any, *, every_s: float = CARD_EVERY_S
    ) -> None:
        self.client = client
        self.controller = controller  # Celery's WorkController: hostname, pool, concurrency
        self.every_s = every_s
        self.started_ms = int(time.time() * 1000)
        self._written_at = float("-inf")

    def beat(self) -> None:
        """Rewrite the card when it is due (the pool's processes may have changed)."""
        if time.monotonic() - self._written_at < self.every_s:
            return
        card = self.card()
        write_card(self.client, card)
        if card.pids or card.pool != "prefork":  # a prefork pool not up yet: again next tick
            self._written_at = time.monotonic()

    def card(self) -> WorkerCard:
        """The card as the worker is now."""
        controller = self.controller
        module = getattr(controller.pool_cls, "__module__", str(controller.pool_cls))
        pool = module.rsplit(".", 1)[-1]
        queues = controller.app.amqp.queues.consume_from or controller.app.amqp.queues
        return WorkerCard(
            name=str(controller.hostname),
            host=socket.gethostname(),
            pid=os.getpid(),
            pool=POOL_NAMES.get(pool, pool),
            concurrency=int(controller.concurrency or 0),
            queues=sorted(str(q) for q in queues),
            started_ms=self.started_ms,
            pids=pool_pids(controller),
        )


def pool_pids(controller: Any) -> list[int]:
    """The pool's process ids (prefork), or none (threads, solo, or a pool not started yet)."""
    pool = getattr(controller, "pool", None)
    try:
        info = pool.info if pool is not None else {}
    except (AttributeError, TypeError):  # a prefork pool before its processes start
        return []
    return [int(p) for p in info.get("processes", [])]
