"""The intake's refusals: one JSON shape (``{"errors": [{"field", "reason"}]}``) for every one.

``IntakeRoute`` also enforces ``web.max_body_bytes`` on the declared and the streamed size
before FastAPI parses anything, and turns FastAPI's validation errors into that shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import redis
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from providers.errors import StoreUnavailable
from schemas import CommandKind, Provider

STORE_RETRY_AFTER_S = 5  # what a producer whose store call failed is asked to wait
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


class StoreDown(IntakeError):
    """503: the store did not answer; says whether the command may have been admitted."""

    def __init__(self, reason: str, *, may_have_been_admitted: bool, retry_after_s: float) -> None:
        super().__init__(503, [("store", reason)])
        self.may_have_been_admitted = may_have_been_admitted
        self.retry_after_s = retry_after_s

    @classmethod
    def of(cls, exc: Exception, request: Request) -> StoreDown:
        """The answer to ``exc`` (`StoreUnavailable`, or a Redis error of another call)."""
        if isinstance(exc, StoreUnavailable):
            return cls(str(exc), may_have_been_admitted=exc.may_have_been_admitted,
                       retry_after_s=exc.retry_after_s)  # fmt: skip
        writes = request.method != "GET"  # a write that failed half-way may have gone in
        reason = f"the command store is unavailable ({type(exc).__name__})"
        if writes:
            reason += "; it may have been admitted: retry with the same idempotency key"
        return cls(reason, may_have_been_admitted=writes, retry_after_s=STORE_RETRY_AFTER_S)

    def response(self) -> JSONResponse:
        """The JSON answer, with ``Retry-After``."""
        body = {
            "errors": [{"field": f, "reason": r} for f, r in self.problems],
            "may_have_been_admitted": self.may_have_been_admitted,
        }
        headers = {"Retry-After": str(max(1, math.ceil(self.retry_after_s)))}
        return JSONResponse(body, status_code=503, headers=headers)


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
            except (StoreUnavailable, redis.RedisError) as exc:
                return StoreDown.of(exc, request).response()
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
