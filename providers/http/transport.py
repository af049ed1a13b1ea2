"""The HTTP/1.1 transport provider requests go out on: kept connections, one deadline a request.

httpx's own transport (httpcore, h11) spent about a fifth of a worker's GIL time on one small
provider call; this one does a request in a few socket calls and parses the reply itself. Every
socket wait (connect, TLS handshake, the send, each read) is cut to the shorter of its phase's
timeout and what is left of the request's deadline (``providers.http.deadline``), so a server
trickling its reply cannot hold a call past it. Failures are httpx's exception classes, so
``call`` tells "never sent" (``ConnectError``, ``ConnectTimeout``, ``UnsupportedProtocol``)
from "may have arrived" (anything after the first byte left) as before. No redirect is followed
and no proxy is used here: httpx mounts its own transports for the proxies its environment
names. DNS resolution is the one wait a socket timeout cannot cut.
"""

from __future__ import annotations

import re
import socket
import ssl

import httpx

from providers.http.deadline import deadline_left
from providers.http.kept import KeptConnections, Origin

KEEP_IDLE_S = 5.0  # httpx's keep-alive expiry: a kept connection idle longer is closed
MAX_IDLE = 20  # kept connections, every origin together (httpx's max_keepalive_connections)
MAX_HEAD_BYTES = 64 * 1024  # a reply's status line and headers
MAX_BODY_BYTES = 16 * 1024 * 1024  # a provider's JSON is kilobytes: past this it is refused
READ_SIZE = 64 * 1024

_HEAD_END = re.compile(rb"\n\r?\n")
_LINE = re.compile(rb"\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/(1\.[01]) ([0-9]{3})(?: (.*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;.*)?")
_NO_BODY_STATUSES = frozenset({204, 304})


def _wait_s(
    timeout: float | None, error: type[httpx.TimeoutException], request: httpx.Request
) -> float | None:
    """How long the next socket wait may take: its phase timeout cut to the deadline."""
    left = deadline_left()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the request's total deadline has passed", request=request)
    return left if timeout is None else min(timeout, left)


class _Reader:
    """A reply read from one socket, each wait cut to the request's deadline."""

    def __init__(self, sock: socket.socket, timeout: float | None, request: httpx.Request) -> None:
        self._sock = sock
        self._timeout = timeout
        self._request = request
        self.buffer = bytearray()
        self.closed = False  # the server closed its side

    def fill(self) -> None:
        """Read what the socket has next; ``closed`` once the server closed it."""
        self._sock.settimeout(_wait_s(self._timeout, httpx.ReadTimeout, self._request))
        try:
            data = self._sock.recv(READ_SIZE)
        except TimeoutError:
            raise httpx.ReadTimeout("no reply in time", request=self._request) from None
        except OSError as exc:  # ssl.SSLError too
            raise httpx.ReadError(type(exc).__name__, request=self._request) from None
        if not data:
            self.closed = True
        self.buffer += data

    def head(self) -> bytes:
        """A status line and its headers, up to and without the blank line that ends them."""
        while (end := _HEAD_END.search(self.buffer)) is None:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise self.protocol_error("the reply's headers are too long")
            if self.closed:
                what = "part of a reply" if self.buffer else "a reply"
                raise self.protocol_error(f"the server disconnected without sending {what}")
            self.fill()
        head = bytes(self.buffer[: end.start()]).removesuffix(b"\r")
        del self.buffer[: end.end()]
        return head

    def line(self) -> bytes:
        """One line (a chunk size, a trailer), without its end."""
        while (end := _LINE.search(self.buffer)) is None:
            if len(self.buffer) > MAX_HEAD_BYTES or self.closed:
                raise self.protocol_error("the reply's chunked body is cut or malformed")
            self.fill()
        line = bytes(self.buffer[: end.start()])
        del self.buffer[: end.end()]
        return line

    def exactly(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        while len(self.buffer) < n:
            if self.closed:
                raise self.protocol_error("the server disconnected before the body's end")
            self.fill()
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def to_close(self) -> bytes:
        """Everything until the server closes the connection."""
        while not self.closed:
            if len(self.buffer) > MAX_BODY_BYTES:
                raise self.protocol_error("the reply's body is too large")
            self.fill()
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def protocol_error(self, message: str) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(message, request=self._request)


class _Reply:
    """A reply's parts as read: status, reason, headers, body, and whether to keep the socket."""

    def __init__(self, reader: _Reader, method: str) -> None:
        while True:  # interim 1xx replies (100 Continue, 103 Early Hints) come before the real one
            version, self.status, self.reason, self.headers = self._head(reader)
            if not 100 <= self.status < 200:
                break
            if self.status == 101:
                raise reader.protocol_error("the server switched protocols")
        names = {name.lower(): value for name, value in self.headers}
        connection = {t.strip().lower() for t in names.get(b"connection", b"").split(b",")}
        self.keep = version == b"1.1" and b"close" not in connection
        self.body = self._body(reader, method, names)
        self.keep = self.keep and not reader.buffer and not reader.closed

    @staticmethod
    def _head(reader: _Reader) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
        lines = _LINE.split(reader.head())
        status = _STATUS_LINE.fullmatch(lines[0])
        if status is None:
            raise reader.protocol_error("the reply's status line is not HTTP/1.x")
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and headers:  # an obsolete folded continuation
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip(b" \t"))
                continue
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise reader.protocol_error("a reply header is malformed")
            headers.append((name, value.strip(b" \t")))
        return status[1], int(status[2]), status[3] or b"", headers

    def _body(self, reader: _Reader, method: str, names: dict[bytes, bytes]) -> bytes:
        if method == "HEAD" or self.status in _NO_BODY_STATUSES:
            return b""
        if b"transfer-encoding" in names:  # h11's rule: chunked and nothing else
            if names[b"transfer-encoding"].strip().lower() != b"chunked":
                raise reader.protocol_error("the reply's Transfer-Encoding is not chunked")
            self.keep = self.keep and b"content-length" not in names  # a smuggling shape
            return self._chunked(reader)
        if b"content-length" in names:
            return reader.exactly(self._length(reader))
        self.keep = False
        return reader.to_close()

    def _length(self, reader: _Reader) -> int:
        values = {
            v.strip()
            for name, value in self.headers
            if name.lower() == b"content-length"
            for v in value.split(b",")
        }
        if len(values) != 1 or not (value := values.pop()).isdigit() or len(value) > 12:
            raise reader.protocol_error("the reply's Content-Length is not one number")
        if int(value) > MAX_BODY_BYTES:
            raise reader.protocol_error("the reply's body is too large")
        return int(value)

    @staticmethod
    def _chunked(reader: _Reader) -> bytes:
        body = bytearray()
        while True:
            size = _CHUNK_SIZE.fullmatch(reader.line())
            if size is None:
                raise reader.protocol_error("the reply's chunked body is cut or malformed")
            n = int(size[1], 16)
            if n == 0:
                while reader.line():  # trailers, up to the blank line; they are not kept
                    pass
                return bytes(body)
            if len(body) + n > MAX_BODY_BYTES:
                raise reader.protocol_error("the reply's body is too large")
            body += reader.exactly(n)
            if reader.line():
                raise reader.protocol_error("the reply's chunked body is cut or malformed")


class DeadlineTransport(httpx.BaseTransport):
    """HTTP/1.1 over kept connections; each request ends by its deadline. Thread-safe."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._context = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._kept = KeptConnections(idle_s=KEEP_IDLE_S, max_idle=MAX_IDLE)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its whole reply (``httpx.RequestError`` on failure)."""
        origin = _origin(request)
        timeouts = request.extensions.get("timeout", {})
        data = _serialised(request)
        sock = self._kept.checkout(origin)
        if sock is None:
            sock = self._connect(origin, timeouts.get("connect"), request)
        try:
            self._send(sock, data, timeouts.get("write"), request)
            reply = _Reply(_Reader(sock, timeouts.get("read"), request), request.method)
        except BaseException:
            sock.close()
            raise
        if reply.keep:
            self._kept.checkin(origin, sock)
        else:
            sock.close()
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=httpx.ByteStream(reply.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reply.reason},
        )

    def _connect(
        self, origin: Origin, timeout: float | None, request: httpx.Request
    ) -> socket.socket:
        scheme, host, port = origin
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpx.ConnectError(type(exc).__name__, request=request) from None
        error = "no address"
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_wait_s(timeout, httpx.ConnectTimeout, request))
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if scheme == "https":  # CPython bounds the handshake by the socket's timeout
                    sock.settimeout(_wait_s(timeout, httpx.ConnectTimeout, request))
                    sock = self._context.wrap_socket(sock, server_hostname=host)
                return sock
            except TimeoutError:
                sock.close()
                raise httpx.ConnectTimeout("no connection in time", request=request) from None
            except ssl.SSLError as exc:  # no other address would pass the same check
                sock.close()
                raise httpx.ConnectError(f"TLS: {exc.reason}", request=request) from None
            except BaseException as exc:
                sock.close()
                if not isinstance(exc, OSError):
                    raise
                error = type(exc).__name__
        raise httpx.ConnectError(error, request=request)

    @staticmethod
    def _send(
        sock: socket.socket, data: bytes, timeout: float | None, request: httpx.Request
    ) -> None:
        sock.settimeout(_wait_s(timeout, httpx.WriteTimeout, request))
        try:
            sock.sendall(data)  # the timeout bounds the whole sendall (Python >= 3.5)
        except TimeoutError:
            raise httpx.WriteTimeout("the request was not sent in time", request=request) from None
        except OSError as exc:
            raise httpx.WriteError(type(exc).__name__, request=request) from None

    def close(self) -> None:
        """Close every kept connection."""
        self._kept.close()


def _origin(request: httpx.Request) -> Origin:
    url = request.url
    if url.scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"not an http(s) URL: {url.scheme!r}", request=request)
    if not url.host:
        raise httpx.UnsupportedProtocol("the URL has no host", request=request)
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


def _serialised(request: httpx.Request) -> bytes:
    """The request line, the headers httpx built (Host, Content-Length...) and the body."""
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    for name, value in request.headers.raw:
        if not _TOKEN.fullmatch(name) or b"\r" in value or b"\n" in value or b"\0" in value:
            raise httpx.LocalProtocolError(f"header {name!r} cannot be sent", request=request)
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    lines.append(request.read())
    return b"".join(lines)
