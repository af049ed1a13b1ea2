"""The contract suite's harness: a scripted provider behind ``httpx.MockTransport``.

Every test gets one provider ``Case`` per registered adapter (``params=sorted(PROVIDERS)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from providers import PROVIDERS, OrderProvider, build_client, build_provider
from tests.contract.cases import CASES, Call, Case, payload

Responder = Callable[[httpx.Request], httpx.Response]
Route = tuple[str, str]


def reply(
    status: int = 200,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Responder:
    """A responder answering ``status`` with a JSON ``body`` or raw ``content``."""

    def respond(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return respond


def fail(exc_type: type[httpx.TransportError]) -> Responder:
    """A responder whose transport fails with ``exc_type``."""

    def respond(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated transport failure", request=request)

    return respond


def sequence(*responders: Responder) -> Responder:
    """Answer with each responder in turn; the last one repeats."""
    queue = list(responders)

    def respond(request: httpx.Request) -> httpx.Response:
        current = queue.pop(0) if len(queue) > 1 else queue[0]
        return current(request)

    return respond


@dataclass
class ProviderServer:
    """Stands in for the provider: one responder per (method, path); records every request."""

    routes: dict[Route, Responder]
    fallback: Responder | None = None  # answers any request no route matches
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = (request.method, request.url.path)
        responder = self.routes.get(route, self.fallback)
        if responder is None:
            raise AssertionError(f"unexpected request {route}")
        return responder(request)

    def to(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]


@dataclass
class Harness:
    """An adapter wired to a ``ProviderServer``; ``sleeps`` records read-retry waits."""

    case: Case
    server: ProviderServer
    provider: OrderProvider
    sleeps: list[float]


def sent_json(request: httpx.Request) -> Any:
    """The JSON body the provider received; ``None`` when there was no body."""
    return json.loads(request.content) if request.content else None


def routes_for(case: Case, calls: Iterable[Call]) -> dict[Route, Responder]:
    return {(c.method, c.path): reply(200, payload(case.name, c.reply)) for c in calls}


def error_texts(exc: BaseException) -> list[str]:
    """Everything of an error an operator or a log may see."""
    texts = [str(exc), repr(exc), *map(str, exc.args)]
    texts += [str(getattr(exc, name, "")) for name in ("raw_message", "provider_code")]
    return texts


def assert_no_secret(exc: BaseException, case: Case) -> None:
    for text in error_texts(exc):
        for secret in (*case.secrets, "SUPERSECRET"):
            assert secret not in text, f"secret leaked into {type(exc).__name__}: {text!r}"


@pytest.fixture(params=sorted(PROVIDERS))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.fixture
def harness(case: Case) -> Iterator[Callable[..., Harness]]:
    """Build an adapter for ``case`` whose provider answers the given calls and overrides."""
    clients: list[httpx.Client] = []

    def make(
        calls: Iterable[Call] = (), overrides: dict[Route, Responder] | None = None
    ) -> Harness:
        server = ProviderServer({**routes_for(case, calls), **(overrides or {})})
        client = build_client(case.account, transport=httpx.MockTransport(server))
        clients.append(client)
        sleeps: list[float] = []
        return Harness(
            case, server, build_provider(case.account, client, sleep=sleeps.append), sleeps
        )

    yield make
    for client in clients:
        client.close()


def route(call: Call) -> Route:
    """The (method, path) a recorded call answers on."""
    return (call.method, call.path)
