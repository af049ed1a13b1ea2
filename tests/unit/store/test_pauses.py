"""Operator pauses at the flow gate, on a real Redis: held at the claim, released in order.

A pause of an account or of its whole provider holds each command at its claim (no slot, no
worker, no attempt); a resume lets the scheduler hand the held ones out in admission order, one
slot of the account's rate apart, before anything newer.
"""

from __future__ import annotations

import itertools

import pytest
import redis

from providers.accounts import BackdAccount, ShoplazzaAccount
from providers.errors import InvalidSubmission
from schemas import CommandState
from store import keys
from store.backlog import Backlogs
from store.command_store import Claim, CommandStore, OtherAccount, Parked, StoreLimits
from store.flow import FlowControl
from store.pauses import NotPaused, Pauses, Target, check_why
from tests.factories import make_envelope

INTERVAL_MS = 500


def shop(name: str) -> ShoplazzaAccount:
    return ShoplazzaAccount(
        provider="shoplazza", base_url=f"http://{name}.invalid", access_token="t", rate_per_s=2,
        burst=4,
    )  # fmt: skip


ACCOUNTS = {
    "s1": shop("s1"),
    "s2": shop("s2"),
    "b1": BackdAccount(
        provider="backd", base_url="http://b.invalid", public_key="p", secret_key="s"
    ),
}


class Paused:
    """A store, its gates, pauses and the scheduler's release on one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.store = CommandStore(client, StoreLimits(3600, guard_ms=60_000, lease_ms=60_000))
        self.flow = FlowControl(client)
        self.pauses = Pauses(client, ACCOUNTS)
        self.backlogs = Backlogs(client, ACCOUNTS, flow=self.flow, tick_s=0.5)
        self.orders = 0
        self.account_of: dict[str, str] = {}

    def admit(self, account: str, count: int = 1, *, bulk: bool = False) -> list[str]:
        envelopes = []
        for _ in range(count):
            self.orders += 1
            provider = ACCOUNTS[account].provider
            envelope = make_envelope(
                f"k{self.orders}", provider=provider, account=account, order_id=f"O-{self.orders}"
            )
            envelopes.append(envelope.model_copy(update={"source": "bulk:b1" if bulk else "api"}))
        ids = [a.command_id for a in self.store.admit_many(envelopes)]
        self.account_of.update(dict.fromkeys(ids, account))
        return ids

    def claim(self, command_id: str) -> Claim | Parked | str:
        account = self.account_of[command_id]
        reply = self.store.claim(command_id, gate=self.flow.gate(account, ACCOUNTS[account]))
        assert not isinstance(reply, OtherAccount), reply
        return reply

    def held(self, account: str) -> list[str]:
        return [str(i) for i in self.client.zrange(keys.held(account), 0, -1)]

    def dispatched(self) -> dict[str, float]:
        return dict(self.client.zrange(keys.dispatch(), 0, -1, withscores=True))  # type: ignore[arg-type]

    def booked(self, account: str) -> int:
        return int(self.client.get(keys.rate(ACCOUNTS[account].provider, account)) or 0)


@pytest.fixture
def paused(redis_client: redis.Redis) -> Paused:
    return Paused(redis_client)


def test_a_paused_account_holds_its_commands_at_the_claim_and_others_go_on(paused):
    s1 = paused.admit("s1", 2)
    [s2] = paused.admit("s2")
    paused.pauses.pause(Target("shoplazza", "s1"), actor="ann", why="provider asked us to stop")
    for command_id in s1:
        parked = paused.claim(command_id)
        assert parked == Parked(0, "held")
        fields = paused.client.hmget(
            keys.command(command_id), "state", "waiting_for", "deliveries", "last_message"
        )
        assert fields[:3] == [CommandState.WAITING, "paused", "0"]
        assert "s1 paused by an operator" in str(fields[3])
        assert paused.client.llen(keys.attempts(command_id)) == 0, "no attempt spent"
        for key in (keys.dispatch(), keys.schedule(), keys.running()):
            assert paused.client.zscore(key, command_id) is None, key
    assert paused.held("s1") == s1
    assert paused.booked("s1") == 0, "a held command books no slot"
    assert isinstance(paused.claim(s2), Claim), "another account of the provider goes on"


def test_a_paused_provider_holds_every_account_of_it_and_no_other(paused):
    s1, s2, b1 = paused.admit("s1")[0], paused.admit("s2")[0], paused.admit("b1")[0]
    paused.pauses.pause(Target("shoplazza", None), actor="ann", why="outage at shoplazza")
    assert paused.claim(s1) == Parked(0, "held")
    assert paused.claim(s2) == Parked(0, "held")
    assert isinstance(paused.claim(b1), Claim)
    assert paused.backlogs.release() == {}, "still paused: nothing released"
    assert paused.pauses.resume(Target("shoplazza", None), actor="ann", why="back") == 2
    assert paused.backlogs.release() == {}, "the held set is released apart from the backlog"
    assert set(paused.dispatched()) == {s1, s2}


def test_resume_releases_in_admission_order_one_slot_apart_before_anything_newer(paused):
    ids = paused.admit("s1", 6)
    paused.pauses.pause(Target("shoplazza", "s1"), actor="ann", why="maintenance")
    for command_id in reversed(ids):  # claimed out of order (retries due at other times)
        assert paused.claim(command_id) == Parked(0, "held")
    assert paused.held("s1") == ids, "held by admission sequence"
    assert paused.pauses.resume(Target("shoplazza", "s1"), actor="ann", why="done") == 6
    [newer] = paused.admit("s1")
    assert paused.claim(newer) == Parked(0, "held"), "draining: newer ones queue behind"
    paused.backlogs.release()
    dispatched = paused.dispatched()
    released = sorted(dispatched, key=dispatched.__getitem__)
    assert released == ids[: len(released)], "in admission order"
    slots = [dispatched[i] for i in released]
    assert [b - a for a, b in itertools.pairwise(slots)] == [INTERVAL_MS] * (len(slots) - 1)
    assert 1 <= len(released) <= 3, "a tick and a slot's worth, not the whole set at once"
    for command_id in released:  # each goes on its slot, past the draining mark
        slot = int(dispatched[command_id])  # its message comes at its slot: time passes
        paused.client.hset(keys.command(command_id), mapping={"reserved": slot, "next_ms": 0})
        assert isinstance(paused.claim(command_id), Claim)
    order = list(released)
    while paused.held("s1"):
        paused.client.set(keys.rate("shoplazza", "s1"), 0)  # time passes: the slots come near
        before = set(paused.dispatched())
        paused.backlogs.release()
        now = paused.dispatched()
        order += sorted(set(now) - before, key=now.__getitem__)
    assert order == [*ids, newer]
    assert paused.client.hget(keys.paused(), "shoplazza:s1") is None, "drained: gated as usual"
    [later] = paused.admit("s1")
    assert isinstance(paused.claim(later), Claim | Parked)
    assert paused.claim(later) != Parked(0, "held")


def test_held_bulk_waits_in_the_backlog_until_the_live_ones_are_out(paused):
    [live] = paused.admit("s1")
    bulk = paused.admit("s1", 3, bulk=True)
    paused.pauses.pause(Target("shoplazza", "s1"), actor="ann", why="stop")
    assert paused.backlogs.release() == {}, "a paused account's backlog does not move"
    assert paused.claim(live) == Parked(0, "held")
    paused.pauses.resume(Target("shoplazza", "s1"), actor="ann", why="go")
    paused.backlogs.release()
    assert set(paused.dispatched()) == {live}, "live first; bulk after the held set is empty"
    paused.backlogs.release()
    assert set(paused.dispatched()) > {live}
    assert set(paused.dispatched()) <= {live, *bulk}


def test_a_command_running_when_the_pause_lands_finishes_normally(paused):
    [command_id] = paused.admit("s1")
    claim = paused.claim(command_id)
    assert isinstance(claim, Claim)
    paused.pauses.pause(Target("shoplazza", None), actor="ann", why="stop")
    paused.store.finish(claim, CommandState.SUCCEEDED, None)
    assert paused.client.hget(keys.command(command_id), "state") == CommandState.SUCCEEDED


def test_pause_and_resume_are_audited_with_actor_target_and_reason(paused):
    target = Target("shoplazza", "s2")
    paused.pauses.pause(target, actor="ann", why="429 storm")
    [entry] = paused.pauses.all()
    assert (entry.target, entry.state, entry.actor, entry.why) == (
        target,
        "paused",
        "ann",
        "429 storm",
    )
    paused.pauses.resume(target, actor="bob", why="calm again")
    assert paused.pauses.all() == [], "nothing held: no draining left behind"
    audit = [fields for _, fields in paused.client.xrange(keys.audit())]
    assert [(a["action"], a["target"], a["actor"], a["why"]) for a in audit] == [
        ("pause", "shoplazza:s2", "ann", "429 storm"),
        ("resume", "shoplazza:s2", "bob", "calm again"),
    ]


def test_a_resume_of_what_is_not_paused_is_refused_and_not_audited(paused):
    with pytest.raises(NotPaused, match="shoplazza:s1 is not paused"):
        paused.pauses.resume(Target("shoplazza", "s1"), actor="ann", why="x")
    assert paused.client.xlen(keys.audit()) == 0


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("acme", "provider", "'acme' is not a provider"),
        ("shoplazza:nope", "account", "'nope' is not a shoplazza account (s1, s2)"),
        ("backd:s1", "account", "'s1' is not a backd account (b1)"),
        ("shoplazza:", "account", "empty"),
        ("fastpod:f1", "account", "none configured"),
    ],
)
def test_a_bad_target_is_refused_naming_the_field(paused, text, field, words):
    with pytest.raises(InvalidSubmission) as caught:
        paused.pauses.target(text)
    [(named, problem)] = caught.value.problems
    assert named == field
    assert words in problem


@pytest.mark.parametrize("why", [None, "", "   ", "x" * 501])
def test_a_missing_or_overlong_reason_is_refused_naming_why(why):
    with pytest.raises(InvalidSubmission) as caught:
        check_why(why)
    assert caught.value.problems[0][0] == "why"


def test_a_provider_resume_leaves_an_accounts_own_pause_and_vice_versa(paused):
    s1, s2 = paused.admit("s1")[0], paused.admit("s2")[0]
    whole, own = Target("shoplazza", None), Target("shoplazza", "s1")
    paused.pauses.pause(whole, actor="ann", why="outage")
    paused.pauses.pause(own, actor="bob", why="its own trouble")
    assert paused.claim(s1) == paused.claim(s2) == Parked(0, "held")
    paused.pauses.resume(own, actor="bob", why="fixed")
    paused.backlogs.release()
    assert paused.dispatched() == {}, "the provider's pause still holds both"
    paused.pauses.pause(own, actor="bob", why="again")
    paused.pauses.resume(whole, actor="ann", why="outage over")
    states = {p.target.field: p.state for p in paused.pauses.all()}
    assert states == {"shoplazza:s1": "paused", "shoplazza:s2": "draining"}
    paused.backlogs.release()
    assert set(paused.dispatched()) == {s2}, "s1 keeps its own pause"
    assert [p.target.field for p in paused.pauses.all()] == ["shoplazza:s1"], "s2 drained"


def test_a_duplicate_message_of_a_held_command_holds_it_once(paused):
    first, second = paused.admit("s1", 2)
    paused.pauses.pause(Target("shoplazza", "s1"), actor="ann", why="stop")
    for command_id in (first, first, second):
        assert paused.claim(command_id) == Parked(0, "held")
    assert paused.held("s1") == [first, second]
    paused.pauses.resume(Target("shoplazza", "s1"), actor="ann", why="go")
    paused.backlogs.release()
    assert list(paused.dispatched()) == [first, second][: len(paused.dispatched())]
