"""Kept HTTP/1.1 connections, every origin together: the pool both raw-socket clients share.

The provider transport (``providers.http.transport``) and the webhook client
(``worker.webhook_http``) each keep one. A connection comes back only when it idled less than
the pool's idle time and the server has not closed it (nothing to read while idle), so a
request is never written to a socket the server already let go.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time

Origin = tuple[str, str, int]  # scheme, host, port


def _readable(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: the server closed it (or garbled)."""
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0)) or (isinstance(sock, ssl.SSLSocket) and sock.pending() > 0)


class KeptConnections:
    """Idle connections by origin, newest reused first; safe to share between threads."""

    def __init__(self, *, idle_s: float, max_idle: int) -> None:
        self._idle_s = idle_s
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[tuple[Origin, socket.socket, float]] = []  # oldest first

    def checkout(self, origin: Origin) -> socket.socket | None:
        """A kept connection to ``origin`` the server has not closed, if there is one."""
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                kept, sock, since = self._idle[i]
                if kept == origin:
                    del self._idle[i]
                    if time.monotonic() - since < self._idle_s and not _readable(sock):
                        return sock
                    sock.close()
        return None

    def checkin(self, origin: Origin, sock: socket.socket) -> None:
        """Keep the connection; drop kept ones past their idle time or the bound."""
        now = time.monotonic()
        with self._lock:
            self._idle.append((origin, sock, now))
            while self._idle and (
                len(self._idle) > self._max_idle or now - self._idle[0][2] >= self._idle_s
            ):
                self._idle.pop(0)[1].close()

    def close(self) -> None:
        """Close every kept connection (the pool stays usable)."""
        with self._lock:
            for _, sock, _ in self._idle:
                sock.close()
            self._idle.clear()
