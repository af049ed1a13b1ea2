"""The one client factory, one request path for every adapter, and the read-only retry policy."""

from __future__ import annotations

import re
import time
from base64 import b64encode
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
import tenacity

from providers.accounts import BackdAccount, FastpodAccount, ShoplazzaAccount
from providers.errors import FenceClosed, ProviderError, ProviderUnavailable
from providers.http.deadline import deadline, fence_allows
from providers.http.status import decode_object, raise_for_provider_response
from providers.http.transport import DeadlineTransport

# Adapters type with these names and never import httpx: swapping httpx is one import.
Client = httpx.Client
Response = httpx.Response
Sleep = Callable[[float], None]
BodyCheck = Callable[[httpx.Response, dict[str, Any]], ProviderError | None]
"""A provider's quirk on a 2xx: returns the error its body means, or ``None`` for success."""

DEFAULT_DEADLINE_S = 10.0  # a request's total bound when its client has no timeout
READ_ATTEMPTS = 3  # in-request tries of a read (STYLE.md 7: blips only, stripe's numbers)
READ_WAIT_INITIAL_S = 0.5
READ_WAIT_MAX_S = 5.0
_RETRYABLE_READ_STATUSES = frozenset({502, 503, 504})
# Failures that happen before a byte of the request left: never ambiguous.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


class Reply(NamedTuple):
    """A provider's 2xx answer: its status and its JSON object body (``{}`` when empty)."""

    status_code: int
    body: dict[str, Any]


def build_client(
    account: BackdAccount | ShoplazzaAccount | FastpodAccount,
    *,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Build the HTTP client for one account: base URL, timeout and the provider's auth.

    The account's ``timeout_s`` bounds each request as a whole (``call``), not only each wait.

    Args:
        account: The account settings; the auth scheme follows its type.
        transport: A transport to use instead of the network (tests, the sandbox); the
            default is ``DeadlineTransport``, which ends each request by its deadline.

    Returns:
        The client an adapter for this account receives; the caller closes it.
    """
    headers = {"Accept": "application/json", "User-Agent": "ordercmd/0.1"}
    match account:
        case BackdAccount():
            # a header, not httpx.BasicAuth: ``call`` sends without the client's auth flow
            credentials = f"{account.public_key}:{account.secret_key.get_secret_value()}"
            headers["Authorization"] = f"Basic {b64encode(credentials.encode()).decode()}"
        case ShoplazzaAccount():
            headers["Access-Token"] = account.access_token.get_secret_value()
            headers["Content-Type"] = "application/json"
        case FastpodAccount():
            headers["Authorization"] = f"Bearer {account.token.get_secret_value()}"
    return httpx.Client(
        base_url=str(account.base_url),
        timeout=account.timeout_s,
        headers=headers,
        transport=transport if transport is not None else DeadlineTransport(),
    )


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    idempotency_key: str | None = None,
    json_body: dict[str, Any] | None = None,
    check: BodyCheck | None = None,
    list_key: str | None = None,
) -> Reply:
    """Send one request and classify the answer. A call with an idempotency key is a mutation.

    Args:
        client: The account's client (``build_client``).
        method: The HTTP method.
        url: The path, relative to the account's base URL.
        provider: The provider's name, carried by any error.
        idempotency_key: Sent as ``Idempotency-Key``; marks the call as a mutation.
        json_body: The JSON body, if any.
        check: The provider's quirk on a 2xx body.
        list_key: Accept a JSON list body, as ``{list_key: [...]}``.

    Returns:
        The status and JSON object of a 2xx answer that ``check`` accepts.

    The request, body included, ends within the client's timeout in all (``deadline_s``); a
    request past it is abandoned (its connection closed) and fails as a transport error.

    Raises:
        FenceClosed: the fence in scope (the claim's lease) cannot cover the request; nothing
            was sent.
        ProviderError: What ``raise_for_provider_response`` or ``check`` picks; transport
            failures become ``ProviderUnavailable`` (ambiguous when a mutation may have landed).
    """
    mutation = idempotency_key is not None
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
    budget_s = deadline_s(client)
    if not fence_allows(budget_s):
        message = f"{provider}: the claim's lease cannot cover a request of {budget_s:g} s"
        raise FenceClosed(message, provider=provider)
    try:
        with deadline(budget_s):
            response = send(client, request_for(client, method, url, json_body, headers))
    except httpx.RequestError as exc:
        raise transport_error(exc, provider=provider, mutation=mutation) from exc
    raise_for_provider_response(response, provider=provider, mutation=mutation)
    body = decode_object(response, provider=provider, mutation=mutation, list_key=list_key)
    if check is not None and (error := check(response, body)) is not None:
        raise error
    return Reply(response.status_code, body)


def request_for(
    client: httpx.Client,
    method: str,
    url: str,
    json_body: dict[str, Any] | None,
    headers: dict[str, str] | None,
) -> httpx.Request:
    """The request ``client.build_request`` builds for ``url``, built with less work.

    ``build_request`` parses the path as a URL of its own, then merges it, the headers, the
    cookies and the query parameters into copies: about 55 us, where the path appended to the
    base URL and the default headers listed take about 35 us. Only a path under the base URL
    (``/...``, no fragment) on a client without cookies or query parameters takes this way,
    with headers that replace none of the client's; anything else goes through
    ``build_request``.
    """
    if (
        not url.startswith("/")
        or url.startswith("//")
        or "#" in url
        or client.params
        or client.cookies
        or (headers and any(name in client.headers for name in headers))
    ):
        return client.build_request(method, url, json=json_body, headers=headers)
    return httpx.Request(
        method,
        _url_under(client.base_url, url),
        headers=[*client.headers.multi_items(), *(headers or {}).items()],
        json=json_body,
        extensions={"timeout": client.timeout.as_dict()},
    )


def _url_under(base: httpx.URL, path: str) -> httpx.URL | str:
    """``path`` under ``base``: already parsed when the path is plain, else the text to parse.

    A plain path (unreserved characters and upper-case percent escapes, no segment starting
    with a dot) is what httpx's parser would leave as it is, so it is put into ``base``'s
    parsed form directly (about 10 us a request); anything else is parsed by httpx.
    """
    parsed = getattr(base, "_uri_reference", None)  # httpx's parsed form of a URL
    if (
        isinstance(parsed, tuple)
        and hasattr(parsed, "_replace")
        and parsed.query is None  # type: ignore[attr-defined]
        and parsed.fragment is None  # type: ignore[attr-defined]
        and _PLAIN_PATH.fullmatch(path)
    ):
        joined = parsed._replace(path=parsed.path.rstrip("/") + path)  # type: ignore[attr-defined]
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = joined
        return url
    return str(base).rstrip("/") + path


# segments of unreserved characters and percent escapes, none "." or ".." (nor any dot start)
_PLAIN_PATH = re.compile(
    r"(?:/(?:(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*)?)+"
)


def send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """Send ``request`` on ``client``'s transport and read the whole answer.

    ``Client.send`` wraps every request in an auth flow, a redirect loop and cookie
    extraction, none of which a provider client uses (``build_client``: credentials are
    default headers, redirects are not followed, providers set no cookies); skipping them
    saves about a tenth of a request's CPU. The client's own auth, if any, is not applied.
    """
    # the transport httpx itself would pick for the URL (its mounts, else the default)
    response = client._transport_for_url(request.url).handle_request(request)
    response.request = request
    try:
        response.read()
    finally:
        response.close()
    return response


def deadline_s(client: httpx.Client) -> float:
    """The total time one request of ``client`` may take: its longest phase timeout."""
    timeout = client.timeout
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    return max((t for t in phases if t is not None), default=DEFAULT_DEADLINE_S)


def read(
    client: httpx.Client,
    url: str,
    *,
    provider: str,
    check: BodyCheck | None = None,
    sleep: Sleep = time.sleep,
    list_key: str | None = None,
) -> Reply:
    """``GET`` ``url`` under the read retry policy; see ``call`` for the arguments."""
    retrying = read_retrying(sleep)
    return retrying(call, client, "GET", url, provider=provider, check=check, list_key=list_key)


def read_retrying(sleep: Sleep = time.sleep) -> tenacity.Retrying:
    """The in-request policy, for reads only: transport blips and 502/503/504.

    At most ``READ_ATTEMPTS`` tries, waiting exponentially from 0.5 s, capped at 5 s, with
    jitter. Mutations are never retried here: the worker reads the order first.

    Args:
        sleep: How to wait between tries; tests pass a no-op.
    """
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(READ_ATTEMPTS),
        wait=tenacity.wait_exponential_jitter(
            multiplier=READ_WAIT_INITIAL_S, max=READ_WAIT_MAX_S, jitter=READ_WAIT_INITIAL_S
        ),
        retry=tenacity.retry_if_exception(is_read_blip),
        sleep=sleep,
        reraise=True,
    )


def is_read_blip(exc: BaseException) -> bool:
    """Whether a failed read is worth another try within the request."""
    if not isinstance(exc, ProviderUnavailable):
        return False
    return exc.status_code is None or exc.status_code in _RETRYABLE_READ_STATUSES


def transport_error(
    exc: httpx.RequestError, *, provider: str, mutation: bool
) -> ProviderUnavailable:
    """Classify a transport failure: a mutation is ambiguous unless it surely never left."""
    never_sent = isinstance(exc, _NEVER_SENT)
    ambiguous = mutation and not never_sent
    fate = "never sent" if never_sent else "may have been applied" if ambiguous else "no answer"
    # The text names the failure only: httpx's own text is not needed and is kept as __cause__.
    return ProviderUnavailable(
        f"{provider}: {type(exc).__name__} ({fate})", ambiguous=ambiguous, provider=provider
    )
