"""The search indexes stay equal to a recount from the records through every transition.

A Hypothesis state machine drives the store on fakeredis (admit, claim, retry, finish, replay,
edit-and-replay, discard, discard before start, dead-letter trim, records running out of
retention) in random order; after every step the ``{ordercmd}:ix:*`` sorted sets must be
exactly what the command records say (one entry per record in its state, provider, account and
kind index, scored by its admission time).
"""

from __future__ import annotations

import json
import time
from contextlib import suppress

import fakeredis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim, CommandStore, LeaseLost, Spend, StoreLimits
from store.deadletters import DeadLetters, NotADeadLetter
from store.replay_edit import edit_and_replay
from tests.factories import make_command, make_envelope

LANES = [("backd", "acme", "O-1"), ("backd", "acme", "O-2"), ("shoplazza", "store", "O-1")]
ENVELOPE_FIELDS = ("provider", "account", "kind")
ENDS = [CommandState.SUCCEEDED, CommandState.ALREADY_DONE, CommandState.DEAD]


def recount(client: fakeredis.FakeRedis) -> dict[str, dict[str, float]]:
    """The indexes as the records say they should be."""
    expected: dict[str, dict[str, float]] = {}
    for key in client.scan_iter(keys.command("*")):
        if key.endswith(":attempts"):
            continue
        record = client.hgetall(key)
        command = json.loads(record["envelope"])["command"]
        fields = {"state": record["state"]} | {
            f: command[f] for f in ("provider", "account", "kind")
        }
        if record["state"] == "waiting":  # and what for: its own index
            fields["waiting_for"] = record.get("waiting_for") or "lane"
        for field, value in fields.items():
            expected.setdefault(keys.index(field, value), {})[record["id"]] = float(
                record["created_ms"]
            )
    return expected


def indexes(client: fakeredis.FakeRedis) -> dict[str, dict[str, float]]:
    """The indexes as they are."""
    return {
        key: dict(client.zrange(key, 0, -1, withscores=True))
        for key in client.scan_iter(keys.index_prefix() + "*")
    }


def run_out_of_retention(store: CommandStore) -> None:
    """What the passing of the retention does: expired records vanish, then trim runs."""
    client = store.client
    for entry in client.zrange(keys.unindex_queue(), 0, -1):
        command_id = entry.split(" ", 1)[0]
        client.delete(keys.command(command_id), keys.attempts(command_id))
        client.zadd(keys.unindex_queue(), {entry: 0})
    DeadLetters(store).trim(max_age_s=10**6, max_count=10**6)


class IndexUpkeep(RuleBasedStateMachine):
    """Random store operations; the indexes must match a recount after each."""

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.client = fakeredis.FakeRedis(decode_responses=True)
        limits = StoreLimits(retention_s=3600, guard_ms=0, lease_ms=60_000)
        self.store = CommandStore(self.client, limits)
        self.dead_letters = DeadLetters(self.store)
        self.claims: dict[str, Claim] = {}
        self.admitted = 0

    @rule(target=ids, lane=st.sampled_from(LANES), kind=st.sampled_from(["cancel", "refund"]))
    def admit(self, lane: tuple[str, str, str], kind: str) -> str:
        provider, account, order_id = lane
        self.admitted += 1
        envelope = make_envelope(f"k{self.admitted}", provider=provider, account=account,
                                 order_id=order_id, kind=kind)  # fmt: skip
        return self.store.admit(envelope).command_id

    @rule(command_id=ids)
    def claim(self, command_id: str) -> None:
        claim = self.store.claim(command_id, early_ms=10**9)
        if isinstance(claim, Claim):
            self.claims[command_id] = claim

    @rule(command_id=ids)
    def retry(self, command_id: str) -> None:
        if claim := self.claims.pop(command_id, None):
            with suppress(LeaseLost):
                self.store.retry(claim, None, delay_s=0, spend=Spend.NOTHING, reconcile_first=False)

    @rule(command_id=ids, state=st.sampled_from(ENDS), reason=st.sampled_from(list(DeadReason)))
    def finish(self, command_id: str, state: CommandState, reason: DeadReason) -> None:
        if claim := self.claims.pop(command_id, None):
            dead_reason = reason if state is CommandState.DEAD else None
            with suppress(LeaseLost):
                self.store.finish(claim, state, None, reason=dead_reason)

    @rule(command_id=ids, edit=st.booleans())
    def replay(self, command_id: str, edit: bool) -> None:
        try:
            if edit:
                record = self.dead_letters.get(command_id)
                edited = {**record.envelope.command.model_dump(), "reason": "edited"}
                command = make_command(**edited)
                edit_and_replay(self.store, command_id, command, actor="t", why="edit")
            else:
                self.dead_letters.replay(command_id, actor="t", why="again")
        except NotADeadLetter:
            pass

    @rule(command_id=ids)
    def discard(self, command_id: str) -> None:
        try:
            self.dead_letters.discard(command_id, actor="t", why="gone")
        except NotADeadLetter:
            self.store.discard_pending(command_id, actor="t", why="gone")

    @rule(max_count=st.integers(0, 3))
    def trim_dead_letters(self, max_count: int) -> None:
        self.dead_letters.trim(max_age_s=10**6, max_count=max_count)

    @rule()
    def retention_runs_out(self) -> None:
        run_out_of_retention(self.store)

    @invariant()
    def indexes_equal_a_recount(self) -> None:
        assert indexes(self.client) == recount(self.client)


IndexUpkeep.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestIndexUpkeep = IndexUpkeep.TestCase


def test_a_finished_command_leaves_the_indexes_when_its_record_expires():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=60_000))
    command_id = store.admit(make_envelope("a", kind="refund")).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None)
    [(entry, due_ms)] = client.zrange(keys.unindex_queue(), 0, -1, withscores=True)
    assert entry == f"{command_id} succeeded backd acme refund"
    expires_ms = time.time() * 1000 + client.pttl(keys.command(command_id))
    assert abs(due_ms - expires_ms) < 1000, "due when the record's retention runs out"
    DeadLetters(store).trim(max_age_s=10**6, max_count=10**6)
    assert client.zscore(keys.index("kind", "refund"), command_id) is not None, "not due yet"
    run_out_of_retention(store)
    assert indexes(client) == {}
    assert client.zcard(keys.unindex_queue()) == 0


def test_one_trim_clears_an_unindex_backlog_larger_than_a_script_call():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=60_000))
    for n in range(25):  # 25 finished records, due for unindexing; 10 entries per call below
        claim = store.claim(store.admit(make_envelope(f"k{n}")).command_id)
        assert isinstance(claim, Claim)
        store.finish(claim, CommandState.SUCCEEDED, None)
    for entry in client.zrange(keys.unindex_queue(), 0, -1):
        client.delete(keys.command(entry.split(" ", 1)[0]))
        client.zadd(keys.unindex_queue(), {entry: 0})
    DeadLetters(store).trim(max_age_s=10**6, max_count=10**6, batch=1)
    assert indexes(client) == {}
    assert client.zcard(keys.unindex_queue()) == 0
