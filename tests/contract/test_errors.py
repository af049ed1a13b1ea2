"""Every adapter maps statuses, transport failures and garbage bodies to the same classes."""

from __future__ import annotations

import httpx
import pytest

from providers import (
    AuthFailed,
    InvalidCommand,
    NotAllowed,
    OrderNotFound,
    ProviderUnavailable,
    RateLimited,
    Unprocessable,
)
from providers.http import MAX_MESSAGE_CHARS
from tests.contract.cases import KEY, payload
from tests.contract.conftest import assert_no_secret, fail, reply

STATUS_CLASSES = [
    (400, InvalidCommand),
    (401, AuthFailed),
    (403, AuthFailed),
    (404, OrderNotFound),
    (405, NotAllowed),
    (406, NotAllowed),
    (409, Unprocessable),
    (410, InvalidCommand),  # an unlisted 4xx is the request's fault
    (422, Unprocessable),
    (423, Unprocessable),
    (429, RateLimited),
    (500, ProviderUnavailable),
    (502, ProviderUnavailable),
    (503, ProviderUnavailable),
    (504, ProviderUnavailable),
]

# A provider's own reading of a status: Backd's 400 is a business refusal (providers.md 1.7
# rule 4: "HTTP 400/409/422, or 2xx with error: true -> business rule"), read before final.
OWN_CLASS = {("backd", 400): NotAllowed}


def cancel_with(harness, case, responder):
    """Run the case's cancel against a provider whose cancel endpoint answers ``responder``."""
    operation = case.operations["cancel"]
    call = operation.mutation
    h = harness(overrides={(call.method, call.path): responder})
    h.provider.cancel(operation.command, idempotency_key=KEY)


@pytest.mark.parametrize(
    ("status", "error"), STATUS_CLASSES, ids=[str(s) for s, _ in STATUS_CLASSES]
)
def test_error_status_maps_to_its_class(case, harness, status, error):
    error = OWN_CLASS.get((case.name, status), error)
    with pytest.raises(error) as info:
        cancel_with(harness, case, reply(status, payload(case.name, "error.json")))

    assert type(info.value) is error
    assert (info.value.provider, info.value.status_code) == (case.name, status)
    assert info.value.raw_message == case.error_message
    assert case.error_message in str(info.value)
    assert_no_secret(info.value, case)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_a_mutation_is_ambiguous_and_not_retried(case, harness, status):
    operation = case.operations["cancel"]
    call = operation.mutation
    h = harness(overrides={(call.method, call.path): reply(status, {"message": "boom"})})

    with pytest.raises(ProviderUnavailable) as info:
        h.provider.cancel(operation.command, idempotency_key=KEY)

    assert info.value.ambiguous is True
    assert len(h.server.requests) == 1
    assert h.sleeps == []


def test_a_408_means_the_request_was_not_applied(case, harness):
    with pytest.raises(ProviderUnavailable) as info:
        cancel_with(harness, case, reply(408, content=b""))

    assert info.value.ambiguous is False


@pytest.mark.parametrize(
    ("headers", "retry_after_s"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({}, None),
        ({"Retry-After": "soon"}, None),
        (
            {
                "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
            30.0,
        ),
    ],
    ids=["seconds", "absent", "garbage", "http-date"],
)
def test_429_carries_retry_after(case, harness, headers, retry_after_s):
    with pytest.raises(RateLimited) as info:
        cancel_with(harness, case, reply(429, {"errors": ["Too Many Requests"]}, headers=headers))

    assert info.value.retry_after_s == retry_after_s
    assert info.value.raw_message == "Too Many Requests"


TRANSPORT = [
    (httpx.ConnectError, False),
    (httpx.ConnectTimeout, False),
    (httpx.PoolTimeout, False),
    (httpx.ReadTimeout, True),
    (httpx.WriteTimeout, True),
    (httpx.RemoteProtocolError, True),
    (httpx.ReadError, True),
]


@pytest.mark.parametrize(
    ("exc_type", "ambiguous"), TRANSPORT, ids=[e.__name__ for e, _ in TRANSPORT]
)
def test_transport_failures_on_a_mutation(case, harness, exc_type, ambiguous):
    with pytest.raises(ProviderUnavailable) as info:
        cancel_with(harness, case, fail(exc_type))

    assert info.value.ambiguous is ambiguous
    assert info.value.status_code is None
    assert exc_type.__name__ in str(info.value)
    assert_no_secret(info.value, case)


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{}</style></head>"
    b"<body><h1>Bad Gateway</h1><p>nginx</p></body></html>"
)
TRUNCATED = b'{"data": {"status": "order_cancel'
HUGE = b'{"message": "' + b"x" * 6_000_000 + b'"}'


@pytest.mark.parametrize(
    ("status", "content", "error", "ambiguous"),
    [
        (502, HTML_PAGE, ProviderUnavailable, True),
        (200, HTML_PAGE, ProviderUnavailable, True),
        (200, TRUNCATED, ProviderUnavailable, True),
        (200, HUGE, ProviderUnavailable, True),
        (200, b'["not", "an", "object"]', ProviderUnavailable, True),
        (200, b"\xff\xfe\x00garbage\x00", ProviderUnavailable, True),
        (422, TRUNCATED, Unprocessable, False),
        (500, HUGE, ProviderUnavailable, True),
        (404, HTML_PAGE, OrderNotFound, False),
    ],
    ids=[
        "html-502",
        "html-200",
        "truncated-200",
        "huge-200",
        "list-200",
        "binary-200",
        "truncated-422",
        "huge-500",
        "html-404",
    ],
)
def test_garbage_bodies_are_classified(case, harness, status, content, error, ambiguous):
    with pytest.raises(error) as info:
        cancel_with(harness, case, reply(status, content=content))

    assert type(info.value) is error
    assert getattr(info.value, "ambiguous", False) is ambiguous
    assert len(str(info.value)) < 1000
    assert len(info.value.raw_message) <= MAX_MESSAGE_CHARS
    assert_no_secret(info.value, case)


def test_an_html_error_page_gives_its_title(case, harness):
    with pytest.raises(ProviderUnavailable) as info:
        cancel_with(harness, case, reply(502, content=HTML_PAGE))

    assert info.value.raw_message == "502 Bad Gateway"


def test_credentials_echoed_by_the_provider_are_masked(case, harness):
    # A misbehaving proxy echoes the request's headers in its error page.
    def echo(request: httpx.Request) -> httpx.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        return httpx.Response(400, json={"error": f"bad request; you sent {headers}"})

    with pytest.raises(OWN_CLASS.get((case.name, 400), InvalidCommand)) as info:
        cancel_with(harness, case, echo)

    assert "***" in info.value.raw_message
    assert_no_secret(info.value, case)
