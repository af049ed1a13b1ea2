"""The receivers' helper, ``producer.webhooks.verify_delivery``, and the example receiver.

A valid delivery verifies; tampered, stale or wrong-secret ones do not; both secrets verify
during a rotation. The example receiver uses the helper over real HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from producer.webhooks import WebhookVerificationError, verify_delivery
from store.clock import utcnow
from store.webhooks.signing import new_secret, payload, sign
from tests.integration.harness import ROOT, wait_for

EVENT = {
    "event_id": "1765000000000-0", "event": "succeeded", "command_id": "c1",
    "idempotency_key": "k", "provider": "backd", "account": "acme", "order_id": "BO-1",
    "kind": "cancel", "state": "succeeded", "reason": "", "attempts": 1, "message": "",
    "at_ms": 1765000000000,
}  # fmt: skip


def delivery(secrets: list[str], *, age_s: float = 0) -> tuple[bytes, dict[str, str]]:
    body = payload(EVENT)
    return body, sign(EVENT["event_id"], body, secrets, at=utcnow() - timedelta(seconds=age_s))


def test_a_valid_delivery_verifies_to_its_event():
    secret = new_secret()
    body, headers = delivery([secret])
    event = verify_delivery(body, headers, secret)
    assert (event["type"], event["data"]["command_id"]) == ("command.succeeded", "c1")
    assert headers["webhook-id"] == "msg_1765000000000-0"


@pytest.mark.parametrize("case", ["tampered", "stale", "wrong secret", "no headers"])
def test_a_bad_delivery_is_refused(case):
    secret = new_secret()
    body, headers = delivery([secret], age_s=600 if case == "stale" else 0)
    if case == "tampered":
        body = body.replace(b"succeeded", b"dead")
    if case == "no headers":
        headers = {}
    with pytest.raises(WebhookVerificationError):
        verify_delivery(body, headers, new_secret() if case == "wrong secret" else secret)


def test_during_a_rotation_either_secret_verifies():
    old, new = new_secret(), new_secret()
    body, headers = delivery([new, old])
    assert verify_delivery(body, headers, old) == verify_delivery(body, headers, [new])
    assert verify_delivery(body, headers, [new_secret(), old])["data"]["order_id"] == "BO-1"


def test_the_example_receiver_takes_good_deliveries_once_and_refuses_bad_ones(tmp_path):
    secret = new_secret()
    log_path = tmp_path / "receiver.out"
    env = {
        **os.environ,
        "ORDERCMD_WEBHOOK_SECRETS": f"{new_secret()},{secret}",
        "PYTHONPATH": str(ROOT),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "webhook_receiver.py"), "--port", "0"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        url = wait_for(lambda: log_path.read_text(), timeout_s=20, what="listening").split()[-1]
        body, headers = delivery([secret])
        assert httpx.post(url, content=body, headers=headers).status_code == 204
        assert httpx.post(url, content=body, headers=headers).status_code == 204
        tampered = httpx.post(url, content=body.replace(b"c1", b"c2"), headers=headers)
        assert tampered.status_code == 400
    finally:
        process.terminate()
        process.wait(10)
    printed = log_path.read_text().splitlines()[1:]
    assert len(printed) == 1
    assert '"command_id": "c1"' in printed[0]
