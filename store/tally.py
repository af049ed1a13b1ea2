"""Outcome counters counted in this process and added to Redis in batches (statistics only).

``finish`` and ``retry`` used to count each outcome inside their scripts: five or six more
commands per command in Redis, in the same step as the state change. The counters are
statistics, not state (the record, the outcome stream and the search indexes stay atomic with
the state change), so each process now counts in memory and adds its counts to the same hashes
in one MULTI/EXEC per flush (``flush``): every second from one thread per process, and once
more when the process shuts down cleanly. A process killed with -9 loses at most the counts of its
last flush interval (``FLUSH_INTERVAL_S``); nothing else depends on them.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import Counter

import redis
import structlog

from store import keys, series

log = structlog.get_logger("ordercmd.store")

FLUSH_INTERVAL_S = 1.0  # the most a process killed with -9 loses: this long of counting
LATENCY_BUCKETS_MS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000,
                      3600000)  # fmt: skip
ATTEMPTS_CAP = 10  # attempt counts above this are counted as this many


def bucket(ms: int) -> str:
    """The latency histogram bucket ``ms`` falls in (its upper bound, or ``+Inf``)."""
    for le in LATENCY_BUCKETS_MS:
        if ms <= le:
            return str(le)
    return "+Inf"


class OutcomeTally:
    """Counts per (hash key, field) waiting to be added to Redis; shared by a process's threads.

    One thread per process (``_Flusher``, started by the first count there, after a fork too)
    flushes every tally of the process each ``FLUSH_INTERVAL_S``.
    """

    def __init__(self, client: redis.Redis, *, every_interval: bool = True) -> None:
        """``every_interval=False``: flushed only by ``flush`` and ``close`` (tests)."""
        self._client = client
        self._every_interval = every_interval
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._pid = os.getpid()

    def finished(
        self,
        *,
        provider: str,
        kind: str,
        state: str,
        reason: str,
        attempts: int,
        latency_ms: int,
        now_ms: int,
    ) -> None:
        """Count a command that ended: by state, attempts, latency (and reason when dead).

        The all-time hash gets one field per family; the hour's and the minute's hashes (by
        ``now_ms``, the finish's Redis time) one series field, ``done|provider|kind|state|
        latency bucket|dead reason`` (``web/series.py`` reads them).
        """
        stats, le = keys.stats(), bucket(latency_ms)
        series_field = f"done|{provider}|{kind}|{state}|{le}|{reason}"
        counts = [
            (stats, f"done|{provider}|{kind}|{state}", 1),
            (stats, f"attempts|{provider}|{min(attempts, ATTEMPTS_CAP)}", 1),
            (stats, f"latency_ms|{provider}|{le}", 1),
            (stats, f"latency_ms_sum|{provider}", latency_ms),
            (keys.stats_hour(now_ms // series.HOUR_MS), series_field, 1),
            (keys.stats_minute(now_ms // series.MINUTE_MS), series_field, 1),
        ]
        if state == "dead":
            counts.append((stats, f"dead|{provider}|{reason}", 1))
        self._add(counts)

    def retried(self, *, provider: str, kind: str, delay_ms: int, now_ms: int) -> None:
        """Count a retry scheduled after a recorded attempt, with its delay, at ``now_ms``."""
        stats = keys.stats()
        self._add(
            [
                (stats, f"retry|{provider}|{kind}", 1),
                (stats, f"retry_delay_ms|{provider}|{bucket(delay_ms)}", 1),
                (stats, f"retry_delay_ms_sum|{provider}", delay_ms),
                (keys.stats_minute(now_ms // series.MINUTE_MS), f"retry|{provider}|{kind}", 1),
            ]
        )

    def pending(self) -> int:
        """How many counter fields wait for the next flush."""
        with self._lock:
            return len(self._counts)

    def flush(self) -> None:
        """Add the counts to Redis in one MULTI/EXEC; kept for the next flush when it fails.

        Raises:
            redis.RedisError: Redis did not take them (they stay counted here).
        """
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return
        pipe = self._client.pipeline(transaction=True)
        for (key, field), n in counts.items():
            pipe.hincrby(key, field, n)
        for key in {key for key, _ in counts if key != keys.stats()}:  # time buckets
            minute = key.startswith(keys.stats_minute(""))
            pipe.expire(key, series.MINUTE_TTL_S if minute else series.HOUR_TTL_S)
        try:
            pipe.execute()
        except redis.RedisError:
            with self._lock:
                self._counts.update(counts)
            raise

    def close(self) -> None:
        """Add what is counted now, logging a failure (a clean shutdown: nothing may wait)."""
        try:
            self.flush()
        except redis.RedisError as exc:
            log.warning("outcome counters lost at shutdown", error=repr(exc))

    def _add(self, counts: list[tuple[str, str, int]]) -> None:
        with self._lock:
            if self._pid != os.getpid():  # the first count in a forked child
                self._pid = os.getpid()
                self._counts.clear()  # the parent's, inherited: the parent adds them
            for key, field, n in counts:
                self._counts[key, field] += n
        if self._every_interval:
            _FLUSHER.watch(self)


class _Flusher:
    """The thread of this process that flushes its tallies every ``FLUSH_INTERVAL_S``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # held strongly while they have counts: a store dropped (a worker thread's runtime
        # replaced) must not take its counts with it; an empty one is let go after a flush
        self._tallies: set[OutcomeTally] = set()
        self._pid: int | None = None
        atexit.register(self.close_all)  # a process ending normally; a prefork child: worker.app

    def watch(self, tally: OutcomeTally) -> None:
        """Flush ``tally`` from now on (it has counts)."""
        with self._lock:
            if self._pid != os.getpid():  # none yet in this process (or only the parent's)
                self._pid = os.getpid()
                self._tallies = set()
                threading.Thread(target=self._run, name="ordercmd-counts", daemon=True).start()
            self._tallies.add(tally)

    def close_all(self) -> None:
        """Flush every tally now."""
        for tally in self._watched():
            try:
                tally.close()
            except Exception as exc:  # a client closed under it: its counts go
                log.warning("outcome counters dropped", error=repr(exc))

    def _watched(self) -> list[OutcomeTally]:
        with self._lock:
            return list(self._tallies)

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL_S)
            for tally in self._watched():
                try:
                    tally.flush()
                except redis.RedisError as exc:
                    log.warning("outcome counters not flushed yet", error=repr(exc))
                except Exception as exc:  # a client closed under it: its counts go, not the thread
                    log.warning("outcome counters dropped", error=repr(exc))
            with self._lock:  # counted since the flush: watched again by that count
                self._tallies = {tally for tally in self._tallies if tally.pending()}


_FLUSHER = _Flusher()


def flush_all() -> None:
    """Add every count of this process to Redis now (a shutdown; tests, between cases)."""
    _FLUSHER.close_all()
