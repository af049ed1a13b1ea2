"""Scripts on held connections: one per thread, the client's retry policy, NOSCRIPT, forks."""

from __future__ import annotations

import gc
import multiprocessing
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from redisconn.client import redis_client
from redisconn.held import HeldConnections, HeldScript

pytestmark = pytest.mark.integration

COUNT = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    client = redis_client(redis_url, retries=0)
    yield client
    client.close()


def held_script(client: redis.Redis, source: str = COUNT) -> HeldScript:
    return HeldScript(client, source, HeldConnections(client))


def script_connections(admin: redis.Redis) -> list[dict[str, str]]:
    """The server's clients whose last command was a script call."""
    return [c for c in admin.client_list() if c["cmd"] in ("evalsha", "script|load")]


def test_a_thread_keeps_one_connection_and_each_thread_has_its_own(redis_client, admin):
    count = held_script(redis_client)

    assert [count(keys=["n"], args=[1]) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert len(script_connections(admin)) == 1
    other = threading.Thread(target=lambda: count(keys=["n"], args=[10]))
    other.start()
    other.join()

    assert admin.get("n") == "15"
    assert len(script_connections(admin)) == 2


def test_a_thread_that_ends_gives_its_connection_back_to_the_pool(redis_client, admin):
    count = held_script(redis_client)
    ids: list[int] = []
    worker = threading.Thread(target=lambda: ids.append(count(keys=["n"], args=[1])))
    worker.start()
    worker.join()
    gc.collect()
    [used] = script_connections(admin)

    # the pool hands the same connection out again
    assert str(redis_client.client_id()) == used["id"]


def test_a_connection_the_server_dropped_is_retried_once_and_the_call_counts_once(
    redis_client, admin
):
    count = held_script(redis_client)
    count(keys=["n"], args=[1])
    assert admin.client_kill_filter(_type="normal", skipme=True) >= 1

    assert count(keys=["n"], args=[1]) == 2
    assert admin.get("n") == "2"


def test_a_refused_connection_fails_after_the_clients_retries(make_redis_server):
    server = make_redis_server(appendonly=False)
    client = redis_client(server.url, timeout_s=2.0)
    count = held_script(client)
    count(keys=["n"], args=[1])
    server.stop()
    started = time.monotonic()

    with pytest.raises(redis.ConnectionError):
        count(keys=["n"], args=[1])
    assert time.monotonic() - started < 2.0
    client.close()


def test_a_server_that_lost_the_script_is_sent_it_again(redis_client, admin):
    count = held_script(redis_client)
    count(keys=["n"], args=[1])
    admin.script_flush()

    assert count(keys=["n"], args=[1]) == 2
    assert admin.script_exists(count.sha) == [True]


def test_a_timeout_is_not_retried_and_its_late_reply_is_never_read(redis_url, admin):
    client = redis_client(redis_url, timeout_s=1.0)  # 0.7 s a try
    count = held_script(client)
    count(keys=["n"], args=[1])
    admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    started = time.monotonic()
    try:
        with pytest.raises(redis.TimeoutError):
            count(keys=["n"], args=[100])
        waited = time.monotonic() - started
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")

    assert waited < 1.2  # one try: a retry would have waited twice
    before = int(admin.get("n"))  # 1, or 101 had the abandoned call run late
    # the next call reads its own reply, not the abandoned one's
    assert count(keys=["n"], args=[1000]) == before + 1000
    client.close()


def test_a_script_error_leaves_the_connection_usable(redis_client):
    failing = held_script(redis_client, "return redis.error_reply('ERR no')")
    count = HeldScript(redis_client, COUNT, failing._held)

    with pytest.raises(redis.ResponseError, match="no"):
        failing(keys=["n"], args=[])
    assert count(keys=["n"], args=[1]) == 1


def _count_in_child(url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(_shared_script[0](keys=["n"], args=[10]))


_shared_script: list[HeldScript] = []


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents(redis_url, admin):
    client = redis_client(redis_url)
    count = held_script(client)
    _shared_script[:] = [count]
    count(keys=["n"], args=[1])
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    child = multiprocessing.get_context("fork").Process(
        target=_count_in_child, args=(redis_url, queue)
    )
    child.start()
    child.join(timeout=30)

    assert queue.get(timeout=5) == 11
    assert count(keys=["n"], args=[100]) == 111  # the parent's connection still answers
    _shared_script.clear()
    client.close()


def test_an_interrupt_between_send_and_read_drops_the_connection(redis_client, monkeypatch):
    count = held_script(redis_client)
    count(keys=["n"], args=[1])
    connection = count._held._connection()

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(connection, "read_response", interrupted)
    with pytest.raises(KeyboardInterrupt):
        count(keys=["n"], args=[10])
    monkeypatch.undo()

    # the reply left unread is never taken for the next call's
    assert count(keys=["n"], args=[100]) == 111
