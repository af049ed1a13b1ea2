"""Lua scripts called on a connection each thread holds, under the client's retry policy.

redis-py's ``Script`` checks a connection out of the pool and back for every call, and wraps
it in its retry and metrics machinery: about 40 us of client CPU on top of a 30 us round trip.
A worker makes two such calls a command (the claim and the finish), so the store's scripts
keep one connection per thread instead, taken from the client's pool and given back when the
thread ends.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.commands.core import Script
from redis.connection import ConnectionPool

_forks = 0  # how many forks this process descends from: a held connection is its parent's


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class HeldScript(Script):
    """A script that runs on its thread's held connection; given a ``client``, on that one.

    The policy is the client's (``redisconn.client.redis_client``): a refused or dropped
    connection is retried as many times as the client retries, after its jittered backoff; a
    timeout is never retried (redis-py has already dropped that connection). A server that has
    lost the script (``NOSCRIPT``) is sent it and asked again, as redis-py does.
    """

    def __init__(self, client: redis.Redis, source: str, held: HeldConnections) -> None:
        super().__init__(client, source)
        self._held = held

    def __call__(
        self,
        keys: Sequence[Any] | None = None,
        args: Iterable[Any] | None = None,
        client: Any = None,
    ) -> Any:
        """Run the script with ``keys`` and ``args``; with a ``client`` (a pipeline), on it."""
        if client is not None:
            return super().__call__(keys, args, client)
        return self._held.evalsha(self, keys or (), args or ())


class HeldConnections:
    """One connection of ``client``'s pool per thread, kept between calls."""

    def __init__(self, client: redis.Redis) -> None:
        self._pool: ConnectionPool = client.connection_pool
        retry = client.get_retry()
        self._retries = retry.get_retries() if retry is not None else 0
        self._backoff = retry._backoff if retry is not None else None  # no public getter
        self._local = threading.local()

    def evalsha(self, script: Script, keys: Sequence[Any], args: Iterable[Any]) -> Any:
        """``EVALSHA`` of ``script`` on this thread's connection (see ``HeldScript``)."""
        failures = 0
        while True:
            connection = self._connection()
            try:
                return _evalsha(connection, script, keys, args)
            except redis.ConnectionError:  # dropped by _evalsha; a TimeoutError is not one
                failures += 1
                if failures > self._retries:
                    raise
                if self._backoff is not None:
                    time.sleep(self._backoff.compute(failures))

    def _connection(self) -> Any:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.forks != _forks:
            held = self._local.held = _Held(self._pool)
        return held.connection


class _Held:
    """A pool connection lent to one thread; back to the pool when the thread ends."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.connection = pool.get_connection()
        self.forks = _forks

    def __del__(self) -> None:
        if self.forks == _forks:  # the parent's pool is not this process's to touch
            self.pool.release(self.connection)


def _evalsha(connection: Any, script: Script, keys: Sequence[Any], args: Iterable[Any]) -> Any:
    try:
        try:
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.read_response()
        except redis.exceptions.NoScriptError:
            connection.send_command("SCRIPT", "LOAD", script.script)
            script.sha = connection.read_response()
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return connection.read_response()
    except redis.ResponseError:
        raise  # the script's error: its whole reply was read, the connection is clean
    except BaseException:
        # anything else (an interrupt between the send and the read, too) may leave a reply
        # unread, which the next call would take for its own: the pool checks for that at
        # checkout, a held connection is dropped instead
        connection.disconnect()
        raise
