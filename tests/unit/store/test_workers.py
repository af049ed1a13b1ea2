"""Workers as the store knows them: cards with a TTL, last ticks, and who runs which command."""

from __future__ import annotations

from store import keys
from store.command_store import Claim
from store.workers import CARD_TTL_S, MAX_PIDS, WorkerCard, read_workers, write_card
from tests.factories import make_envelope

NOW_MS = 1_800_000_000_000


def card(name: str = "ordercmd@h1", **overrides) -> WorkerCard:
    fields = {"name": name, "host": "h1", "pid": 100, "pool": "prefork", "concurrency": 4,
              "queues": ["ordercmd", "ordercmd.bulk"], "started_ms": NOW_MS - 60_000,
              "pids": [101, 102]} | overrides  # fmt: skip
    return WorkerCard(**fields)


def running(store, key: str, holder: str) -> str:
    command_id = store.admit(make_envelope(key, order_id=f"o-{key}")).command_id
    assert isinstance(store.claim(command_id), Claim)
    store.client.hset(keys.command(command_id), "worker", holder)
    return command_id


def test_a_card_round_trips_and_expires(store):
    write_card(store.client, card())
    ttl_s = store.client.ttl(keys.worker_card("ordercmd@h1"))
    assert 0 < ttl_s <= CARD_TTL_S
    fields = store.client.hgetall(keys.worker_card("ordercmd@h1"))
    assert WorkerCard.from_fields(fields) == card()


def test_a_card_is_bounded(store):
    write_card(store.client, card(host="h" * 5000, pids=list(range(10_000))))
    fields = store.client.hgetall(keys.worker_card("ordercmd@h1"))
    back = WorkerCard.from_fields(fields)
    assert len(back.host) == 200
    assert len(back.pids) == MAX_PIDS


def test_a_claim_belongs_to_the_card_naming_its_process():
    assert card().holds("h1:100")
    assert card().holds("h1:102")
    assert not card().holds("h2:101")  # same pid, other host
    assert not card().holds("h1:103")
    assert not card().holds("garbage")


def test_live_workers_with_what_they_run_and_gone_ones_by_last_tick(store):
    client = store.client
    write_card(client, card())
    write_card(client, card("ordercmd@h2", host="h2", pid=200, pool="threads", pids=[]))
    client.zadd(keys.workers_seen(), {"ordercmd@h1": NOW_MS - 1_000, "ordercmd@h2": NOW_MS - 500,
                                      "ordercmd@old": NOW_MS - 3_600_000})  # fmt: skip
    on_h1 = running(store, "a", "h1:102")
    on_h2 = running(store, "b", "h2:200")
    orphan = running(store, "c", "h9:1")  # a worker that died with its lease running
    workers, unattributed = read_workers(client, NOW_MS)
    assert [w.name for w in workers] == ["ordercmd@h2", "ordercmd@h1", "ordercmd@old"]
    h2, h1, old = workers
    assert (h1.alive, h1.card.pool, h1.card.concurrency) == (True, "prefork", 4)
    assert [r.id for r in h1.running] == [on_h1]
    assert h1.running[0].kind == "cancel"
    assert h1.running[0].lane.endswith(":o-a")
    assert [r.id for r in h2.running] == [on_h2]
    assert h2.card.pool == "threads"
    assert (old.alive, old.card, old.running, old.seen_ms) == (False, None, [], NOW_MS - 3_600_000)
    assert [(r.id, r.holder) for r in unattributed] == [(orphan, "h9:1")]
    assert h1.to_json()["card"]["pids"] == [101, 102]
