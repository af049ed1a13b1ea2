"""Priority classes at the flow gate, on a real Redis: live first, bulk in a per-account backlog.

Live commands book any slot of their account; bulk ones book at most one slot past the burst
and otherwise wait in the backlog, holding nothing, until ``release.lua`` hands them out with a
slot the account can serve soon.
"""

from __future__ import annotations

import itertools

import redis

from providers.accounts import ShoplazzaAccount
from schemas import CommandEnvelope, CommandState, DeadReason
from store import keys
from store.backlog import Backlogs
from store.command_store import Claim, CommandStore, OtherAccount, Parked, StoreLimits
from store.deadletters import DeadLetters
from store.flow import FlowControl
from store.replay_edit import edit_and_replay
from tests.factories import make_envelope

INTERVAL_MS = 500
ACCOUNT = ShoplazzaAccount(
    provider="shoplazza", base_url="http://x.invalid", access_token="t", rate_per_s=2, burst=2
)
ACCOUNTS = {"store": ACCOUNT}
TICK_S = 0.5  # the scheduler's: a release books what the account can serve within a tick + a slot


class Gated:
    """A store, the account's gate and its backlog on one Redis client."""

    def __init__(self, client: redis.Redis, *, share_pct: float = 10.0) -> None:
        self.client = client
        self.store = CommandStore(client, StoreLimits(3600, guard_ms=60_000, lease_ms=60_000))
        self.flow = FlowControl(client)
        self.backlogs = Backlogs(
            client, ACCOUNTS, flow=self.flow, tick_s=TICK_S, share_pct=share_pct
        )
        self.orders = 0

    def envelope(self, *, bulk: bool, order_id: str | None = None) -> CommandEnvelope:
        self.orders += 1
        order = order_id or f"O-{self.orders}"
        envelope = make_envelope(
            f"k{self.orders}", provider="shoplazza", account="store", order_id=order
        )
        return envelope.model_copy(update={"source": "bulk:b1" if bulk else "api"})

    def admit(self, count: int, *, bulk: bool) -> list[str]:
        envelopes = [self.envelope(bulk=bulk) for _ in range(count)]
        return [a.command_id for a in self.store.admit_many(envelopes)]

    def claim(self, command_id: str) -> Claim | Parked | str:
        reply = self.store.claim(command_id, gate=self.flow.gate("store", ACCOUNT))
        assert not isinstance(reply, OtherAccount), reply
        return reply

    def booked_ms(self) -> int:
        """How far ahead of now the account's slots are booked (its theoretical arrival time)."""
        tat = self.client.get(keys.rate("shoplazza", "store"))
        seconds, micros = self.client.time()
        return int(tat or 0) - (int(seconds) * 1000 + int(micros) // 1000)

    def backlog(self) -> list[str]:
        return [str(i) for i in self.client.zrange(keys.backlog("store"), 0, -1)]

    def dispatched(self) -> dict[str, float]:
        return dict(self.client.zrange(keys.dispatch(), 0, -1, withscores=True))  # type: ignore[arg-type]


def test_a_bulk_batch_waits_in_the_backlog_and_goes_out_a_few_slots_at_a_time(redis_client):
    gated = Gated(redis_client)
    ids = gated.admit(200, bulk=True)
    assert gated.backlog() == ids, "admitted to the backlog, in order, with no message"
    assert gated.dispatched() == {}
    assert gated.backlogs.release() == {"store": 4}, "burst 2 now, then slots up to a tick + 1"
    dispatched = gated.dispatched()
    assert set(dispatched) == set(ids[:4])
    assert gated.backlog() == ids[4:]
    # due at its booked slot: two of the burst now, then one slot apart
    slots = sorted(int(redis_client.hget(keys.command(i), "reserved") or 0) for i in ids[:4])
    assert sorted(dispatched.values()) == slots
    assert [b - a for a, b in itertools.pairwise(slots)] == [0, 500, 500]
    assert gated.backlogs.release() == {}, "nothing more until the account's slots come near"
    # each released command goes on its booked slot, without booking another
    booked = gated.booked_ms()
    assert all(isinstance(gated.claim(i), Claim) for i in ids[:4])
    assert abs(gated.booked_ms() - booked) <= 50


def test_a_live_command_waits_at_most_a_slot_or_two_behind_a_big_bulk_batch(redis_client):
    gated = Gated(redis_client)
    bulk = gated.admit(1000, bulk=True)
    gated.backlogs.release()
    for command_id in list(gated.dispatched()):
        assert isinstance(gated.claim(command_id), Claim | Parked)
    [live] = gated.admit(1, bulk=False)
    parked = gated.claim(live)
    assert isinstance(parked, Parked)
    assert parked.why == "rate"
    # bulk booked at most a tick and a slot past the burst: the live one goes right after
    assert parked.wait_s <= TICK_S + 2 * INTERVAL_MS / 1000
    assert len(gated.backlog()) >= len(bulk) - 5


def test_a_bulk_command_that_would_wait_past_one_slot_goes_to_the_backlog_holding_none(
    redis_client,
):
    gated = Gated(redis_client)
    [live] = gated.admit(1, bulk=False)
    redis_client.set(keys.rate("shoplazza", "store"), int(redis_client.time()[0]) * 1000 + 60_000)
    [command_id] = gated.admit(1, bulk=True)
    gated.backlogs.release()  # the share releases one while live traffic books everything
    assert gated.backlog() == []
    assert set(gated.dispatched()) == {live, command_id}
    redis_client.zrem(keys.dispatch(), command_id)
    redis_client.hdel(keys.command(command_id), "reserved")  # a message sent without a slot
    booked = gated.booked_ms()
    parked = gated.claim(command_id)
    assert isinstance(parked, Parked)
    assert parked.why == "backlog"
    assert abs(gated.booked_ms() - booked) <= 50, "it booked no slot"
    assert gated.backlog() == [command_id]
    fields = redis_client.hmget(
        keys.command(command_id), "state", "waiting_for", "token", "deliveries"
    )
    assert fields == ["waiting", "backlog", None, "0"]
    for key in (keys.dispatch(), keys.schedule(), keys.running()):
        assert redis_client.zscore(key, command_id) is None, key


def test_a_live_command_books_a_slot_far_ahead_and_bulk_does_not(redis_client):
    gated = Gated(redis_client, share_pct=0)
    redis_client.set(keys.rate("shoplazza", "store"), int(redis_client.time()[0]) * 1000 + 5_000)
    [live] = gated.admit(1, bulk=False)
    gated.admit(3, bulk=True)
    parked = gated.claim(live)
    assert isinstance(parked, Parked)
    assert parked.why == "rate"
    assert parked.wait_s > 3
    assert gated.backlogs.release() == {}, "no share: bulk waits until the account has room"


def test_bulk_is_owed_its_share_while_live_traffic_books_every_slot(redis_client):
    gated = Gated(redis_client, share_pct=10)
    ids = gated.admit(5, bulk=True)
    redis_client.set(keys.rate("shoplazza", "store"), int(redis_client.time()[0]) * 1000 + 60_000)
    assert gated.backlogs.release() == {"store": 1}, "owed one slot: it books behind live"
    assert gated.backlogs.release() == {}, "the next one is owed a share interval (5 s) later"
    assert gated.backlog() == ids[1:]


def test_a_stale_slot_is_not_used_the_command_asks_the_limiter_again(redis_client):
    gated = Gated(redis_client)
    [command_id] = gated.admit(1, bulk=False)
    redis_client.hset(keys.command(command_id), "reserved", 1_000)  # a slot long gone
    before = gated.booked_ms()
    assert isinstance(gated.claim(command_id), Claim)
    assert gated.booked_ms() > before, "it booked a fresh slot"


def test_discarding_a_backlogged_bulk_command_takes_it_out_of_the_backlog(redis_client):
    gated = Gated(redis_client)
    first, second = gated.admit(2, bulk=True)
    assert gated.store.discard_pending(first, actor="t", why="batch cancelled")
    assert gated.backlog() == [second]
    assert redis_client.hget(keys.command(first), "state") == CommandState.DISCARDED


def test_a_bulk_runs_replay_is_bulk_and_an_operators_replay_of_a_bulk_command_is_live(
    redis_client,
):
    gated = Gated(redis_client, share_pct=0)
    letters = DeadLetters(gated.store)
    [live_id] = gated.admit(1, bulk=False)
    [bulk_id] = gated.admit(1, bulk=True)
    for command_id in (live_id, bulk_id):
        redis_client.zadd(keys.dispatch(), {command_id: 0})
        claim = gated.store.claim(command_id, early_ms=10**9)
        assert isinstance(claim, Claim)
        gated.store.finish(claim, CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)
    letters.replay(live_id, actor="t", why="run", bulk=True)
    letters.replay(bulk_id, actor="t", why="one")
    redis_client.set(keys.rate("shoplazza", "store"), int(redis_client.time()[0]) * 1000 + 60_000)
    ran, single = gated.claim(live_id), gated.claim(bulk_id)
    assert isinstance(ran, Parked)
    assert ran.why == "backlog"
    assert isinstance(single, Parked)
    assert single.why == "rate"


def test_an_operators_edited_replay_of_a_bulk_command_is_live(redis_client):
    gated = Gated(redis_client, share_pct=0)
    [bulk_id] = gated.admit(1, bulk=True)
    redis_client.zadd(keys.dispatch(), {bulk_id: 0})
    claim = gated.store.claim(bulk_id, early_ms=10**9)
    assert isinstance(claim, Claim)
    gated.store.finish(claim, CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)
    edited = claim.envelope.command.model_copy(update={"reason": "edited"})
    edit_and_replay(gated.store, bulk_id, edited, actor="t", why="fix")
    redis_client.set(keys.rate("shoplazza", "store"), int(redis_client.time()[0]) * 1000 + 60_000)
    parked = gated.claim(bulk_id)
    assert isinstance(parked, Parked)
    assert parked.why == "rate", "live: it books its slot, it does not wait in the backlog"


def test_an_account_with_no_gate_known_is_released_at_once(redis_client):
    gated = Gated(redis_client)
    envelope = gated.envelope(bulk=True)
    unknown = envelope.model_copy(update={"command": envelope.command.model_copy(
        update={"account": "gone"})})  # fmt: skip
    [admission] = gated.store.admit_many([unknown])
    assert gated.backlogs.release() == {"gone": 1}
    assert list(gated.dispatched()) == [admission.command_id]
    assert redis_client.smembers(keys.backlogs()) == {"gone"}
    gated.backlogs.release()
    assert redis_client.smembers(keys.backlogs()) == set(), "an empty backlog leaves the list"
