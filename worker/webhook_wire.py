"""One HTTP/1.1 exchange on a connection, every wait cut to one deadline: the webhook wire.

Each send and each recv waits no longer than what is left of the call's monotonic deadline, so
a receiver trickling its status line, headers or body cannot hold a call past it. The reply's
head is bounded; a short body is read (``DRAIN_S`` at most) so the connection can be kept.
"""

from __future__ import annotations

import socket
import time

MAX_HEAD_BYTES = 64 * 1024  # a reply's status line and headers together
MAX_HEADERS = 100
DRAIN_MAX_BYTES = 64 * 1024  # a reply body this short is read, so its connection is reused
DRAIN_S = 0.25  # for this long at most


class DeliveryError(Exception):
    """A call that got no status; its class name is what a failed delivery records."""


class ConnectError(DeliveryError):
    """No connection: unresolved, refused, or the TLS handshake failed."""


class ConnectTimeout(DeliveryError):
    """The deadline passed while connecting or in the TLS handshake."""


class WriteTimeout(DeliveryError):
    """The deadline passed while sending the request."""


class ReadTimeout(DeliveryError):
    """The deadline passed before the reply's status line and headers ended."""


class WriteError(DeliveryError):
    """The connection broke while sending."""


class ReadError(DeliveryError):
    """The connection broke while reading the reply."""


class RemoteProtocolError(DeliveryError):
    """The reply is not HTTP/1.x, its head is too big, or the receiver closed before it."""


class Stale(Exception):
    """A kept connection the receiver had closed: nothing was answered on it."""


def remaining(ends: float, error: type[DeliveryError]) -> float:
    """What is left of the deadline; ``error`` once nothing is."""
    left = ends - time.monotonic()
    if left <= 0:
        raise error("the call's total deadline has passed")
    return left


def _recv(sock: socket.socket, ends: float) -> bytes:
    """One read, waiting no later than ``ends``."""
    sock.settimeout(remaining(ends, ReadTimeout))
    try:
        return sock.recv(65536)
    except TimeoutError:
        raise ReadTimeout("the call's total deadline has passed") from None
    except OSError as exc:
        raise ReadError(type(exc).__name__) from None


def send(sock: socket.socket, data: bytes, ends: float, reused: bool) -> None:
    """Send it all, each wait no later than ``ends``."""
    view = memoryview(data)
    while view:
        sock.settimeout(remaining(ends, WriteTimeout))
        try:
            view = view[sock.send(view) :]
        except TimeoutError:
            raise WriteTimeout("the call's total deadline has passed") from None
        except OSError as exc:
            raise Stale() if reused else WriteError(type(exc).__name__) from None


def _read_head(sock: socket.socket, ends: float, buf: bytearray, reused: bool) -> int:
    """Read until the head ends; where its blank line ends in ``buf``."""
    start = 0
    while True:
        marks = [at + len(m) for m in (b"\r\n\r\n", b"\n\n") if (at := buf.find(m, start)) >= 0]
        end = min(marks, default=len(buf))
        if end > MAX_HEAD_BYTES:
            raise RemoteProtocolError(f"the reply's head passed {MAX_HEAD_BYTES} bytes")
        if marks:
            return end
        start = max(0, len(buf) - 3)
        try:
            chunk = _recv(sock, ends)
        except ReadError:
            if reused and not buf:
                raise Stale() from None
            raise
        if not chunk:
            raise Stale() if reused and not buf else RemoteProtocolError("closed, no reply")
        buf += chunk


def _parse(head: bytes) -> tuple[int, dict[str, str], bool]:
    """The status, the headers (names lowercased) and whether the connection may be kept."""
    lines = head.rstrip(b"\r\n").split(b"\n")
    if len(lines) > MAX_HEADERS + 1:
        raise RemoteProtocolError(f"the reply has over {MAX_HEADERS} headers")
    version, _, rest = lines[0].rstrip(b"\r").partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not code.isdigit() or rest[3:4] not in b" ":
        raise RemoteProtocolError("the reply's status line is not HTTP/1.x")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise RemoteProtocolError("a reply header line has no colon")
        key, text = name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    keep = version == b"HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    return int(code), headers, keep


def _drained(
    sock: socket.socket, status: int, headers: dict[str, str], have: int, ends: float
) -> bool:
    """Read a short body (``have`` bytes of it came with the head); whether that worked."""
    size = "0" if status in (204, 304) else headers.get("content-length", "")
    if "transfer-encoding" in headers or not size.isdigit() or int(size) > DRAIN_MAX_BYTES:
        return False
    ends = min(ends, time.monotonic() + DRAIN_S)
    while have < int(size):
        try:
            chunk = _recv(sock, ends)
        except DeliveryError:
            return False
        if not chunk:
            return False
        have += len(chunk)
    return have == int(size)


def reply(sock: socket.socket, ends: float, reused: bool) -> tuple[int, bool]:
    """The reply's status (past any 1xx) and whether the connection may be kept."""
    buf = bytearray()
    while True:
        end = _read_head(sock, ends, buf, reused)
        status, headers, keep = _parse(bytes(buf[:end]))
        del buf[:end]
        if not 100 <= status < 200 or status == 101:
            break
        reused = False  # something was answered: no longer a stale connection
    keep = keep and status != 101 and _drained(sock, status, headers, len(buf), ends)
    return status, keep
