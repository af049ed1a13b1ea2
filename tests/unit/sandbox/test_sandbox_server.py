"""SandboxServer over real loopback HTTP: admin helpers, lost replies, held requests, the CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from sandbox import SandboxConfig, SandboxServer, main
from sandbox.cli import build_parser, config_from_args
from schemas import Provider

BACKD_AUTH = ("pk_sandbox", "sk_sandbox")


@pytest.fixture(scope="module")
def server():
    with SandboxServer() as running:
        yield running


@pytest.fixture
def sandbox(server):
    server.admin.reset()
    return server


def cancel(
    sandbox: SandboxServer, order_id: str, key: str, timeout_s: float = 5.0
) -> httpx.Response:
    return httpx.post(
        f"{sandbox.backd_url}/cancel_order",
        auth=BACKD_AUTH,
        json={"backd_order_id": order_id},
        headers={"Idempotency-Key": key},
        timeout=timeout_s,
    )


def test_serves_all_three_providers_on_one_port(sandbox):
    backd = httpx.get(f"{sandbox.backd_url}/find_order/BO-000001", auth=BACKD_AUTH)
    shoplazza = httpx.get(
        f"{sandbox.shoplazza_url('demo')}/openapi/2022-01/orders/1001-00000001",
        headers={"Access-Token": "shoplazza-sandbox-token"},
    )
    fastpod = httpx.get(
        f"{sandbox.fastpod_url}/v1/orders/F237-000001",
        headers={"Authorization": "Bearer fastpod-sandbox-token", "Accept": "application/json"},
    )

    assert sandbox.url.startswith("http://127.0.0.1:")
    assert [r.status_code for r in (backd, shoplazza, fastpod)] == [200, 200, 200]


def test_admin_helpers(sandbox):
    created = sandbox.admin.create_order(Provider.FASTPOD, "on_hold", reference_id="REF-T")
    ids = sandbox.admin.create_orders("backd", "order_confirmed", 2)
    cancel(sandbox, ids[0], "k")

    assert sandbox.admin.order("fastpod", created["id"])["reference_id"] == "REF-T"
    assert sandbox.admin.mutations(order_id=ids[0]) == []  # refused: confirmed orders stay
    assert sandbox.admin.mutations(provider="backd") == []
    assert sandbox.admin.requests()["backd"]["by_status"] == {"200": 1}
    assert len(sandbox.admin.orders("backd")) == 26
    assert sandbox.admin.update_settings(shoplazza_bucket_size=9)["shoplazza_bucket_size"] == 9
    assert sandbox.admin.set_faults("backd", latency_ms=1)["backd"]["latency_ms"] == 1
    sandbox.admin.clear_faults()
    assert sandbox.admin.faults()["backd"]["latency_ms"] == 0


def test_reply_lost_applies_but_the_client_sees_a_transport_error(sandbox):
    sandbox.admin.set_faults("backd", script=["reply_lost"])

    with pytest.raises(httpx.RemoteProtocolError):
        cancel(sandbox, "BO-000001", "lost-1")
    retried = cancel(sandbox, "BO-000001", "lost-1")

    assert retried.status_code == 200
    assert retried.json()["data"]["status"] == "order_cancelled"
    assert retried.headers["idempotent-replayed"] == "true"
    [logged] = sandbox.admin.mutations(order_id="BO-000001")
    assert logged["idempotency_key"] == "lost-1"
    assert sandbox.admin.requests()["backd"]["by_fault"] == {
        "reply_lost": 1,
        "replayed": 1,
        "ok": 1,
    }


def test_held_request_times_out_at_the_client_and_lands_later(sandbox):
    sandbox.admin.set_faults("backd", script=["timeout"], timeout_hold_s=0.5)

    with pytest.raises(httpx.ReadTimeout):
        cancel(sandbox, "BO-000003", "slow", timeout_s=0.1)

    deadline = time.monotonic() + 5
    while not sandbox.admin.mutations(order_id="BO-000003") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sandbox.admin.mutations(order_id="BO-000003")) == 1


def test_stop_is_prompt_even_with_a_held_request():
    with SandboxServer(SandboxConfig(orders_per_provider=1)) as server:
        server.admin.set_faults(script=["timeout"], timeout_hold_s=60)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{server.backd_url}/find_order/BO-000001", auth=BACKD_AUTH, timeout=0.1)
        started = time.monotonic()
    assert time.monotonic() - started < 3


def test_cli_flags_build_the_config():
    args = build_parser().parse_args(
        [
            "--seed=5",
            "--orders=3",
            "--backd-key=pk_a:sk_a",
            "--shoplazza-token=t1",
            "--fault-provider=backd",
            "--error-rate=503=0.2",
            "--bad-response=html=0.1",
            "--latency-ms=10",
            "--outage-for-s=5",
            "--fault-scope=mutations",
        ]
    )

    config = config_from_args(args)

    assert (config.seed, config.orders_per_provider, config.backd_keys) == (5, 3, {"pk_a": "sk_a"})
    assert config.shoplazza_tokens == ["t1"]
    assert config.fastpod_tokens == ["fastpod-sandbox-token"]
    faults = config.faults[Provider.BACKD]
    assert (faults.error_rates, faults.bad_response_rates) == ({503: 0.2}, {"html": 0.1})
    assert (faults.latency_ms, faults.outage_for_s, faults.scope) == (10, 5, "mutations")
    assert set(config.faults) == {Provider.BACKD}


def test_cli_refuses_impossible_rates():
    with pytest.raises(SystemExit) as exited:
        main(["--error-rate", "500=0.9", "--reply-lost-rate", "0.5"])

    assert exited.value.code == 2


def test_python_dash_m_sandbox_has_help():
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"], capture_output=True, text=True, check=True
    )

    assert "--reply-lost-rate" in result.stdout
