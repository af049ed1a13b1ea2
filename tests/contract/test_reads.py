"""Every adapter's reads: blips retried in-request (no real sleeping), the rest raised at once."""

from __future__ import annotations

import httpx
import pytest

from providers import AuthFailed, OrderNotFound, ProviderUnavailable, RateLimited
from providers.http import READ_ATTEMPTS
from tests.contract.cases import payload
from tests.contract.conftest import fail, reply, sequence
from tests.contract.test_errors import HTML_PAGE, TRUNCATED


def test_a_read_retries_blips_without_sleeping_for_real(case, harness):
    first = case.find_calls[0]
    recorded = reply(200, payload(case.name, first.reply))
    flaky = sequence(reply(503, content=b""), fail(httpx.ReadTimeout), recorded)
    h = harness(case.find_calls, {(first.method, first.path): flaky})

    order = h.provider.find(case.order_id)

    assert order.status == case.find_status
    assert len(h.server.to(first.method, first.path)) == 3
    assert len(h.sleeps) == 2
    assert all(0 < s <= 5 for s in h.sleeps)


@pytest.mark.parametrize(
    "responder",
    [reply(503, content=b""), fail(httpx.ConnectError)],
    ids=["503", "connect-error"],
)
def test_a_read_gives_up_after_three_attempts(case, harness, responder):
    first = case.find_calls[0]
    h = harness(case.find_calls, {(first.method, first.path): responder})

    with pytest.raises(ProviderUnavailable) as info:
        h.provider.find(case.order_id)

    assert info.value.ambiguous is False
    assert len(h.server.to(first.method, first.path)) == READ_ATTEMPTS


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ProviderUnavailable), (404, OrderNotFound), (429, RateLimited), (401, AuthFailed)],
)
def test_a_read_does_not_retry_other_failures(case, harness, status, error):
    first = case.find_calls[0]
    h = harness(case.find_calls, {(first.method, first.path): reply(status, {"error": "no"})})

    with pytest.raises(error):
        h.provider.find(case.order_id)

    assert len(h.server.to(first.method, first.path)) == 1
    assert h.sleeps == []


@pytest.mark.parametrize(
    "content", [HTML_PAGE, TRUNCATED, b"{}"], ids=["html", "truncated", "empty"]
)
def test_a_read_of_garbage_is_unavailable_not_a_crash(case, harness, content):
    first = case.find_calls[0]
    h = harness(case.find_calls, {(first.method, first.path): reply(200, content=content)})

    with pytest.raises(ProviderUnavailable) as info:
        h.provider.find(case.order_id)

    assert info.value.ambiguous is False
