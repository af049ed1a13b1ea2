"""``providers.http``: one total deadline per request, whatever the server does, and the fence."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from providers.accounts import FastpodAccount
from providers.errors import FenceClosed, ProviderUnavailable
from providers.http import Client, build_client, call, deadline_s, fenced
from tests.integration.harness import wait_for
from tests.trickle import TrickleProxy

DEADLINE_S = 1.0
OVERSHOOT_S = 0.5  # scheduling slack on a loaded machine; measured overshoots are a few ms


@pytest.fixture
def trickling() -> Iterator[TrickleProxy]:
    """A server that sends status and headers at once, then one body byte every 0.3 s."""
    with TrickleProxy(interval_s=0.3) as server:
        yield server


def client_for(url: str, timeout_s: float = DEADLINE_S) -> Client:
    account = FastpodAccount(provider="fastpod", base_url=url, token="t0ken", timeout_s=timeout_s)
    return build_client(account)


class Fence:
    """A fence that says yes or no, and remembers the budgets it was asked about."""

    def __init__(self, *, open_: bool) -> None:
        self.open = open_
        self.asked: list[float] = []

    def allows(self, budget_s: float) -> bool:
        self.asked.append(budget_s)
        return self.open


def test_a_trickled_body_ends_the_call_by_its_deadline_as_ambiguous(trickling):
    # Given a server that answers at once but trickles its body (~130 s for the whole of it)
    with client_for(trickling.url) as client:
        started = time.monotonic()
        # When a mutation is sent
        with pytest.raises(ProviderUnavailable) as caught:
            call(client, "POST", "/v1/orders/o1/cancel", provider="fastpod", idempotency_key="k")
        took_s = time.monotonic() - started
    # Then it is abandoned at its deadline, as "may have been applied": read before re-sending
    assert DEADLINE_S <= took_s < DEADLINE_S + OVERSHOOT_S, took_s
    assert caught.value.ambiguous
    assert "may have been applied" in str(caught.value)


def test_an_abandoned_call_closes_its_connection(trickling):
    with client_for(trickling.url) as client, pytest.raises(ProviderUnavailable):
        call(client, "POST", "/v1/orders/o1/cancel", provider="fastpod", idempotency_key="k")
    # the server sees the hang-up by its next byte: the request is in flight nowhere
    (span,) = trickling.spans
    wait_for(lambda: span.ended, timeout_s=5, what="the server to see the hang-up")
    assert span.hung_up
    assert span.ended - span.started < DEADLINE_S + trickling.proxy.interval_s + OVERSHOOT_S


def test_a_read_past_its_deadline_is_not_ambiguous(trickling):
    with client_for(trickling.url) as client, pytest.raises(ProviderUnavailable) as caught:
        call(client, "GET", "/v1/orders/o1", provider="fastpod")
    assert not caught.value.ambiguous


def test_a_prompt_answer_is_untouched_and_the_connection_serves_the_next_call():
    with TrickleProxy(trickle=lambda method, path: False) as server, client_for(server.url) as c:
        for _ in range(3):
            reply = call(c, "POST", "/v1/orders/o1/cancel", provider="fastpod", idempotency_key="k")
            assert reply.status_code == 200
            assert reply.body["ok"] is True


def test_the_deadline_is_the_accounts_timeout():
    with client_for("http://127.0.0.1:9", timeout_s=7.5) as client:
        assert deadline_s(client) == 7.5


def test_a_closed_fence_stops_the_request_before_anything_is_sent(trickling):
    fence = Fence(open_=False)
    with client_for(trickling.url) as client, fenced(fence), pytest.raises(FenceClosed) as caught:
        call(client, "POST", "/v1/orders/o1/cancel", provider="fastpod", idempotency_key="k")
    assert not caught.value.ambiguous
    assert fence.asked == [DEADLINE_S]  # the fence is asked to cover the whole deadline
    assert trickling.spans == []


def test_an_open_fence_lets_the_request_through():
    fence = Fence(open_=True)
    with TrickleProxy(trickle=lambda method, path: False) as server:
        with client_for(server.url) as client, fenced(fence):
            call(client, "GET", "/v1/orders/o1", provider="fastpod")
        with client_for(server.url) as client:  # outside the block the fence is not asked
            call(client, "GET", "/v1/orders/o1", provider="fastpod")
    assert fence.asked == [DEADLINE_S]
    assert len(server.spans) == 2
