"""The intake's refusals: one JSON shape (``{"errors": [{"field", "reason"}]}``) for every one.

``IntakeRoute`` also enforces ``web.max_body_bytes`` on the declared and the streamed size
before FastAPI parses anything, and turns FastAPI's validation errors into that shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from schemas import CommandKind, Provider

_UNION_TAGS = {str(k) for k in CommandKind} | {str(p) for p in Provider}


class IntakeError(Exception):
    """A refusal with its HTTP status and the fields at fault."""

    def __init__(
        self, status: int, problems: Sequence[tuple[str, str]], **extra: str | None
    ) -> None:
        super().__init__(f"{status}: {problems}")
        self.status = status
        self.problems = list(problems)
        self.extra = extra

    def response(self) -> JSONResponse:
        """The JSON answer."""
        body: dict[str, Any] = {"errors": [{"field": f, "reason": r} for f, r in self.problems]}
        body |= {k: v for k, v in self.extra.items() if v is not None}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def field_path(loc: Sequence[int | str], *, prefix: str = "") -> str:
    """``("commands", 2, "refund", "amount")`` as ``commands[2].amount``; union tags dropped."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _UNION_TAGS:
            path += f".{part}" if path else str(part)
    return path


def validation_problems(exc: RequestValidationError) -> list[tuple[str, str]]:
    """``(field, reason)`` pairs of FastAPI's validation error."""
    problems = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        where, rest = (loc[0], loc[1:]) if loc else ("body", [])
        ctx = error.get("ctx") or {}
        if error.get("type") == "json_invalid":
            problems.append(("body", f"not valid JSON: {ctx.get('error', 'decode error')}"))
            continue
        if str(error.get("type", "")).startswith("union_tag_"):
            rest.append(str(ctx.get("discriminator", "kind")).strip("'"))
        field = field_path(rest) or ("body" if where == "body" else str(where))
        if where in ("header", "path", "query") and rest:
            field = f"{where}.{field}"
        problems.append((field, str(error.get("msg", "invalid")).removeprefix("Value error, ")))
    return problems


class BodyTooLarge(IntakeError):
    """The request body is over ``web.max_body_bytes``."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, [("body", f"larger than the limit of {limit} bytes")])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as the declared or streamed size passes ``limit``.

    Raises:
        BodyTooLarge: the body is over ``limit`` bytes.
        IntakeError: 400 when Content-Length is not a number.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise IntakeError(400, [("content-length", "not a number of bytes")])
        if int(declared) > limit:
            raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class IntakeRoute(APIRoute):
    """A route whose body is size-checked first and whose every refusal is ``Errors``-shaped."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, wrapped."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            limit: int = request.app.state.ordercmd.settings.web.max_body_bytes
            try:
                body = await read_body(request, limit)
                return await handler(Request(request.scope, _replay(body, request.receive)))
            except IntakeError as exc:
                return exc.response()
            except RequestValidationError as exc:
                return IntakeError(422, validation_problems(exc)).response()
            except HTTPException as exc:
                return IntakeError(exc.status_code, [("request", str(exc.detail))]).response()

        return guarded


def _replay(body: bytes, receive_more: Receive) -> Receive:
    """A ``receive`` that hands out the body already read, then waits on the real one."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await receive_more()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
