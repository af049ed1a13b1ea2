"""Chunked admission: one script call admits many commands exactly as one call each would."""

from __future__ import annotations

import fakeredis
import pytest
import redis

from schemas import CommandState
from store import keys
from store.admission import MAX_CHUNK, Admission, Prepared, chunks
from store.backlog import Backlogs
from store.command_store import Admitted, CommandStore, StoreLimits
from store.records import read_record
from tests.factories import make_envelope


def state_of(store: CommandStore, command_id: str) -> CommandState | None:
    record = read_record(store.client, command_id)
    return None if record is None else record.state


def test_the_same_key_and_content_twice_in_a_chunk_is_admitted_once(store):
    # Given one envelope twice in one chunk
    envelope = make_envelope("k")
    # When the chunk is admitted
    first, again = store.admit_many([envelope, envelope])
    # Then the second is the first command, admitted once and sent once
    assert first == Admission(first.command_id, Admitted.NEW, dispatch=True)
    assert again == Admission(first.command_id, Admitted.EXISTING, dispatch=False)
    assert store.order_ids(envelope.command.lane) == [first.command_id]
    assert store.client.zcard(keys.recent()) == 1


def test_the_same_key_with_other_content_in_a_chunk_is_a_conflict(store):
    first, other = store.admit_many([make_envelope("k"), make_envelope("k", order_id="BO-2")])
    assert (first.admitted, first.dispatch) == (Admitted.NEW, True)
    assert other == Admission(first.command_id, Admitted.CONFLICT, dispatch=False)
    assert store.order_ids(make_envelope("k", order_id="BO-2").command.lane) == []


def test_the_second_command_of_a_lane_in_a_chunk_waits_behind_the_first(store):
    refund, cancel = make_envelope("r", kind="refund"), make_envelope("c")
    first, second = store.admit_many([refund, cancel])
    assert (first.dispatch, second.dispatch) == (True, False)
    assert store.lane_ids(cancel.command.lane) == [first.command_id, second.command_id]
    assert (state_of(store, first.command_id), state_of(store, second.command_id)) == (
        CommandState.QUEUED,
        CommandState.WAITING,
    )
    assert store.claim(second.command_id) == "not_head"


def test_a_mixed_chunk_answers_each_command_in_order(store):
    # Given a command admitted before
    before = store.admit(make_envelope("seen", order_id="BO-1"))
    # When one chunk brings a new command, the same one again and another under its key
    new, existing, conflict = store.admit_many(
        [
            make_envelope("fresh", order_id="BO-2"),
            make_envelope("seen", order_id="BO-1"),
            make_envelope("seen", order_id="BO-3"),
        ]
    )
    # Then each gets what a call of its own would have given
    assert (new.admitted, new.dispatch) == (Admitted.NEW, True)
    assert existing == Admission(before.command_id, Admitted.EXISTING, dispatch=False)
    assert conflict == Admission(before.command_id, Admitted.CONFLICT, dispatch=False)
    assert state_of(store, new.command_id) is CommandState.QUEUED


def new_store() -> CommandStore:
    client = fakeredis.FakeRedis(decode_responses=True)
    return CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))


def layout(store: CommandStore, ids: list[str]) -> dict[str, object]:
    """Every key with its members or fields, command ids named by their position, no times."""

    def named(text: str) -> str:
        for position, command_id in enumerate(ids):
            text = text.replace(command_id, f"#{position}")
        return text

    client, out = store.client, {}
    for key in map(str, client.keys("*")):
        kind = str(client.type(key))
        if kind == "zset":
            value: object = sorted(named(m) for m in client.zrange(key, 0, -1))
        elif kind == "list":
            value = [named(m) for m in client.lrange(key, 0, -1)]
        elif kind == "hash":
            fields = client.hgetall(key)
            value = {f: named(v) for f, v in fields.items() if not f.endswith("_ms")}
        else:
            value = named(str(client.get(key)))
        out[named(key)] = (kind, value, client.ttl(key) > 0)
    return out


def test_a_chunk_leaves_the_store_as_one_call_per_command_would():
    # Given keys and lanes that repeat within the chunk, one key with two contents
    envelopes = [make_envelope(f"k{i % 4}", order_id=f"O-{i % 3}") for i in range(8)]
    chunked, one_by_one = new_store(), new_store()
    # When one store admits them in one call and the other one call each
    got = chunked.admit_many(envelopes)
    want = [one_by_one.admit_many([envelope])[0] for envelope in envelopes]
    # Then the answers and every key, field and member are the same
    assert [(a.admitted, a.dispatch) for a in got] == [(a.admitted, a.dispatch) for a in want]
    got_ids = list(dict.fromkeys(a.command_id for a in got))
    want_ids = list(dict.fromkeys(a.command_id for a in want))
    assert layout(chunked, got_ids) == layout(one_by_one, want_ids)


def prepared(count: int, source: str) -> list[Prepared]:
    envelopes = [make_envelope(f"k{i}", order_id=f"O-{i}") for i in range(count)]
    return [Prepared.of(e.model_copy(update={"source": source})) for e in envelopes]


def test_chunks_are_bounded_and_keep_order():
    items = prepared(2 * MAX_CHUNK + 1, "api")
    split = list(chunks(items))
    assert [len(chunk) for chunk in split] == [MAX_CHUNK, MAX_CHUNK, 1]
    assert [item for chunk in split for item in chunk] == items


def test_chunks_split_where_the_door_changes():
    live, bulk = prepared(2, "api"), prepared(1, "bulk:b1")
    split = list(chunks([*live[:1], *bulk, *live[1:]]))
    assert [[item.source for item in chunk] for chunk in split] == [["api"], ["bulk:b1"], ["api"]]


def test_a_lane_across_two_chunks_keeps_admission_order(store):
    # Given more commands than one script call takes, the first and last of one order lane
    envelopes = [make_envelope(f"k{i}", order_id=f"O-{i}") for i in range(MAX_CHUNK)]
    envelopes.append(make_envelope("last", order_id="O-0", kind="refund"))
    # When they are admitted together
    admissions = store.admit_many(envelopes)
    # Then the last waits behind the first, as if admitted alone afterwards
    assert [a.admitted for a in admissions] == [Admitted.NEW] * (MAX_CHUNK + 1)
    assert admissions[-1].dispatch is False
    # and every command is in the sorted sets the script writes in slices
    client, total = store.client, MAX_CHUNK + 1
    assert client.zcard(keys.recent()) == client.zcard(keys.index("kind", "cancel")) + 1 == total
    assert client.zcard(keys.index("state", "queued")) == client.zcard(keys.dispatch()) == total - 1
    assert store.lane_ids(envelopes[0].command.lane) == [
        admissions[0].command_id,
        admissions[-1].command_id,
    ]


def test_live_and_bulk_commands_in_one_call_each_take_their_door(store):
    live, bulk = make_envelope("a", order_id="O-1"), make_envelope("b", order_id="O-2")
    bulk = bulk.model_copy(update={"source": "bulk:b1"})
    first, second = store.admit_many([live, bulk])
    assert (first.dispatch, second.dispatch) == (True, False)
    assert store.due_messages() == [], "the bulk head waits in its account's backlog"
    Backlogs(store.client, {}).release()  # an account with no limit known: released at once
    assert store.due_messages() == [second.command_id]


def test_chunks_are_admitted_again_in_order_when_the_server_lost_the_script(store):
    # Given a server that forgot the admission script (a restart, SCRIPT FLUSH)
    store.admit(make_envelope("before", order_id="O-0"))
    store.client.script_flush()
    # When more than one chunk is admitted, the last of them in the first one's lane
    envelopes = [make_envelope(f"k{i}", order_id=f"O-{i}") for i in range(MAX_CHUNK + 1)]
    envelopes.append(make_envelope("last", order_id="O-1", kind="refund"))
    admissions = store.admit_many(envelopes)
    # Then every chunk ran once, in order
    assert [a.admitted for a in admissions] == [Admitted.NEW] * (MAX_CHUNK + 2)
    assert store.lane_ids(envelopes[1].command.lane) == [
        admissions[1].command_id,
        admissions[-1].command_id,
    ]
    assert store.client.zcard(keys.recent()) == MAX_CHUNK + 3


def test_a_failed_call_drops_the_connection_and_the_store_still_works(store):
    store.client.set(keys.sequence(), "not a number")  # INCRBY fails inside the script
    with pytest.raises(redis.exceptions.ResponseError):
        store.admit_many([make_envelope("a")])
    store.client.delete(keys.sequence())
    assert store.admit(make_envelope("b", order_id="O-2")).admitted is Admitted.NEW
