"""``providers.http``: Retry-After, message extraction, classification and the read policy."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.accounts import BackdAccount
from providers.errors import (
    AuthFailed,
    InvalidCommand,
    NotAllowed,
    OrderNotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unprocessable,
)
from providers.http import (
    MAX_MESSAGE_CHARS,
    READ_ATTEMPTS,
    build_client,
    call,
    class_for_status,
    decode_object,
    is_read_blip,
    parse_retry_after,
    provider_message,
    raise_for_provider_response,
    read_retrying,
    transport_error,
)
from providers.http.client import request_for

NOW = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)
SECRET = "sk_test_SUPERSECRET"


def response(status: int, content: bytes = b"", headers: dict[str, str] | None = None):
    request = httpx.Request(
        "POST", "https://provider.example/x", headers={"Authorization": f"Bearer {SECRET}"}
    )
    return httpx.Response(status, content=content, headers=headers, request=request)


def json_response(status: int, body: object, headers: dict[str, str] | None = None):
    return response(status, json.dumps(body).encode(), headers)


# --- Retry-After ------------------------------------------------------------------------------

RETRY_AFTER = [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("1.5", 1.5),
    ("0", 0.0),
    ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),  # 30 s after NOW
    ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # in the past: no wait, never negative
    (None, None),
    ("", None),
    ("-1", None),
    ("soon", None),
    ("12345678901", None),  # absurdly long: garbage
    ("٣", None),  # a non-ASCII digit
    ("Wed, 99 Foo 2026 99:99:99 GMT", None),
]


@pytest.mark.parametrize(("value", "expected"), RETRY_AFTER, ids=[repr(v) for v, _ in RETRY_AFTER])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


@given(st.text(max_size=60))
def test_parse_retry_after_never_raises(value):
    result = parse_retry_after(value, now=NOW)

    assert result is None or result >= 0


def test_429_without_a_date_header_measures_from_now():
    rate_limited = response(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:30 GMT"})

    with pytest.raises(RateLimited) as info:
        raise_for_provider_response(rate_limited, provider="p")

    assert info.value.retry_after_s is not None
    assert info.value.retry_after_s > 0


# --- message extraction -----------------------------------------------------------------------

MESSAGES = {
    "errors-list": ({"errors": ["Unable to find resource"]}, "Unable to find resource", None),
    "errors-many": ({"errors": ["a", "b"]}, "a; b", None),
    "errors-map": (
        {"errors": {"email": ["is invalid", "is taken"]}},
        "email: is invalid, is taken",
        None,
    ),
    "error": ({"error": "store is not active"}, "store is not active", None),
    "message": ({"message": "Unauthenticated."}, "Unauthenticated.", None),
    "code-message": ({"code": "NotFound", "message": "no order"}, "no order", "NotFound"),
    "numeric-code": ({"code": 4001, "message": "bad"}, "bad", "4001"),
    "bare-string": ("Unauthorized", "Unauthorized", None),
    "backd-envelope": ({"error": True, "message": "Order not found"}, "Order not found", None),
    "laravel-422": (
        {"message": "Invalid.", "errors": {"zip": ["required"]}},
        "Invalid.; zip: required",
        None,
    ),
    "errors-of-objects": ({"errors": [{"message": "nested"}]}, "nested", None),
    "unknown-shape": ({"unknown": "shape"}, '{"unknown": "shape"}', None),
}


@pytest.mark.parametrize(("body", "message", "code"), MESSAGES.values(), ids=MESSAGES.keys())
def test_provider_message_shapes(body, message, code):
    assert provider_message(json_response(400, body)) == (message, code)


BODIES = {
    "title": (
        b"<html><head><title>503 Unavailable</title></head><body>x</body></html>",
        "503 Unavailable",
    ),
    "tags": (b"<html><body><h1>Oops</h1>\n\n<p>Try later</p></body></html>", "Oops Try later"),
    "truncated": (b'{"errors": ["trunc', '{"errors": ["trunc'),
    "empty": (b"", "(empty body)"),
    "binary": (b"\x00\x01\x02", "(3 bytes, no text)"),
    "text": (b"plain text reason", "plain text reason"),
}


@pytest.mark.parametrize(("content", "message"), BODIES.values(), ids=BODIES.keys())
def test_provider_message_of_non_json_bodies(content, message):
    assert provider_message(response(502, content))[0] == message


def test_provider_message_of_a_huge_body_is_short():
    huge = b'{"message": "' + b"x" * 1_000_000 + b'"}'

    message, _ = provider_message(response(500, huge))

    assert 0 < len(message) <= MAX_MESSAGE_CHARS


def test_long_messages_are_trimmed_to_500():
    message, _ = provider_message(json_response(400, {"message": "y" * 5000}))

    assert message == "y" * MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {SECRET}"},
        {"Authorization": "Basic " + base64.b64encode(f"pk_1:{SECRET}".encode()).decode()},
        {"Access-Token": SECRET},
    ],
    ids=["bearer", "basic", "access-token"],
)
def test_credentials_in_a_body_are_masked(headers):
    request = httpx.Request("GET", "https://provider.example/x", headers=headers)
    echoed = json.dumps({"error": f"bad token {SECRET} in {headers}"}).encode()

    message, _ = provider_message(httpx.Response(401, content=echoed, request=request))

    assert SECRET not in message
    assert "***" in message


def test_a_secret_cut_by_the_limit_is_masked_first():
    message, _ = provider_message(json_response(400, {"message": "z" * 490 + SECRET}))

    assert "sk_test" not in message


# --- classification ---------------------------------------------------------------------------

STATUSES = [
    (200, None),
    (204, None),
    (301, ProviderUnavailable),
    (400, InvalidCommand),
    (401, AuthFailed),
    (403, AuthFailed),
    (404, OrderNotFound),
    (405, NotAllowed),
    (406, NotAllowed),
    (408, ProviderUnavailable),
    (409, Unprocessable),
    (418, InvalidCommand),
    (422, Unprocessable),
    (423, Unprocessable),
    (429, RateLimited),
    (500, ProviderUnavailable),
    (599, ProviderUnavailable),
]


@pytest.mark.parametrize(("status", "error"), STATUSES, ids=[str(s) for s, _ in STATUSES])
def test_class_for_status(status, error):
    assert class_for_status(status) is error


@given(
    status=st.integers(min_value=100, max_value=599),
    content=st.binary(max_size=2000),
    mutation=st.booleans(),
)
def test_arbitrary_answers_raise_only_the_tree(status, content, mutation):
    answer = response(status, content)
    try:
        raise_for_provider_response(answer, provider="p", mutation=mutation)
        body = decode_object(answer, provider="p", mutation=mutation)
    except ProviderError as exc:  # anything else fails the test
        error = exc
    else:
        assert 200 <= status < 300
        assert isinstance(body, dict)
        return
    assert len(error.raw_message) <= MAX_MESSAGE_CHARS
    assert SECRET not in str(error)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(body=JSON, status=st.sampled_from([400, 404, 422, 429, 500, 503]))
def test_arbitrary_json_bodies_give_a_short_message(body, status):
    with pytest.raises(ProviderError) as info:
        raise_for_provider_response(json_response(status, body), provider="p")

    assert isinstance(info.value.raw_message, str)
    assert len(info.value.raw_message) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", {}), (b"  ", {}), (b'{"a": 1}', {"a": 1})],
    ids=["empty", "blank", "object"],
)
def test_decode_object(content, expected):
    assert decode_object(response(200, content), provider="p", mutation=True) == expected


@pytest.mark.parametrize("mutation", [True, False])
def test_an_undecodable_2xx_is_unavailable_and_ambiguous_only_for_mutations(mutation):
    with pytest.raises(ProviderUnavailable) as info:
        decode_object(response(200, b"<html>"), provider="p", mutation=mutation)

    assert info.value.ambiguous is mutation


def test_a_deeply_nested_body_is_garbage_not_a_crash():
    deep = b"[" * 100_000 + b"]" * 100_000

    with pytest.raises(ProviderUnavailable):
        decode_object(response(200, deep), provider="p", mutation=True)


# --- transport and the read policy ------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc_type", "mutation", "ambiguous"),
    [
        (httpx.ConnectError, True, False),  # never left: safe to send again
        (httpx.PoolTimeout, True, False),
        (httpx.ReadTimeout, True, True),  # may have been applied
        (httpx.RemoteProtocolError, True, True),
        (httpx.ReadTimeout, False, False),  # a read changes nothing
    ],
)
def test_transport_error(exc_type, mutation, ambiguous):
    error = transport_error(exc_type("x"), provider="p", mutation=mutation)

    assert (type(error), error.ambiguous, error.provider) == (ProviderUnavailable, ambiguous, "p")


@pytest.mark.parametrize(
    ("status", "retried"),
    [(None, True), (502, True), (503, True), (504, True), (500, False), (408, False), (200, False)],
)
def test_only_transport_blips_and_gateway_errors_are_read_blips(status, retried):
    assert is_read_blip(ProviderUnavailable("", provider="p", status_code=status)) is retried


@pytest.mark.parametrize(
    "exc", [RateLimited("", provider="p"), OrderNotFound("", provider="p"), ValueError("x")]
)
def test_other_errors_are_not_read_blips(exc):
    assert is_read_blip(exc) is False


def run_policy(failures: list[BaseException]) -> tuple[object, int, list[float]]:
    """Run the read policy, with a no-op sleep, on a call failing with ``failures`` in turn."""
    sleeps: list[float] = []
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "ok"

    try:
        result: object = read_retrying(sleeps.append)(flaky)
    except ProviderError as exc:
        result = exc
    return result, len(calls), sleeps


def test_read_policy_retries_blips_with_a_growing_capped_wait():
    blip = ProviderUnavailable("", provider="p", status_code=503)

    result, calls, sleeps = run_policy([blip, blip])

    assert (result, calls) == ("ok", READ_ATTEMPTS)
    assert 0.5 <= sleeps[0] <= 1.0  # 0.5 s plus up to 0.5 s of jitter
    assert 1.0 <= sleeps[1] <= 1.5  # doubled
    assert all(s <= 5.0 for s in sleeps)


def test_read_policy_gives_up_after_three_attempts():
    blips = [ProviderUnavailable("", provider="p") for _ in range(5)]

    result, calls, sleeps = run_policy(blips)

    assert (result, calls, len(sleeps)) == (blips[READ_ATTEMPTS - 1], READ_ATTEMPTS, 2)


def test_read_policy_does_not_retry_permanent_errors():
    gone = OrderNotFound("", provider="p", status_code=404)

    assert run_policy([gone]) == (gone, 1, [])


def test_call_sends_the_clients_headers_url_body_and_timeout_and_reads_the_answer():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True}, headers={"Set-Cookie": "a=b"})

    account = BackdAccount(
        provider="backd",
        base_url="https://backd.invalid/api/v2",
        public_key="pk",
        secret_key="sk",
        timeout_s=4,
    )
    with build_client(account, transport=httpx.MockTransport(answer)) as client:
        reply = call(
            client,
            "POST",
            "/cancel_order",
            provider="backd",
            idempotency_key="key-1",
            json_body={"backd_order_id": "o/1"},
        )
        call(client, "POST", "/cancel_order", provider="backd", idempotency_key="key-2")

    assert reply == (200, {"ok": True})
    first, second = seen
    assert str(first.url) == "https://backd.invalid/api/v2/cancel_order"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"pk:sk").decode()
    assert first.headers["Idempotency-Key"] == "key-1"
    assert first.headers["Accept"] == "application/json"
    assert json.loads(first.content) == {"backd_order_id": "o/1"}
    assert first.extensions["timeout"] == httpx.Timeout(4).as_dict()
    assert "Cookie" not in second.headers  # providers' cookies are not kept


# what URLs treat specially, then anything
PATH_CHARS = st.sampled_from("/?#%&=+;: .@[]\tü") | st.characters(exclude_categories=("Cs",))
# what adapters send (``quote(order_id, safe="")``): taken without parsing when plain
PLAIN_SEGMENT = st.lists(
    st.sampled_from([*"aZ09-._~.", "%2F", "%20", "%C3%BC", "%2e", ".."]), max_size=6
).map("".join)
PLAIN_PATH = st.lists(PLAIN_SEGMENT, min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)


@given(
    path=st.text(PATH_CHARS, max_size=40).map(lambda text: "/" + text) | PLAIN_PATH,
    body=st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    key=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1),
    base=st.sampled_from(
        ["https://p.invalid", "https://p.invalid/api/v2", "http://h:8080/x/", "http://[::1]:81/"]
    ),
)
def test_a_provider_request_is_the_one_build_request_makes(path, body, key, base):
    client = httpx.Client(
        base_url=base, timeout=3, headers={"Accept": "application/json", "Authorization": "x"}
    )
    headers = {"Idempotency-Key": key} if key else None
    try:
        expected = client.build_request("POST", path, json=body, headers=headers)
    except httpx.InvalidURL:
        with pytest.raises(httpx.InvalidURL):
            request_for(client, "POST", path, body, headers)
        return
    built = request_for(client, "POST", path, body, headers)

    assert (built.method, str(built.url)) == (expected.method, str(expected.url))
    assert built.url.raw_path == expected.url.raw_path
    assert (built.url.host, built.url.port) == (expected.url.host, expected.url.port)
    assert sorted(built.headers.multi_items()) == sorted(expected.headers.multi_items())
    assert built.read() == expected.read()
    assert built.extensions == expected.extensions
