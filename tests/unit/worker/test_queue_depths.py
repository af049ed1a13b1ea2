"""Broker queue depths: Celery's Redis lists per priority step; unknown on AMQP; unreachable."""

from __future__ import annotations

from worker.queue_depths import PRIORITY_SEP, broker_depths


def test_redis_queues_count_every_priority_list_and_the_unacked(store):
    client = store.client
    client.rpush("ordercmd", "m1", "m2")
    client.rpush("ordercmd" + PRIORITY_SEP + "6", "m3")
    client.rpush("ordercmd.bulk", *[f"b{i}" for i in range(5)])
    client.hset("unacked", mapping={"tag1": "x", "tag2": "y"})
    depths = broker_depths(client, None)
    assert depths.queues == {
        "ordercmd": 3, "ordercmd.resend": 0, "ordercmd.bulk": 5, "ordercmd.webhooks": 0,
    }  # fmt: skip
    assert (depths.transport, depths.unacked, depths.note) == ("redis", 2, "")


def test_amqp_depths_are_unknown_without_a_connection(store):
    depths = broker_depths(store.client, "amqp://guest:guest@127.0.0.1:5672//")
    assert set(depths.queues.values()) == {None}
    assert depths.unacked is None
    assert depths.transport == "amqp"
    assert "unknown" in depths.note
    assert "guest" not in str(depths.to_json())  # no credentials in what a page shows


def test_an_unreachable_redis_broker_is_said_so_quickly(store):
    depths = broker_depths(store.client, "redis://127.0.0.1:1/0")
    assert set(depths.queues.values()) == {None}
    assert depths.note.startswith("broker unreachable")
