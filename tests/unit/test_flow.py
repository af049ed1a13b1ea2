"""Flow control on fakeredis: GCRA with reservations, 429 pauses, the breaker's cycle."""

from __future__ import annotations

import fakeredis
import pytest

from providers.accounts import ShoplazzaAccount
from worker import keys
from worker.flow import BreakerPolicy, FlowControl

ACCOUNT = ShoplazzaAccount(
    provider="shoplazza", base_url="http://x.invalid", access_token="t", rate_per_s=2, burst=2
)


@pytest.fixture
def flow() -> FlowControl:
    policy = BreakerPolicy(failures=3, window_s=60, cool_down_s=0.2, probe_lease_s=5)
    return FlowControl(fakeredis.FakeRedis(decode_responses=True), policy)


def test_the_burst_goes_at_once_then_each_caller_holds_a_later_slot(flow):
    gates = [flow.gate("store", ACCOUNT) for _ in range(4)]
    assert [g.wait_s for g in gates[:2]] == [0, 0]
    assert gates[2].reserved
    assert gates[2].why == "rate"
    assert 0.45 <= gates[2].wait_s <= 0.5  # one interval (500 ms) after the burst
    assert 0.95 <= gates[3].wait_s <= 1.0  # the next slot, not the same one


def test_a_reserved_caller_goes_without_taking_another_slot(flow):
    for _ in range(3):
        flow.gate("store", ACCOUNT)
    assert flow.gate("store", ACCOUNT, reserved=True).wait_s == 0


def test_a_429_pauses_the_account_for_everyone(flow):
    flow.pause("shoplazza", "store", 5)
    gate = flow.gate("store", ACCOUNT)
    assert gate.why == "paused"
    assert 4.9 <= gate.wait_s <= 5


def test_a_run_of_failures_opens_the_breaker_and_one_probe_closes_it(flow):
    assert [flow.record("shoplazza", "store", ok=False) for _ in range(3)][-1] == "open"
    gate = flow.gate("store", ACCOUNT)
    assert gate.why == "open"
    assert 0 < gate.wait_s <= 0.2
    flow.client.hset(keys.breaker("shoplazza", "store"), "open_until", 0)  # cooled down
    assert flow.gate("store", ACCOUNT).wait_s == 0, "the first caller is the probe"
    assert flow.gate("store", ACCOUNT).why == "probing", "the others wait for it"
    assert flow.record("shoplazza", "store", ok=True) == "closed"
    assert flow.gate("store", ACCOUNT).why in {"", "rate"}


def test_a_failed_probe_opens_the_breaker_again(flow):
    for _ in range(3):
        flow.record("shoplazza", "store", ok=False)
    flow.client.hset(keys.breaker("shoplazza", "store"), "open_until", 0)
    flow.gate("store", ACCOUNT)
    assert flow.record("shoplazza", "store", ok=False) == "open"
    assert flow.gate("store", ACCOUNT).why == "open"


def test_failures_outside_the_window_do_not_add_up(flow):
    flow.record("shoplazza", "store", ok=False)
    flow.client.hset(keys.breaker("shoplazza", "store"), "last_failure", 0)
    flow.record("shoplazza", "store", ok=False)
    assert flow.breaker_state("shoplazza", "store")["failures"] == "1"


@pytest.mark.parametrize("per_s", [16, 3, 0.7, 1000])
def test_any_rate_keeps_whole_millisecond_slots(flow, per_s):
    account = ACCOUNT.model_copy(update={"rate_per_s": per_s, "burst": 1})
    first, second = flow.gate("odd", account), flow.gate("odd", account)
    assert first.wait_s == 0
    assert second.wait_s == pytest.approx(max(0.001, round(1000 / per_s) / 1000), abs=0.01)


def test_a_held_slot_still_waits_out_a_429_pause(flow):
    flow.pause("shoplazza", "store", 5)
    gate = flow.gate("store", ACCOUNT, reserved=True)
    assert gate.why == "paused"
    assert gate.wait_s > 4.9


def test_after_a_pause_calls_resume_at_the_rate_not_in_a_burst(flow):
    flow.pause("shoplazza", "store", 0.001)
    flow.client.delete(keys.rate_pause("shoplazza", "store"))  # the pause has passed
    waits = [flow.gate("store", ACCOUNT).wait_s for _ in range(3)]
    assert waits[0] == 0
    assert waits[2] > waits[1] > 0 or waits[1] == 0 < waits[2]


def test_callers_turned_away_by_a_probe_look_again_within_a_second(flow):
    for _ in range(3):
        flow.record("shoplazza", "store", ok=False)
    flow.client.hset(keys.breaker("shoplazza", "store"), "open_until", 0)
    assert flow.gate("store", ACCOUNT).wait_s == 0  # the probe
    gate = flow.gate("store", ACCOUNT)
    assert gate.why == "probing"
    assert gate.wait_s <= flow.policy.recheck_s


def test_failures_while_open_do_not_reopen_or_extend_it(flow):
    for _ in range(3):
        flow.record("shoplazza", "store", ok=False)
    open_until = flow.breaker_state("shoplazza", "store")["open_until"]
    for _ in range(4):  # replies of calls that were in flight when it opened
        flow.record("shoplazza", "store", ok=False)
    state = flow.breaker_state("shoplazza", "store")
    assert (state["opened"], state["open_until"]) == ("1", open_until)


def test_a_success_on_a_clean_breaker_writes_nothing(flow):
    flow.gate("store", ACCOUNT)
    assert flow.record("shoplazza", "store", ok=True) == "closed"
    assert not flow.client.exists(keys.breaker("shoplazza", "store"))


def test_a_success_after_failures_resets_them(flow):
    flow.gate("store", ACCOUNT)
    flow.record("shoplazza", "store", ok=False)
    flow.record("shoplazza", "store", ok=True)
    assert flow.breaker_state("shoplazza", "store")["failures"] == "0"
