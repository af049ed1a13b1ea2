"""Webhooks delivered by real worker processes to a real HTTP receiver on loopback.

Every outcome of a thousand commands reaches the receiver, signed, none lost and each
command's events in the order they happened; a receiver outage ends in dead deliveries that
``ordercmd webhooks replay`` delivers once the receiver is back.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

import pytest

from config.settings import Settings
from store.outcomes import Outcomes
from store.webhooks.deliveries import Deliveries
from store.webhooks.signing import verify
from store.webhooks.subscriptions import Subscriptions
from tests.integration.harness import (
    ORDERCMD_WORKER,
    order_command,
    roomy,
    settle_all,
    unthrottled,
    wait_for,
)
from tests.integration.test_cli_flow import ordercmd
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.integration

ALL_EVENTS = ["succeeded", "already_done", "dead", "discarded", "retry_scheduled"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """Unthrottled accounts, fast webhook retries (3 attempts), for workers and the shell."""
    ordercmd_env |= unthrottled(ordercmd_env) | {
        "ORDERCMD_WEBHOOK_POLICY__RATE_PER_S": "5000",
        "ORDERCMD_WEBHOOK_POLICY__BASE_S": "0.05",
        "ORDERCMD_WEBHOOK_POLICY__CAP_S": "0.1",
        "ORDERCMD_WEBHOOK_POLICY__MAX_ATTEMPTS": "3",
        "ORDERCMD_WEBHOOK_POLICY__COOL_DOWN_S": "0.1",
    }
    return ordercmd_env


def test_a_thousand_outcomes_reach_the_receiver_in_order_none_lost(
    hook_env, settings: Settings, store, producer, sandbox, receiver, start_worker
):
    # Given a subscription to every outcome, a provider failing 10 % of mutations, two workers
    sub, secret = Subscriptions(store.client, settings).create(receiver.url, ALL_EVENTS)
    roomy(sandbox).admin.set_faults(scope="mutations", error_rates={503: 0.1})
    start_worker(pool="threads", concurrency=4)
    start_worker(pool="threads", concurrency=4)
    # When a thousand FastPOD orders are cancelled
    orders = sandbox.admin.create_orders("fastpod", "new_order", 1000)
    ids = [s.command_id for s in producer.submit_many(
        [order_command("fastpod", "cancel", o) for o in orders]
    )]  # fmt: skip
    settle_all(store.client, ids, timeout_s=120)
    events = Outcomes(store.client).read("0-0", count=100_000)
    assert len(events) >= 1000
    # Then the receiver gets every event, each verified, in stream order per command
    wanted = {e.event_id for e in events}

    def all_delivered() -> bool:
        return wanted <= {r.headers["webhook-id"][4:] for r in list(receiver.requests)}

    wait_for(all_delivered, timeout_s=60, what="every outcome at the receiver")
    per_command: dict[str, list[str]] = defaultdict(list)
    for request in receiver.requests:
        body = verify(request.body, request.headers, [secret])
        per_command[body["data"]["command_id"]].append(request.headers["webhook-id"])
    stream_order: dict[str, list[str]] = defaultdict(list)
    for event in events:
        stream_order[event.command_id].append(f"msg_{event.event_id}")
    assert {c: list(dict.fromkeys(got)) for c, got in per_command.items()} == stream_order
    assert Deliveries(store.client).dead() == []
    assert sub.id in [s.id for s in Subscriptions(store.client, settings).all()]


def test_receiver_down_dead_letters_then_a_cli_replay_delivers_once(
    hook_env, settings: Settings, store, producer, sandbox, receiver, start_worker
):
    # Given a subscription made from the shell and a receiver that is down
    added = ordercmd(hook_env, "webhooks", "add", receiver.url, "--event", "succeeded", "--json")
    assert added.returncode == 0, added.stderr
    secret = json.loads(added.stdout)["secret"]
    receiver.status = 503
    start_worker(pool="threads")
    # When two commands succeed
    orders = sandbox.admin.create_orders("fastpod", "new_order", 2)
    ids = [producer.submit(order_command("fastpod", "cancel", o)).command_id for o in orders]
    settle_all(store.client, ids, timeout_s=30)
    # Then each delivery is tried three times, then dead
    deliveries = Deliveries(store.client)
    wait_for(lambda: len(deliveries.dead()) == 2, timeout_s=30, what="two dead deliveries")
    assert len(receiver.refused) == 6
    dry = json.loads(ordercmd(hook_env, "webhooks", "replay", "--dry-run", "--json").stdout)
    assert (dry["dry_run"], dry["count"], dry["status"]) == (True, 2, "planned")
    # and once the receiver is back, a replay delivers each once
    receiver.status = 200
    done = ordercmd(hook_env, "webhooks", "replay", "--yes", "--why", "back", "--json")
    assert json.loads(done.stdout) | {"run": ""} == {
        "dry_run": False, "count": 2, "run": "", "status": "done"}  # fmt: skip
    wait_for(lambda: len(receiver.requests) == 2, timeout_s=30, what="two replayed deliveries")
    again = ordercmd(hook_env, "webhooks", "replay", "--yes", "--why", "again", "--json")
    assert json.loads(again.stdout)["count"] == 0
    got = sorted(
        verify(r.body, r.headers, [secret])["data"]["command_id"] for r in receiver.requests
    )
    assert got == sorted(ids)
    assert deliveries.dead() == []


def test_deliveries_run_on_a_worker_of_their_own_queue(
    hook_env, settings: Settings, store, producer, sandbox, receiver, start_worker
):
    # Given a subscription and one worker consuming only the commands' queue
    _, secret = Subscriptions(store.client, settings).create(receiver.url, ["succeeded"])
    start_worker(pool="threads", command=(*ORDERCMD_WORKER, "--queue", "ordercmd"))
    # When ten commands succeed
    orders = sandbox.admin.create_orders("fastpod", "new_order", 10)
    ids = [producer.submit(order_command("fastpod", "cancel", o)).command_id for o in orders]
    settle_all(store.client, ids, timeout_s=30)
    # Then nothing is delivered by it (its pump queued the deliveries on their own queue)
    wait_for(lambda: store.client.llen("ordercmd.webhooks"), timeout_s=10, what="queued task")
    assert receiver.requests == []
    # until a worker of the webhook queue starts: then every outcome arrives
    start_worker(pool="threads", command=(*ORDERCMD_WORKER, "--queue", "ordercmd.webhooks"))
    wait_for(lambda: len(receiver.requests) >= 10, timeout_s=30, what="ten deliveries")
    got = {verify(r.body, r.headers, [secret])["data"]["command_id"] for r in receiver.requests}
    assert got == set(ids)
