"""The provider transport reads every reply shape as httpx's own does, and fails the same way.

A scripted server on a loopback port answers each request with raw bytes; the same replies go
through httpx's transport (httpcore, h11) and through ``DeadlineTransport``, which must agree on
status, headers and body, and send the same request. Failures must keep their classes: "never
sent" only when nothing left, so a mutation is ambiguous whenever it may have arrived.
"""

from __future__ import annotations

import gzip
import re
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.errors import ProviderUnavailable
from providers.http import DeadlineTransport
from providers.http.client import transport_error
from tests.integration.harness import wait_for

Reply = Callable[[int], tuple[bytes, bool]]  # request number -> (bytes to send, close after)


class ScriptedServer:
    """Answers each request it reads with ``reply(n)``; records requests and connections."""

    def __init__(self, reply: Reply, *, context: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = 0  # connections the server closed
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if context else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        self.connections += 1
        try:
            if self._context is not None:
                conn = self._context.wrap_socket(conn, server_side=True)
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *([0-9]+)", head)
                size = int(length[1]) if length else 0
                while len(buffer) < size:
                    buffer += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + buffer[:size])
                buffer = buffer[size:]
                data, close = self.reply(len(self.requests) - 1)
                conn.sendall(data)
                if close:
                    return
        except OSError:
            return
        finally:
            conn.close()
            self.closed += 1

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._listener.close()


def always(data: bytes, close: bool = False) -> Reply:
    return lambda n: (data, close)


def ask(transport: httpx.BaseTransport, url: str, **options: Any) -> httpx.Response:
    """One POST of a small JSON body through ``transport``, as ``providers.http.send`` does it."""
    client = httpx.Client(transport=transport, timeout=5.0)  # not closed: it closes the transport
    request = client.build_request("POST", url + "/orders/1?x=a%20b", json={"id": 1}, **options)
    response = client._transport_for_url(request.url).handle_request(request)
    response.read()
    return response


def both(data: bytes) -> tuple[httpx.Response | type[Exception], ...]:
    """What httpx's transport and ours make of ``data`` (an exception class on failure)."""
    seen = []
    for transport in (httpx.HTTPTransport(), DeadlineTransport()):
        with transport, ScriptedServer(always(data, close=True)) as server:
            try:
                seen.append(ask(transport, server.url))
            except httpx.RequestError as exc:
                seen.append(type(exc))
    return tuple(seen)


def summary(response: httpx.Response | type[Exception]) -> object:
    if not isinstance(response, httpx.Response):
        return response
    headers = [(k.lower(), v) for k, v in response.headers.multi_items()]
    return response.status_code, headers, response.content


def chunked(body: bytes, sizes: list[int], trailer: bytes) -> bytes:
    out, at = b"", 0
    for size in sizes:
        piece = body[at : at + size]
        if piece:
            out += b"%x;ext=1\r\n%s\r\n" % (len(piece), piece)
        at += size
    if at < len(body):
        out += b"%x\r\n%s\r\n" % (len(body) - at, body[at:])
    return out + b"0\r\n" + trailer + b"\r\n"


bodies = st.binary(max_size=300)
header_values = st.text(alphabet="abcdefghij0123456789-_ ./", max_size=20).map(str.strip)


@st.composite
def replies(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from([200, 201, 202, 400, 404, 409, 422, 429, 500, 503]))
    body = draw(bodies)
    encoded = body
    headers = [(b"X-Request-Id", draw(header_values).encode())]
    if draw(st.booleans()):
        encoded = gzip.compress(body)
        headers.append((b"Content-Encoding", b"gzip"))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if framing == "length":
        headers.append((b"Content-Length", b"%d" % len(encoded)))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        sizes = draw(st.lists(st.integers(1, 64), max_size=6))
        trailer = draw(st.sampled_from([b"", b"X-Trailer: t\r\n"]))
        encoded = chunked(encoded, sizes, trailer)
    interim = draw(st.sampled_from([b"", b"HTTP/1.1 100 Continue\r\n\r\n"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]))
    head = b"%s %d Reason Phrase\r\n" % (version, status)
    head += b"".join(b"%s: %s\r\n" % h for h in headers)
    return interim + head + b"\r\n" + encoded


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies())
def test_every_reply_shape_reads_as_httpx_reads_it(data):
    theirs, ours = both(data)
    assert summary(ours) == summary(theirs)


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # cut body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",  # cut chunk
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk size
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Len",  # cut head
        b"",  # accepted and closed without a byte
    ],
)
def test_a_broken_reply_fails_as_a_protocol_error_that_may_have_landed(data):
    theirs, ours = both(data)
    assert ours is httpx.RemoteProtocolError, (theirs, ours)
    error = transport_error(ours("x"), provider="backd", mutation=True)
    assert error.ambiguous


def test_the_request_on_the_wire_is_the_one_httpx_sends():
    sent = []
    for transport in (httpx.HTTPTransport(), DeadlineTransport()):
        with transport, ScriptedServer(always(b"HTTP/1.1 204 No Content\r\n\r\n", True)) as server:
            ask(transport, server.url, headers={"Idempotency-Key": "k-1"})
            head, _, body = server.requests[0].partition(b"\r\n\r\n")
            line, *fields = head.split(b"\r\n")
            fields = [f.lower().replace(b":%d" % server.port, b":PORT") for f in fields]
            sent.append((line, sorted(fields), body))
    assert sent[0] == sent[1]
    assert sent[1][0] == b"POST /orders/1?x=a%20b HTTP/1.1"


def test_a_kept_connection_serves_the_next_call_and_a_closed_one_is_replaced():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    closing = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    with (
        DeadlineTransport() as transport,
        ScriptedServer(lambda n: (closing if n == 1 else ok, n == 1)) as server,
    ):
        statuses = [ask(transport, server.url).status_code for _ in range(4)]
        assert statuses == [200] * 4
        assert server.connections == 2  # one for the first two calls, one after the close


def test_a_connection_the_server_closed_while_kept_is_never_written_to():
    # Given a server that closes every connection right after its reply, without saying so
    reply = always(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", True)
    with DeadlineTransport() as transport, ScriptedServer(reply) as s:
        first = ask(transport, s.url)
        wait_for(lambda: s.closed == 1, timeout_s=5, what="the server to close")
        second = ask(transport, s.url)  # the checkout sees the close: no write to a dead socket
    assert (first.status_code, second.status_code, s.connections) == (200, 200, 2)


def test_a_refused_connection_was_never_sent():
    port = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{port.getsockname()[1]}"
    port.close()
    with DeadlineTransport() as transport, pytest.raises(httpx.ConnectError) as caught:
        ask(transport, url)
    error = transport_error(caught.value, provider="backd", mutation=True)
    assert isinstance(error, ProviderUnavailable)
    assert not error.ambiguous


def test_a_header_that_would_split_the_request_is_refused_before_a_byte_leaves():
    with ScriptedServer(always(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) as server:
        with DeadlineTransport() as transport, pytest.raises(httpx.LocalProtocolError):
            ask(transport, server.url, headers={"X-Note": "a\r\nX-Evil: 1"})
        assert server.requests == []


def test_an_unsupported_scheme_was_never_sent():
    with pytest.raises(httpx.UnsupportedProtocol):
        DeadlineTransport().handle_request(httpx.Request("GET", "ftp://example.invalid/x"))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[ScriptedServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    reply = always(b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"a":1}')
    with ScriptedServer(reply, context=context) as server:
        yield server


def test_tls_is_verified_against_the_trusted_certificates(tls_server, certificate):
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    with DeadlineTransport(trusting) as transport:
        assert [ask(transport, tls_server.url).json() for _ in range(2)] == [{"a": 1}] * 2
    assert tls_server.connections == 1


def test_an_untrusted_certificate_fails_before_anything_is_sent(tls_server):
    with DeadlineTransport() as transport, pytest.raises(httpx.ConnectError) as caught:
        ask(transport, tls_server.url)
    assert not transport_error(caught.value, provider="backd", mutation=True).ambiguous
    assert tls_server.requests == []


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n" + b"x" * 65,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n"
        + b"x" * 65
        + b"\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 65 * 1024,  # to the close
    ],
)
def test_a_reply_past_the_body_bound_is_refused(data, monkeypatch):
    monkeypatch.setattr("providers.http.transport.MAX_BODY_BYTES", 64)
    with (
        DeadlineTransport() as transport,
        ScriptedServer(always(data, True)) as server,
        pytest.raises(httpx.RemoteProtocolError, match="too large"),
    ):
        ask(transport, server.url)
