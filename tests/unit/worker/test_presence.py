"""A worker's card: what its scheduler writes, and how often."""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.concurrency.thread import TaskPool as ThreadPool

from store import keys
from store.workers import WorkerCard
from worker.presence import Presence, pool_pids


class Pool:
    def __init__(self, processes: list[int]) -> None:
        self.info = {"max-concurrency": len(processes), "processes": processes}


def controller(pool_cls=PreforkPool, pool=None, concurrency=3):
    amqp = SimpleNamespace(queues=SimpleNamespace(consume_from={"ordercmd": 1, "ordercmd.bulk": 2}))
    return SimpleNamespace(hostname="ordercmd@box", pool_cls=pool_cls, concurrency=concurrency,
                           app=SimpleNamespace(amqp=amqp), pool=pool)  # fmt: skip


def test_the_card_names_the_pool_its_processes_and_queues(store):
    presence = Presence(store.client, controller(pool=Pool([11, 12, 13])))
    presence.beat()
    card = WorkerCard.from_fields(store.client.hgetall(keys.worker_card("ordercmd@box")))
    assert (card.pool, card.concurrency, card.pids) == ("prefork", 3, [11, 12, 13])
    assert (card.host, card.pid) == (socket.gethostname(), os.getpid())
    assert card.queues == ["ordercmd", "ordercmd.bulk"]
    assert card.started_ms == presence.started_ms


def test_a_threads_pool_before_it_starts_has_no_processes(store):
    presence = Presence(store.client, controller(pool_cls=ThreadPool, concurrency=8))
    assert (presence.card().pool, presence.card().pids) == ("threads", [])
    assert pool_pids(SimpleNamespace(pool=SimpleNamespace())) == []  # no info yet


def test_the_card_is_written_at_most_every_interval(store):
    presence = Presence(store.client, controller(pool=Pool([1])), every_s=3600)
    presence.beat()
    store.client.delete(keys.worker_card("ordercmd@box"))
    presence.beat()  # every tick calls it: written again only when due
    assert not store.client.exists(keys.worker_card("ordercmd@box"))
    Presence(store.client, controller(pool=Pool([1])), every_s=0).beat()
    assert store.client.exists(keys.worker_card("ordercmd@box"))


def test_a_prefork_card_without_processes_is_written_again_at_the_next_tick(store):
    worker = controller(pool=None)  # the pool is not up yet
    presence = Presence(store.client, worker, every_s=3600)
    presence.beat()
    assert store.client.hget(keys.worker_card("ordercmd@box"), "pids") == ""
    worker.pool = Pool([21, 22])
    presence.beat()
    assert store.client.hget(keys.worker_card("ordercmd@box"), "pids") == "21 22"
