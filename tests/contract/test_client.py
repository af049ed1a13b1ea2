"""Every provider's client, as ``build_client`` makes it: base URL, timeout and auth."""

from __future__ import annotations

import httpx

from providers import build_client


def test_the_client_carries_the_account_auth_timeout_and_base_path(case):
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    account = case.account.model_copy(update={"timeout_s": 7.5})
    with build_client(account, transport=httpx.MockTransport(record)) as client:
        client.get("/ping")

    header, value = case.auth
    assert seen[0].headers[header] == value
    assert seen[0].headers["Accept"] == "application/json"
    assert str(seen[0].url) == str(account.base_url).rstrip("/") + "/ping"
    assert client.timeout == httpx.Timeout(7.5)
