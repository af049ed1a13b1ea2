"""A Redis broker delivery is acked by the script that records its outcome (worker.folded_acks).

What Redis received is read from ``INFO commandstats`` and ``MONITOR``: kombu acks with a
``MULTI``/``EXEC`` of its own, which a delivery acked with its outcome must not send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
import redis
from kombu import Connection

from schemas import CommandState
from store.command_store import Claim, CommandStore, StoreLimits
from store.records import read_record
from tests.factories import make_envelope
from tests.hostile_corpus import call, envelope
from tests.integration.harness import order_command, wait_for
from worker.app import EXECUTE_TASK
from worker.folded_acks import FOLDED_ACKS
from worker.quarantining import MessageScreen
from worker.redis_transport import GuardedTransport

pytestmark = pytest.mark.integration
COUNT = 20  # commands a worker drains


def calls(client, command: str) -> int:
    return int(client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def guarded(redis_url: str, **options: object) -> Connection:
    """A kombu connection on ordercmd's Redis transport, as a worker's consumer has one."""
    screen = MessageScreen(frozenset({EXECUTE_TASK}), 64 * 1024, lambda entry: None)
    options |= {"ordercmd_screen": screen}
    return Connection(redis_url, transport=GuardedTransport, transport_options=options)


def test_a_delivery_acked_with_its_outcome_costs_the_channel_no_round_trip(redis_url, redis_client):
    limits = StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000)
    store = CommandStore(redis_client, limits)
    with guarded(redis_url) as conn:
        channel = conn.default_channel
        for task_id in ("folded", "plain"):
            message = envelope(task_id, call([task_id]), task_id=task_id)
            redis_client.lpush("q1", json.dumps(message))
        folded, plain = channel.basic_get("q1"), channel.basic_get("q1")
        assert redis_client.hlen("unacked") == 2  # both delivered, neither acked yet

        admission = store.admit(make_envelope())
        claim = store.claim(admission.command_id)
        assert isinstance(claim, Claim)
        ack = FOLDED_ACKS.ack_for(folded.delivery_tag)
        assert ack is not None
        store.finish(claim, CommandState.SUCCEEDED, None, ack=ack)
        FOLDED_ACKS.acked(ack.tag)
        assert redis_client.hkeys("unacked") == [plain.delivery_tag]

        redis_client.config_resetstat()
        folded.ack()
        assert calls(redis_client, "exec") == 0  # no round trip: finish acked it
        plain.ack()  # not acked with an outcome: kombu's own ack
        assert calls(redis_client, "exec") == 1
        assert redis_client.hlen("unacked") == 0
        assert redis_client.zcard("unacked_index") == 0


def test_a_delivery_is_recorded_as_kombu_records_it_and_restored_unacked(redis_url, redis_client):
    sent = envelope("c1", call(["c1"]), task_id="c1")
    redis_client.lpush("q1", json.dumps(sent))
    redis_client.config_resetstat()
    with guarded(redis_url) as conn:
        channel = conn.default_channel
        message = channel.basic_get("q1")
        tag = message.delivery_tag
        assert calls(redis_client, "exec") == 0  # one script call, not kombu's MULTI/EXEC
        routing = message.delivery_info["exchange"], message.delivery_info["routing_key"]
        assert json.loads(redis_client.hget("unacked", tag)) == [sent, *routing]
        assert redis_client.zscore("unacked_index", tag) is not None

        channel.qos.restore_unacked()  # what kombu does for a delivery left unacked

    assert redis_client.hlen("unacked") == 0
    [restored] = [json.loads(m) for m in redis_client.lrange(routing[1], 0, -1)]
    assert restored["body"] == sent["body"]  # back on its routing key's queue, as it was sent
    assert restored["headers"] == sent["headers"] | {"redelivered": True}


def test_a_key_prefix_of_the_broker_is_kept_by_the_record_and_the_fold(redis_url, redis_client):
    redis_client.lpush("pfx:q1", json.dumps(envelope("c1", call(["c1"]), task_id="c1")))
    with guarded(redis_url, global_keyprefix="pfx:") as conn:
        message = conn.default_channel.basic_get("q1")
        tag = message.delivery_tag
        assert redis_client.hkeys("pfx:unacked") == [tag]
        assert redis_client.zrange("pfx:unacked_index", 0, -1) == [tag]
        ack = FOLDED_ACKS.ack_for(tag)
        assert ack is not None
        assert (ack.hash_key, ack.index_key) == ("pfx:unacked", "pfx:unacked_index")
        message.ack()  # not acked with an outcome: kombu's own ack, prefixed by kombu
    assert redis_client.hlen("pfx:unacked") == 0


@contextmanager
def unacked_removals(redis_url: str) -> Iterator[list[tuple[str, str]]]:
    """Each delivery removed from kombu's unacked index meanwhile: by ``lua`` or a client."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)  # no timeout: it waits
    monitor = client.monitor().__enter__()
    seen: list[tuple[str, str]] = []

    def watch() -> None:
        # until the monitor is closed (its connection gone: AttributeError)
        with suppress(redis.RedisError, OSError, ValueError, AttributeError):
            for entry in monitor.listen():
                words = entry["command"].split()
                if words[:2] == ["ZREM", "unacked_index"]:
                    seen.append((entry["client_type"], words[2]))

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        monitor.__exit__()
        thread.join(timeout=5)
        client.close()


@pytest.mark.parametrize(("pool", "folded"), [("threads", COUNT), ("prefork", 0)])
def test_a_worker_acks_every_delivery_once_threads_with_the_outcome(
    pool, folded, sandbox, producer, store, start_worker, redis_url, redis_client
):
    order_ids = sandbox.admin.create_orders("backd", "order_placed", COUNT)
    submissions = [producer.submit(order_command("backd", "cancel", o)) for o in order_ids]

    def all_acked() -> bool:
        records = [read_record(store.client, s.command_id) for s in submissions]
        done = all(r is not None and r.state is CommandState.SUCCEEDED for r in records)
        return done and redis_client.hlen("unacked") == 0

    with unacked_removals(redis_url) as removals:
        start_worker(pool=pool, concurrency=2)
        wait_for(all_acked, timeout_s=60, what=f"{COUNT} cancels done and acked")
        wait_for(lambda: len(removals) >= COUNT, timeout_s=10, what="the monitor")
    assert redis_client.zcard("unacked_index") == 0
    assert len(sandbox.state.mutations) == COUNT
    tags = [tag for _, tag in removals]
    assert len(tags) == len(set(tags))  # each delivery acked once (re-sends are deliveries too)
    # a threads worker acks in finish.lua; a prefork child is another process: kombu acks there
    assert [by for by, _ in removals].count("lua") == folded
