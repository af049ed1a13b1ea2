"""Long polls of one app (``GET /v1/commands/{id}?wait=``), all woken by one reader thread.

A waiting request holds neither a threadpool thread nor a Redis connection: it awaits a future.
One daemon thread reads the outcome stream (XREAD BLOCK) while anyone waits, and resolves the
futures of the commands whose final event it sees. At most ``max_waiters`` requests wait at once;
past that a request is answered at once with the state as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool

from providers.accounts import Account
from schemas import CommandRecord
from store.outcomes import Outcomes
from store.records import read_record

MAX_WAIT_S = 30.0  # a long poll is capped at this, whatever the request asks
MAX_WAITERS = 1000  # requests waiting at once, per app
BLOCK_MS = 1000  # one read of the stream blocks this long at most (then looks for leavers)


class Waiters:
    """The long polls of one app, and the one thread that wakes them."""

    def __init__(self, client: redis.Redis, *, max_waiters: int = MAX_WAITERS) -> None:
        self.outcomes = Outcomes(client)
        self.max_waiters = max_waiters
        self._lock = threading.Lock()
        self._futures: dict[str, set[asyncio.Future[str]]] = defaultdict(set)
        self._count = 0
        self._cursor = "0-0"
        self._thread: threading.Thread | None = None

    def register(
        self, command_id: str, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[str] | None:
        """A future of ``loop`` set to the final state when the command's final event comes.

        Register before reading the record: an event after the registration always resolves
        the future (the reader's cursor is never past it). ``None`` when too many wait.
        Reads Redis when the reader thread has to start: call it off the event loop.
        """
        future: asyncio.Future[str] = loop.create_future()
        with self._lock:
            if self._count >= self.max_waiters:
                return None
            if self._thread is None:
                self._cursor = self.outcomes.last_id()
                self._thread = threading.Thread(target=self._read, name="outcome-waiters")
                self._thread.daemon = True
                self._thread.start()
            self._futures[command_id].add(future)
            self._count += 1
        return future

    def leave(self, command_id: str, future: asyncio.Future[str]) -> None:
        """Forget a future (its request ended, woken or not)."""
        with self._lock:
            futures = self._futures.get(command_id)
            if futures and future in futures:
                futures.discard(future)
                self._count -= 1
                if not futures:
                    del self._futures[command_id]

    @property
    def waiting(self) -> int:
        """Requests waiting now."""
        return self._count

    def _read(self) -> None:
        """Read the stream while anyone waits; the thread ends when nobody does."""
        while True:
            with self._lock:
                if not self._futures:
                    self._thread = None
                    return
            try:
                events = self.outcomes.read(self._cursor, block_ms=BLOCK_MS)
            except redis.RedisError:
                events = []  # the waiters time out on their own; the next read tries again
            for outcome in events:
                self._cursor = outcome.event_id
                if outcome.final:
                    self._wake(outcome.command_id, outcome.state)

    def _wake(self, command_id: str, state: str) -> None:
        with self._lock:
            futures = list(self._futures.get(command_id, ()))
        for future in futures:
            future.get_loop().call_soon_threadsafe(_resolve, future, state)


def _resolve(future: asyncio.Future[str], state: str) -> None:
    if not future.done():
        future.set_result(state)


_create_lock = threading.Lock()


def waiters_of(app: Any, client: redis.Redis) -> Waiters:
    """The app's waiters (``app.state.outcome_waiters``), made on first use."""
    with _create_lock:
        waiters: Waiters | None = getattr(app.state, "outcome_waiters", None)
        if waiters is None:
            waiters = app.state.outcome_waiters = Waiters(client)
    return waiters


async def read_when_final(
    app: Any,
    client: redis.Redis,
    command_id: str,
    wait_s: float,
    accounts: Mapping[str, Account] | None = None,
) -> CommandRecord | None:
    """The command's record once it ended, or as it is after ``wait_s`` (capped at 30 s).

    Returns:
        ``None`` when there is no such command.
    """
    wait_s = min(max(wait_s, 0.0), MAX_WAIT_S)
    read = functools.partial(read_record, client, command_id, accounts=accounts)
    if wait_s == 0:
        return await run_in_threadpool(read)
    waiters = waiters_of(app, client)
    future = await run_in_threadpool(waiters.register, command_id, asyncio.get_running_loop())
    try:
        record = await run_in_threadpool(read)
        if record is None or record.terminal or future is None:
            return record
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, wait_s)
        return await run_in_threadpool(read)
    finally:
        if future is not None:
            waiters.leave(command_id, future)
