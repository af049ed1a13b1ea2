"""ASGI plumbing of the fault pipeline: buffer requests, capture and (mis)deliver replies."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.faults import ActionKind, BadResponse, FaultAction, FaultSettings
from sandbox.state import StoredResponse

GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)


async def buffered(receive: Receive) -> Receive:
    """Read the whole request body now; the returned ``receive`` replays it.

    Held requests are processed after the client may have gone; reading the body first means
    the change still lands then, as it would at a slow provider.
    """
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def capture(app: ASGIApp, scope: Scope, receive: Receive) -> StoredResponse:
    """Run ``app`` and collect its whole response instead of sending it."""
    start: Message = {}
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return StoredResponse(
        start.get("status", 500), list(start.get("headers", [])), b"".join(chunks)
    )


def _with(
    headers: list[tuple[bytes, bytes]], name: bytes, value: bytes
) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() != name] + [(name, value)]


def _pad(body: bytes, size: int) -> bytes:
    if body.startswith(b"{") and body.endswith(b"}"):
        return body[:-1] + b',"_padding":"' + b"x" * size + b'"}'
    return body + b" " * size


async def deliver(
    reply: StoredResponse, action: FaultAction, settings: FaultSettings, send: Send
) -> None:
    """Send ``reply`` to the client, broken the way ``action`` says."""
    body, headers = reply.body, reply.headers
    if action.kind is ActionKind.REPLY_LOST:
        declared = str(max(len(body), 1)).encode()
        start = {"type": "http.response.start", "status": reply.status}
        await send(start | {"headers": _with(headers, b"content-length", declared)})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        return  # never finished: the server closes the connection mid-body
    if action.bad is BadResponse.TRUNCATED_JSON:
        body = body[: len(body) // 2]
    elif action.bad is BadResponse.WRONG_CONTENT_TYPE:
        headers = _with(headers, b"content-type", b"text/html; charset=utf-8")
    elif action.bad is BadResponse.HUGE:
        body = _pad(body, settings.huge_body_bytes)
    headers = _with(headers, b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
