"""The Redis Streams intake on a real Redis: bad events never block; kill -9 loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from producer import Producer
from producer.streams import StreamConfig, StreamIntake
from store import keys
from store.records import read_record
from tests.integration.harness import ROOT, wait_for

pytestmark = pytest.mark.integration

STREAM = "shop:order-events"
GROUP = "ordercmd"
VALID_EVENTS = 3000
INVALID_EVENTS = 60  # every 50th event is one of three kinds of bad


def command(order: str, **extra: object) -> str:
    data = {"kind": "cancel", "provider": "fastpod", "account": "pod", "order_id": order}
    return json.dumps(data | extra)


def intake(
    producer: Producer, client: redis.Redis, consumer: str = "c1", **options
) -> StreamIntake:
    config = StreamConfig(stream=STREAM, group=GROUP, consumer=consumer, block_ms=50, **options)
    stream_intake = StreamIntake(producer, client, config)
    stream_intake.ensure_group()
    return stream_intake


def dead_events(client: redis.Redis) -> list[dict[str, str]]:
    return [fields for _, fields in client.xrange(keys.dead_events(STREAM))]


def test_events_become_commands_and_bad_ones_go_to_the_dead_event_stream(producer, store):
    client = store.client
    stream_intake = intake(producer, client)
    client.xadd(STREAM, {"command": command("F-1"), "event_id": "evt-1"})
    client.xadd(STREAM, {"command": command("F-2")})
    client.xadd(STREAM, {"command": "{not json"})
    client.xadd(STREAM, {"nothing": "here"})
    client.xadd(STREAM, {"command": command("F-3", account="nobody")})
    client.xadd(STREAM, {"command": command("F-1", reason="other"), "event_id": "evt-1"})
    assert stream_intake.step() == 6
    assert (stream_intake.stats.new, stream_intake.stats.dead) == (2, 4)
    records = [read_record(client, i) for i in client.zrange(keys.recent(), 0, -1)]
    by_order = {r.envelope.command.order_id: r.envelope for r in records}
    assert (by_order["F-1"].idempotency_key, by_order["F-1"].source) == ("evt-1", "stream")
    assert by_order["F-2"].idempotency_key.startswith(f"stream:{STREAM}:")
    reasons = [e["reason"] for e in dead_events(client)]
    assert [r.split(":")[0] for r in reasons] == [
        "command",
        "command",
        "account",
        "idempotency_key",
    ]
    assert reasons[1] == "command: missing: the event has no 'command' field"
    assert client.xpending(STREAM, GROUP)["pending"] == 0, "every entry is acknowledged"


def test_a_consumer_claims_what_a_dead_one_left_pending(producer, store):
    client = store.client
    intake(producer, client, consumer="dead")  # creates the group
    for i in range(5):
        client.xadd(STREAM, {"command": command(f"F-{i}")})
    client.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=5)  # read, then "crashed"
    survivor = intake(producer, client, consumer="alive", claim_idle_ms=1)
    # entries become idle enough one by one on a loaded machine: claim until all five are taken
    claimed = [0]
    wait_for(lambda: claimed.append(survivor.claim_stale()) or sum(claimed) >= 5, timeout_s=5)
    assert sum(claimed) == 5
    assert (survivor.stats.claimed, survivor.stats.new) == (5, 5)
    assert client.xpending(STREAM, GROUP)["pending"] == 0


def test_a_restarted_consumer_first_reads_its_own_pending_entries(producer, store):
    client = store.client
    first = intake(producer, client)
    client.xadd(STREAM, {"command": command("F-1")})
    client.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=10)  # read but never acknowledged
    stop = threading.Event()
    thread = threading.Thread(target=first.run, args=(stop,))
    thread.start()
    wait_for(lambda: first.stats.new == 1, timeout_s=5, what="the pending entry to be admitted")
    stop.set()
    thread.join(5)
    assert client.xpending(STREAM, GROUP)["pending"] == 0


@pytest.fixture
def start_consumer(
    ordercmd_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``ordercmd intake stream`` in its own process group; all are killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(consumer: str, *extra: str) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "cli",
            "intake",
            "stream",
            "--stream",
            STREAM,
            "--group",
            GROUP,
            "--consumer",
            consumer,
            "--count",
            "50",
            *extra,
        ]
        with (tmp_path / f"{consumer}-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen(
                argv,
                env={**os.environ, **ordercmd_env},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def fill_stream(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(VALID_EVENTS + INVALID_EVENTS):
        if i % 51 == 50:
            pipe.xadd(STREAM, {"command": ["{bad", command("F", account="nobody"), "7"][i % 3]})
        else:
            pipe.xadd(STREAM, {"command": command(f"F-{i}"), "event_id": f"evt-{i}"})
    pipe.execute()


def test_kill_9_mid_stream_loses_no_event_and_admits_none_twice(redis_client, start_consumer):
    # Given a stream of 3,060 events, 60 of them bad
    fill_stream(redis_client)
    assert redis_client.xlen(STREAM) == VALID_EVENTS + INVALID_EVENTS
    # When the consumer is killed with -9 while it works, several times, and restarted
    killed_mid_batch = 0
    for round_ in range(1, 5):
        process = start_consumer("c1")
        target = round_ * 500
        wait_for(
            lambda target=target: redis_client.zcard(keys.recent()) >= target,
            timeout_s=60,
            what=f"{target} admissions",
        )
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        killed_mid_batch += redis_client.xpending(STREAM, GROUP)["pending"] > 0
    assert killed_mid_batch, "no kill landed between a read and its acknowledgement"
    # ...and another consumer takes over what the dead one left pending, then reads on
    survivor = start_consumer("c2", "--claim-idle-s", "0.2")

    def drained() -> bool:
        groups = {g["name"]: g for g in redis_client.xinfo_groups(STREAM)}
        return groups[GROUP]["pending"] == 0 and groups[GROUP]["lag"] == 0

    wait_for(drained, timeout_s=90, what="the stream to be consumed")
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(15) == 0
    # Then every valid event is exactly one command, and every bad one one dead event
    admitted = redis_client.zcard(keys.recent())
    assert admitted == VALID_EVENTS, f"{admitted} commands for {VALID_EVENTS} valid events"
    dead = redis_client.xlen(keys.dead_events(STREAM))
    assert dead == INVALID_EVENTS, f"{dead} dead events for {INVALID_EVENTS} bad ones"
    keys_seen = {
        redis_client.get(keys.idempotency(f"evt-{i}"))
        for i in range(VALID_EVENTS + INVALID_EVENTS)
        if i % 51 != 50
    }
    assert None not in keys_seen
    assert len(keys_seen) == VALID_EVENTS
