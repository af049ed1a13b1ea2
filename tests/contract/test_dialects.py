"""Every adapter against the sandbox in every dialect: the same outcome, the same mutations.

The sandbox runs in process behind ``httpx.MockTransport``; each dialect is one reading of the
open details of providers.md (``sandbox.dialects``). Each scenario is what the worker does
with the adapter, step by step: send, and read the order where the answer leaves doubt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from providers import (
    Account,
    AuthFailed,
    OrderNotFound,
    OrderProvider,
    PermanentError,
    ProviderError,
    ProviderUnavailable,
    Unprocessable,
    build_client,
    build_provider,
)
from sandbox import DIALECTS, FaultSettings, SandboxConfig, SandboxState, create_app
from schemas import (
    COMMAND_ADAPTER,
    AnyCommand,
    CancelOrder,
    Provider,
    ProviderReceipt,
    RefundOrder,
    Verdict,
)
from tests.dialect_cases import SETUP

ACCOUNTS: dict[str, dict[str, Any]] = {
    "backd": {"base_url": "http://sandbox/backd", "public_key": "pk_sandbox"}
    | {"secret_key": "sk_sandbox"},
    "shoplazza": {"base_url": "http://sandbox/shoplazza/store1"}
    | {"access_token": "shoplazza-sandbox-token"},
    "fastpod": {"base_url": "http://sandbox/fastpod", "token": "fastpod-sandbox-token"},
}
WRONG = {"backd": {"secret_key": "sk_wrong"}, "shoplazza": {"access_token": "x"}}
WRONG["fastpod"] = {"token": "x"}
EXPECTED = {
    "happy": ("sent", 1),
    "refusal": ("rejected", 0),
    "applied_then_read": ("done", 1),
    "5xx_then_ok": ("sent", 1),
    "422_then_ok": ("sent", 1),
    "not_found": ("not_found", 0),
    "auth": ("auth", 0),
}
OWN_EXPECTED = {("fastpod", "refund", "refusal"): ("unsupported", 0)}
ACCOUNT: TypeAdapter[Any] = TypeAdapter(Account)


@dataclass
class World:
    """One sandbox in one dialect, and adapters that reach it through a mock transport."""

    state: SandboxState
    client: TestClient

    def adapter(self, provider: str, *, wrong: bool = False) -> OrderProvider:
        fields = ACCOUNTS[provider] | (WRONG[provider] if wrong else {})
        account = ACCOUNT.validate_python({"provider": provider, **fields})
        transport = httpx.MockTransport(self._forward)
        return build_provider(account, build_client(account, transport=transport), sleep=_no_wait)

    def _forward(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k not in {"host", "content-length"}}
        url = request.url.raw_path.decode()
        reply = self.client.request(request.method, url, content=request.content, headers=headers)
        return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)

    def order(self, provider: str, state: str) -> str:
        made = self.state.add_order(Provider(provider), state)
        return str(made.get("backd_order_id") or made["id"])

    def mutations(self, order_id: str) -> int:
        return sum(1 for m in self.state.mutations if m.order_id == order_id)


def _no_wait(_: float) -> None:
    return None


@pytest.fixture(params=sorted(DIALECTS))
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    state = SandboxState(SandboxConfig(orders_per_provider=0, **DIALECTS[request.param]))
    with TestClient(create_app(state=state), base_url="http://sandbox") as client:
        yield World(state, client)


def send(adapter: OrderProvider, command: AnyCommand) -> ProviderReceipt:
    key = f"key-{command.order_id}"
    if isinstance(command, CancelOrder):
        return adapter.cancel(command, idempotency_key=key)
    if isinstance(command, RefundOrder):
        return adapter.refund(command, idempotency_key=key)
    return adapter.update(command, idempotency_key=key)


def refused(adapter: OrderProvider, command: AnyCommand, exc: ProviderError) -> str:
    """What the worker makes of a refusal: final at once, or after one read of the order."""
    if isinstance(exc, AuthFailed):
        return "auth"
    if isinstance(exc, OrderNotFound):
        return "not_found"
    if exc.status_code is None:  # ruled out by what the adapter read: nothing was sent
        assert isinstance(exc, PermanentError)
        return str(exc.reason)
    assert isinstance(exc, PermanentError | Unprocessable), exc
    found = adapter.reconcile(command, adapter.find(command.order_id))
    assert found.verdict is Verdict.IMPOSSIBLE, found
    return str(found.reason or "rejected")


def attempt(adapter: OrderProvider, command: AnyCommand) -> str:
    try:
        send(adapter, command)
    except ProviderError as exc:
        return refused(adapter, command, exc)
    return "sent"


def after_doubt(world: World, adapter: OrderProvider, command: AnyCommand, fault: str) -> str:
    """One failed call (nothing applied), a read that finds it still to do, one more send."""
    before = adapter.fingerprint(command, adapter.find(command.order_id))
    since = world.state.now() - timedelta(seconds=1)
    provider = Provider(command.provider)
    world.state.set_faults(provider, FaultSettings(scope="mutations", script=[fault]))
    with pytest.raises(ProviderUnavailable if fault == "503" else Unprocessable):
        send(adapter, command)
    found = adapter.reconcile(command, adapter.find(command.order_id), since=since, before=before)
    assert found.verdict is Verdict.PENDING, found
    return attempt(adapter, command)


def applied_then_read(world: World, adapter: OrderProvider, command: AnyCommand) -> str:
    """The call lands (its reply is as good as lost); the read must find it done."""
    before = adapter.fingerprint(command, adapter.find(command.order_id))
    since = world.state.now() - timedelta(seconds=1)
    send(adapter, command)
    found = adapter.reconcile(command, adapter.find(command.order_id), since=since, before=before)
    return str(found.verdict)


Scenario = Callable[[World, OrderProvider, AnyCommand], str]
SCENARIOS: dict[str, Scenario] = {
    "happy": lambda w, a, c: attempt(a, c),
    "refusal": lambda w, a, c: attempt(a, c),
    "applied_then_read": applied_then_read,
    "5xx_then_ok": lambda w, a, c: after_doubt(w, a, c, "503"),
    "422_then_ok": lambda w, a, c: after_doubt(w, a, c, "422"),
    "not_found": lambda w, a, c: attempt(a, c),
    "auth": lambda w, a, c: attempt(a, c),
}
CASES = [(p, k, s) for (p, k) in SETUP for s in EXPECTED]


@pytest.mark.parametrize(("provider", "kind", "scenario"), CASES, ids="-".join)
def test_the_same_outcome_and_mutations_in_every_dialect(world, provider, kind, scenario):
    runnable, ruled_out, fields = SETUP[(provider, kind)]
    if scenario == "not_found":
        order_id = {"backd": "BO-999999", "shoplazza": "1001-99999999"}.get(provider, "F237-99")
    else:
        order_id = world.order(provider, ruled_out if scenario == "refusal" else runnable)
    raw = {"kind": kind, "provider": provider, "account": "a", "order_id": order_id, **fields}
    command = COMMAND_ADAPTER.validate_python(raw)
    adapter = world.adapter(provider, wrong=scenario == "auth")

    outcome = SCENARIOS[scenario](world, adapter, command)

    want = OWN_EXPECTED.get((provider, kind, scenario), EXPECTED[scenario])
    assert (outcome, world.mutations(order_id)) == want
