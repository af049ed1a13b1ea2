"""Redis Cluster readiness: every key a store script touches must live in one hash slot.

DESIGN.md ("Scaling past one machine"): keys that one Lua script touches share a hash tag, so the
store can move to Redis Cluster. In a cluster a script may only touch keys it declares in KEYS,
and all of them must hash to one slot. Each script of ``store.scripts.Scripts`` is driven here
through the store's own methods on fakeredis, with a recorder around the script that keeps the
KEYS it was called with and diffs the keyspace around the call, to catch keys the script
builds from ARGV prefixes (``release_lane`` in ``prelude.lua``, ``count_outcome``, ``trim.lua``).
Those keys are only known at run time (the next command of a lane, the hour's counters), so they
cannot all be declared; they carry the same ``{ordercmd}`` tag, which puts them in the slot of
the declared keys — what a Cluster node needs to run the script.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fakeredis
import pytest

from config.settings import Settings
from schemas import CommandState, DeadReason
from store import keys
from store.backlog import Backlogs
from store.command_store import Claim, CommandStore, Parked, Spend, StoreLimits
from store.deadletters import DeadLetters
from store.flow import FlowControl
from store.pauses import Pauses, Target
from store.scripts import Scripts
from store.search import Search, SearchFilter
from tests.factories import make_envelope

SLOTS = 16384


def crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the Cluster spec defines."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def hash_slot(key: str) -> int:
    """The key's slot: only the hash tag is hashed when the key has a non-empty ``{...}``.

    The tag is what lies between the first ``{`` and the first ``}`` after it; when there is no
    such ``}``, or nothing lies between them, the whole key is hashed.
    """
    raw = key.encode()
    start = raw.find(b"{")
    if start != -1:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1 : end]
    return crc16(raw) % SLOTS


@pytest.mark.parametrize(
    ("key", "same_as"),
    [
        ("{user1000}.following", "user1000"),
        ("{user1000}.followers", "user1000"),
        ("foo{}{bar}", "foo{}{bar}"),  # the first {} is empty: the whole key is hashed
        ("foo{{bar}}zap", "{bar"),  # the tag is what lies between the first { and the next }
        ("foo{bar}{zap}", "bar"),  # only the first tag counts
        ("no-tag}{", "no-tag}{"),
    ],
)
def test_hash_tags_follow_the_cluster_spec(key, same_as):
    assert hash_slot(key) == crc16(same_as.encode()) % SLOTS


def test_crc16_matches_the_cluster_spec_check_value():
    assert crc16(b"123456789") == 0x31C3  # the spec's test vector
    assert (hash_slot("foo"), hash_slot("bar")) == (12182, 5061)  # CLUSTER KEYSLOT foo / bar


# --- recording what each script touches ----------------------------------------------------


@dataclass
class Call:
    """One script call: the KEYS it declared and the keys its run changed."""

    script: str
    declared: list[str]
    before: dict[str, Any]
    written: set[str] | None = None  # None until the call ran (pipelined calls run later)

    def settle(self, after: dict[str, Any]) -> None:
        before = self.before
        self.written = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def snapshot(client: fakeredis.FakeRedis) -> dict[str, Any]:
    """Every key with its type, content and whether it has a TTL."""
    readers: dict[str, Callable[[str], Any]] = {
        "string": client.get,
        "hash": client.hgetall,
        "list": lambda k: client.lrange(k, 0, -1),
        "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
        "set": client.smembers,
        "stream": lambda k: client.xrange(k),
    }
    out = {}
    for key in map(str, client.keys("*")):
        kind = str(client.type(key))
        out[key] = (kind, readers[kind](key), client.ttl(key) > 0)
    return out


class Recorder:
    """Stands in for one registered script: records its KEYS and what its run changed."""

    def __init__(self, name: str, script: Any, client: fakeredis.FakeRedis, calls: list[Call]):
        self.name, self.script, self.client, self.calls = name, script, client, calls

    def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> Any:
        call = Call(self.name, list(keys), snapshot(self.client))
        self.calls.append(call)
        reply = self.script(keys=keys, args=args, client=client)
        if client is None:  # run now; a pipelined call runs at execute(): see ``settle``
            call.settle(snapshot(self.client))
        return reply


def settle(calls: list[Call], client: fakeredis.FakeRedis) -> None:
    """Finish the diff of pipelined calls once their pipeline ran (one call per pipeline)."""
    for call in calls:
        if call.written is None:
            call.settle(snapshot(client))


def record(scripts: Scripts, client: fakeredis.FakeRedis, calls: list[Call]) -> None:
    """Wrap every script of ``scripts`` (an instance: nothing global is patched)."""
    for name, script in list(vars(scripts).items()):
        setattr(scripts, name, Recorder(name, script, client, calls))


ACCOUNT = {"provider": "shoplazza", "base_url": "http://s.invalid", "access_token": "t"}


@pytest.fixture(scope="module")
def driven() -> list[Call]:
    """Drive every script through the store, the dead-letter queue and flow control."""
    client = fakeredis.FakeRedis(decode_responses=True)
    calls: list[Call] = []
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))
    record(store.scripts, client, calls)
    flow = FlowControl(client)
    record(flow.scripts, client, calls)
    ids = []
    for key in "abcd":  # four commands of one order lane: a heads it, b, c and d wait
        ids.append(store.admit(make_envelope(key)).command_id)
        settle(calls, client)  # admit runs in a pipeline of its own
    a, b, c, d = ids
    store.due_messages()  # promote
    claim = take(store, a)
    store.extend_lease(claim)
    store.retry(claim, None, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=False)
    store.finish(take(store, a), CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)  # b next
    store.discard_pending(b, actor="t", why="test")  # the head goes: c is queued
    dead_letters = DeadLetters(store)
    dead_letters.replay(a, actor="t", why="test")  # a waits at the lane's tail
    store.finish(take(store, c), CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)
    dead_letters.discard(c, actor="t", why="test")
    store.finish(take(store, d), CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)
    dead_letters.trim(max_age_s=0, max_count=0)  # d's record and indexes go
    gate = flow.gate("store", Settings(accounts={"store": ACCOUNT}).account("store"))
    claimed, parked = (store_command(store, calls, client, order) for order in ("e", "f"))
    assert isinstance(store.claim(claimed, gate=gate), Claim)  # the claim takes a rate slot
    flow.record("shoplazza", "store", ok=False)  # breaker
    flow.pause("shoplazza", "store", 1)
    assert isinstance(store.claim(parked, gate=gate), Parked)  # parked by the 429 pause
    store.admit_many([make_envelope(key, order_id=key) for key in "gh"])  # one call, two commands
    settle(calls, client)
    bulk = make_envelope("i", provider="shoplazza", account="store", order_id="i")
    store.admit_many([bulk.model_copy(update={"source": "bulk:b1"})])  # to the store's backlog
    settle(calls, client)
    backlogs = Backlogs(client, Settings(accounts={"store": ACCOUNT}).accounts, flow=flow)
    record(backlogs.scripts, client, calls)
    client.delete(keys.rate_pause("shoplazza", "store"))
    assert backlogs.release() == {"store": 1}
    drive_pauses(store, calls, client, gate, backlogs)
    return calls


def drive_pauses(
    store: CommandStore, calls: list[Call], client: Any, gate: Any, backlogs: Backlogs
) -> None:
    """An operator pauses the account, a claim holds its command, a resume releases it."""
    pauses = Pauses(client, Settings(accounts={"store": ACCOUNT}).accounts)
    record(pauses.scripts, client, calls)
    held = store_command(store, calls, client, "j")
    pauses.pause(Target("shoplazza", "store"), actor="t", why="test")
    assert store.claim(held, gate=gate) == Parked(0, "held")
    pauses.resume(Target("shoplazza", "store"), actor="t", why="test")
    backlogs.release()  # release_held hands it out


def store_command(store: CommandStore, calls: list[Call], client: Any, order: str) -> str:
    """A command of the Shoplazza account "store" heading its own lane."""
    envelope = make_envelope(order, provider="shoplazza", account="store", order_id=order)
    command_id = store.admit(envelope).command_id
    settle(calls, client)
    return command_id


def take(store: CommandStore, command_id: str) -> Claim:
    claim = store.claim(command_id, early_ms=10**9)
    assert isinstance(claim, Claim), claim
    return claim


def script_names() -> list[str]:
    return sorted(vars(Scripts(fakeredis.FakeRedis())))


def test_every_script_was_driven(driven):
    assert {c.script for c in driven} == set(vars(Scripts(fakeredis.FakeRedis())))


@pytest.mark.parametrize("script", script_names())
def test_a_script_touches_keys_of_one_slot(script, driven):
    calls = [c for c in driven if c.script == script]
    assert calls, f"{script} was not called"
    problems = []
    for call in calls:
        touched = set(call.declared) | (call.written or set())
        slots = {key: hash_slot(key) for key in touched}
        if len(set(slots.values())) > 1:
            problems.append(f"keys in {len(set(slots.values()))} slots: {slots}")
    assert not problems, f"{script}: " + "; ".join(problems)


def test_every_key_carries_the_ordercmd_tag(driven):
    touched = {k for c in driven for k in [*c.declared, *(c.written or set())]}
    assert touched
    assert {hash_slot(k) for k in touched} == {crc16(b"ordercmd") % SLOTS}, sorted(touched)


def test_search_scans_touch_keys_of_one_slot():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))
    first = store.admit(make_envelope("a", order_id="O-1")).command_id
    store.admit(make_envelope("b", order_id="O-2", kind="refund"))
    store.finish(take(store, first), CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)
    search = Search(client, {"acme": "backd"})
    calls: list[Call] = []
    search._scan = Recorder("search_scan", search._scan, client, calls)
    combined = SearchFilter(provider="backd", kind="refund", state="queued")
    dead_since = SearchFilter(reason="not_found", account="acme", since_ms=0)
    for where in (combined, dead_since, SearchFilter()):
        search.page(where)
    assert len(calls) == 3
    touched = {k for c in calls for k in [*c.declared, *(c.written or set())]}
    assert {hash_slot(k) for k in touched} == {crc16(b"ordercmd") % SLOTS}, sorted(touched)
