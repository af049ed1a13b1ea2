"""Flow control on fakeredis as the claim applies it: rate limit, 429 pauses, the breaker.

GCRA with reservations, and a command that must wait is parked without spending an attempt.
"""

from __future__ import annotations

import fakeredis
import pytest

from providers.accounts import BackdAccount, ShoplazzaAccount
from schemas import CommandState, WaitingFor
from store import keys
from store.clock import from_ms
from store.command_store import Claim, OtherAccount, Parked
from store.flow import BreakerPolicy, FlowControl
from store.records import read_record
from tests.gated import GatedCalls

ACCOUNT = ShoplazzaAccount(
    provider="shoplazza", base_url="http://x.invalid", access_token="t", rate_per_s=2, burst=2
)


@pytest.fixture
def flow() -> FlowControl:
    policy = BreakerPolicy(failures=3, window_s=60, cool_down_s=0.2, probe_lease_s=5)
    return FlowControl(fakeredis.FakeRedis(decode_responses=True), policy)


@pytest.fixture
def calls(flow: FlowControl) -> GatedCalls:
    return GatedCalls(flow)


def open_breaker(flow: FlowControl) -> None:
    for _ in range(flow.policy.failures):
        flow.record("shoplazza", "store", ok=False)


def cool_down(flow: FlowControl) -> None:
    flow.client.hset(keys.breaker("shoplazza", "store"), "open_until", 0)


def test_the_burst_goes_at_once_then_each_caller_holds_a_later_slot(calls):
    replies = calls.call_many(4, "store", ACCOUNT)
    assert [type(r) for r in replies] == [Claim, Claim, Parked, Parked]
    assert replies[2].why == "rate"
    assert 0.45 <= replies[2].wait_s <= 0.5  # one interval (500 ms) after the burst
    assert 0.95 <= replies[3].wait_s <= 1.0  # the next slot, not the same one


def test_a_rate_limited_command_is_parked_without_spending_anything(calls, flow):
    calls.call("store", ACCOUNT)
    calls.call("store", ACCOUNT)
    command_id = calls.admit("store", ACCOUNT)
    parked = calls.claim(command_id, "store", ACCOUNT)
    assert isinstance(parked, Parked)
    record = read_record(flow.client, command_id)
    assert record is not None
    assert (record.state, record.waiting_for, record.attempts) == (
        CommandState.WAITING,
        WaitingFor.RATE,
        [],
    ), "waiting its turn, not retrying"
    assert record.waiting_until == from_ms(flow.client.zscore(keys.schedule(), command_id))
    assert record.last_message == f"waiting {parked.wait_s:.2f} s: rate limit of store"
    fields = flow.client.hmget(keys.command(command_id), "attempts_n", "deliveries", "token")
    assert fields == ["0", "0", None], "no attempt, no delivery counted, no lease held"
    due = flow.client.zscore(keys.schedule(), command_id)
    assert due == int(flow.client.hget(keys.command(command_id), "next_ms"))
    assert flow.client.zscore(keys.running(), command_id) is None
    assert flow.client.zscore(keys.dispatch(), command_id) is None


def test_a_parked_caller_comes_back_to_its_held_slot_without_taking_another(calls, flow):
    calls.call("store", ACCOUNT)
    calls.call("store", ACCOUNT)
    command_id = calls.admit("store", ACCOUNT)
    assert isinstance(calls.claim(command_id, "store", ACCOUNT), Parked)
    booked = flow.client.get(keys.rate("shoplazza", "store"))
    claim = calls.come_back(command_id, "store", ACCOUNT)
    assert isinstance(claim, Claim)
    assert flow.client.get(keys.rate("shoplazza", "store")) == booked
    assert claim.deliveries == 1
    assert flow.client.hget(keys.command(command_id), "reserved") is None, "good for one delivery"


def test_a_429_pauses_the_account_for_everyone(calls, flow):
    flow.pause("shoplazza", "store", 5)
    parked = calls.call("store", ACCOUNT)
    assert isinstance(parked, Parked)
    assert parked.why == "paused"
    assert 4.9 <= parked.wait_s <= 5


def test_an_open_breaker_parks_callers_until_its_cool_down_ends(calls, flow):
    open_breaker(flow)
    command_id = calls.admit("store", ACCOUNT)
    parked = calls.claim(command_id, "store", ACCOUNT)
    assert isinstance(parked, Parked)
    assert parked.why == "open"
    assert 0 < parked.wait_s <= 0.2
    record = read_record(flow.client, command_id)
    assert record is not None
    assert "circuit breaker open for store" in record.last_message
    assert (record.state, record.waiting_for) == (CommandState.WAITING, WaitingFor.BREAKER)


def test_a_paused_account_s_commands_wait_for_the_pause(calls, flow):
    flow.pause("shoplazza", "store", 5)
    command_id = calls.admit("store", ACCOUNT)
    assert isinstance(calls.claim(command_id, "store", ACCOUNT), Parked)
    record = read_record(flow.client, command_id)
    assert record is not None
    assert (record.state, record.waiting_for, record.attempts) == ("waiting", "paused", [])


def test_a_half_open_breaker_lets_exactly_one_probe_through(calls, flow):
    open_breaker(flow)
    cool_down(flow)
    replies = [calls.call("store", ACCOUNT) for _ in range(5)]
    assert [type(r) for r in replies] == [Claim] + [Parked] * 4
    assert {r.why for r in replies[1:] if isinstance(r, Parked)} == {"probing"}
    assert not replies[0].breaker_clean, "the probe's success must be reported"
    assert flow.record("shoplazza", "store", ok=True) == "closed"
    assert isinstance(calls.call("store", ACCOUNT), Claim)


def test_a_failed_probe_opens_the_breaker_again(calls, flow):
    open_breaker(flow)
    cool_down(flow)
    assert isinstance(calls.call("store", ACCOUNT), Claim)
    assert flow.record("shoplazza", "store", ok=False) == "open"
    parked = calls.call("store", ACCOUNT)
    assert isinstance(parked, Parked)
    assert parked.why == "open"


def test_callers_turned_away_by_a_probe_look_again_within_a_second(calls, flow):
    open_breaker(flow)
    cool_down(flow)
    calls.call("store", ACCOUNT)  # the probe
    parked = calls.call("store", ACCOUNT)
    assert isinstance(parked, Parked)
    assert parked.why == "probing"
    assert parked.wait_s <= flow.policy.recheck_s


def test_a_claim_says_whether_the_breaker_is_clean(calls, flow):
    assert calls.call("store", ACCOUNT).breaker_clean
    flow.record("shoplazza", "store", ok=False)
    claim = calls.call("store", ACCOUNT)
    assert isinstance(claim, Claim)
    assert not claim.breaker_clean


def test_failures_outside_the_window_do_not_add_up(flow):
    flow.record("shoplazza", "store", ok=False)
    flow.client.hset(keys.breaker("shoplazza", "store"), "last_failure", 0)
    flow.record("shoplazza", "store", ok=False)
    assert flow.breaker_state("shoplazza", "store")["failures"] == "1"


@pytest.mark.parametrize("per_s", [16, 3, 0.7, 1000])
def test_any_rate_keeps_whole_millisecond_slots(calls, per_s):
    account = ACCOUNT.model_copy(update={"rate_per_s": per_s, "burst": 1})
    first, second = calls.call_many(2, "odd", account)
    assert isinstance(first, Claim)
    if per_s == 1000:  # a 1 ms interval: the second caller may find its slot already come
        assert isinstance(second, Claim) or second.wait_s <= 0.001
        return
    assert isinstance(second, Parked)
    assert second.wait_s == pytest.approx(round(1000 / per_s) / 1000, abs=0.01)


def test_a_held_slot_still_waits_out_a_429_pause(calls, flow):
    calls.call("store", ACCOUNT)
    calls.call("store", ACCOUNT)
    command_id = calls.admit("store", ACCOUNT)
    assert isinstance(calls.claim(command_id, "store", ACCOUNT), Parked)
    flow.pause("shoplazza", "store", 5)
    parked = calls.come_back(command_id, "store", ACCOUNT)
    assert isinstance(parked, Parked)
    assert parked.why == "paused"
    assert parked.wait_s > 4.9


def test_after_a_pause_calls_resume_at_the_rate_not_in_a_burst(calls, flow):
    flow.pause("shoplazza", "store", 0.001)
    flow.client.delete(keys.rate_pause("shoplazza", "store"))  # the pause has passed
    replies = calls.call_many(3, "store", ACCOUNT)
    assert isinstance(replies[0], Claim)
    waits = [r.wait_s if isinstance(r, Parked) else 0 for r in replies]
    assert waits[2] > waits[1] > 0 or waits[1] == 0 < waits[2]


def test_failures_while_open_do_not_reopen_or_extend_it(flow):
    open_breaker(flow)
    open_until = flow.breaker_state("shoplazza", "store")["open_until"]
    for _ in range(4):  # replies of calls that were in flight when it opened
        flow.record("shoplazza", "store", ok=False)
    state = flow.breaker_state("shoplazza", "store")
    assert (state["opened"], state["open_until"]) == ("1", open_until)


def test_a_success_after_failures_resets_them(flow):
    flow.record("shoplazza", "store", ok=False)
    flow.record("shoplazza", "store", ok=True)
    assert flow.breaker_state("shoplazza", "store")["failures"] == "0"


def test_another_accounts_gate_changes_nothing_and_names_the_account(calls, flow):
    other = BackdAccount(
        provider="backd", base_url="http://b.invalid", public_key="pk", secret_key="sk"
    )
    command_id = calls.admit("acme", other)
    before = {k: flow.client.dump(k) for k in flow.client.keys("*")}
    assert calls.claim(command_id, "store", ACCOUNT) == OtherAccount("acme")
    assert {k: flow.client.dump(k) for k in flow.client.keys("*")} == before


def test_a_delivery_past_the_poison_limit_is_claimed_through_an_open_breaker(flow):
    calls = GatedCalls(flow, max_deliveries=2)
    open_breaker(flow)
    command_id = calls.admit("store", ACCOUNT)
    for _ in range(2):  # two deliveries die holding the lease (ungated claims, as in a recovery)
        assert isinstance(calls.store.claim(command_id), Claim)
        flow.client.hset(keys.command(command_id), "lease_until", 0)
    claim = calls.claim(command_id, "store", ACCOUNT)
    assert isinstance(claim, Claim), "the executor dead-letters it as poison, without a call"
    assert claim.deliveries == 3
    assert flow.client.hget(keys.breaker("shoplazza", "store"), "probe_until") is None
