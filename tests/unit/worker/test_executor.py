"""The executor with a FakeProvider and a fakeredis store: every outcome class, no Celery."""

from __future__ import annotations

import random

import fakeredis
import pytest

from config.settings import RetryPolicy, Settings
from providers.errors import (
    AuthFailed,
    NotAllowed,
    OrderNotFound,
    ProviderUnavailable,
    RateLimited,
    Unprocessable,
)
from providers.fake import APPLY_THEN_FAIL, FakeProvider
from schemas import AttemptOutcome, CommandRecord, CommandState, DeadReason, WaitingFor
from store import keys
from store.command_store import CommandStore, StoreLimits
from store.flow import FlowControl
from store.records import read_record
from tests.factories import make_envelope
from worker.executor import execute
from worker.runtime import Runtime

ORDER = "BO-000001"


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider(statuses={ORDER: "open", "BO-000002": "open"})


@pytest.fixture
def runtime(fake: FakeProvider) -> Runtime:
    settings = Settings(
        accounts={
            "acme": {
                "provider": "backd",
                "base_url": "http://fake.invalid",
                "public_key": "pk",
                "secret_key": "sk",
            },
            "other": {
                "provider": "backd",
                "base_url": "http://fake.invalid",
                "public_key": "pk2",
                "secret_key": "sk2",
            },
        },
        retry={
            "backd": RetryPolicy(base_s=0.001, cap_s=0.001, max_attempts=3, max_unprocessable=2)
        },
    )
    store = CommandStore(
        fakeredis.FakeRedis(decode_responses=True),
        StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=60_000),
    )
    published: list[str] = []
    return Runtime(
        settings,
        store,
        published.extend,
        lambda account: fake,
        FlowControl(store.client),
        random.Random(7),
    )


def run_to_rest(runtime: Runtime, command_id: str, *, rounds: int = 20) -> CommandRecord:
    """Deliver the command until it rests in an end state, as the scheduler would."""
    for _ in range(rounds):
        state = execute(command_id, runtime)
        if state not in {"retrying", "waiting", "not_due"}:
            break
        runtime.store.client.zadd(keys.schedule(), {command_id: 0})
        runtime.store.client.hset(keys.command(command_id), "next_ms", 0)
        runtime.store.client.delete(keys.rate_pause("backd", "acme"))  # the 429 pause has passed
    record = read_record(runtime.store.client, command_id)
    assert record is not None
    return record


def admit(runtime: Runtime, key: str = "k", **overrides: object) -> str:
    return runtime.store.admit(make_envelope(key, **overrides)).command_id


def test_success_calls_the_provider_once_with_the_key(runtime, fake):
    record = run_to_rest(runtime, admit(runtime))
    assert record.state is CommandState.SUCCEEDED
    assert [(c.operation, c.idempotency_key) for c in fake.calls] == [("cancel", "k")]


def test_a_5xx_then_success_mutates_once(runtime, fake):
    fake.script(ORDER, ProviderUnavailable(provider="fake", status_code=503))
    record = run_to_rest(runtime, admit(runtime))
    assert record.state is CommandState.SUCCEEDED
    assert [a.outcome for a in record.attempts] == [AttemptOutcome.RETRY, AttemptOutcome.OK]
    assert len(fake.applied) == 1


def test_a_reply_lost_after_applying_is_reconciled_as_already_done(runtime, fake):
    fake.script(ORDER, (APPLY_THEN_FAIL, ProviderUnavailable(provider="fake", ambiguous=True)))
    record = run_to_rest(runtime, admit(runtime, kind="refund"))
    assert record.state is CommandState.ALREADY_DONE
    assert [c.operation for c in fake.calls] == ["refund", "find"]
    assert len(fake.applied) == 1


def test_5xx_until_the_budget_is_spent_dead_letters_as_exhausted(runtime, fake):
    fake.script(ORDER, *[ProviderUnavailable(provider="fake", ambiguous=False)] * 5)
    record = run_to_rest(runtime, admit(runtime))
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.EXHAUSTED)
    assert len(record.attempts) == 3


def test_422_is_retried_then_dead_lettered_with_history(runtime, fake):
    fake.script(ORDER, *[Unprocessable(provider="fake", status_code=422)] * 5)
    record = run_to_rest(runtime, admit(runtime))
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.EXHAUSTED)
    assert [a.http_status for a in record.attempts] == [422, 422]
    assert all(a.reconciled and "open" in a.reconciled for a in record.attempts[:1])


def test_422_on_an_order_already_in_the_target_state_is_already_done(runtime, fake):
    fake.statuses[ORDER] = "cancelled"
    fake.script(ORDER, Unprocessable(provider="fake", status_code=422))
    record = run_to_rest(runtime, admit(runtime))
    assert record.state is CommandState.ALREADY_DONE


def test_a_refusal_on_a_closed_order_dead_letters_at_once(runtime, fake):
    fake.statuses[ORDER] = "shipped"
    fake.script(ORDER, NotAllowed(provider="fake", status_code=406))
    record = run_to_rest(runtime, admit(runtime))
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.REJECTED)
    assert "shipped" in record.last_message


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OrderNotFound(provider="fake", status_code=404), DeadReason.NOT_FOUND),
        (AuthFailed(provider="fake", status_code=401), DeadReason.AUTH),
    ],
)
def test_permanent_errors_dead_letter_at_once(runtime, fake, error, reason):
    fake.script(ORDER, error)
    record = run_to_rest(runtime, admit(runtime))
    assert (record.state, record.dead_reason, len(record.attempts)) == (
        CommandState.DEAD,
        reason,
        1,
    )


def test_429_spends_no_attempt_and_honours_retry_after(runtime, fake):
    fake.script(ORDER, *[RateLimited(provider="fake", status_code=429, retry_after_s=7.0)] * 4)
    command_id = admit(runtime)
    assert execute(command_id, runtime) == "retrying"
    record = read_record(runtime.store.client, command_id)
    assert record is not None
    assert record.attempts[0].retry_in_s == 7.0
    record = run_to_rest(runtime, command_id)
    assert record.state is CommandState.SUCCEEDED  # 4 x 429 > max_attempts 3, none spent


def test_a_lane_runs_update_before_cancel(runtime, fake):
    update = admit(runtime, "u", kind="update", changes={"merchant_order_status": "held"})
    cancel = admit(runtime, "c")
    assert execute(cancel, runtime) == "not_head"
    run_to_rest(runtime, update)
    run_to_rest(runtime, cancel)
    assert [c.operation for c in fake.applied] == ["update", "cancel"]


def test_a_delivery_that_keeps_dying_is_dead_lettered_as_poison(runtime, fake):
    command_id = admit(runtime)
    for _ in range(runtime.settings.max_deliveries):
        runtime.store.claim(command_id)
        runtime.store.client.hset(keys.command(command_id), "lease_until", 0)
    record = run_to_rest(runtime, command_id)
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.POISON)
    assert fake.applied == []


def test_a_recovered_delivery_reads_before_sending(runtime, fake):
    command_id = admit(runtime, kind="refund")
    runtime.store.claim(command_id)
    fake.statuses[ORDER] = "refunded"  # the dead delivery's refund landed
    runtime.store.client.hset(keys.command(command_id), "lease_until", 0)
    record = run_to_rest(runtime, command_id)
    assert record.state is CommandState.ALREADY_DONE
    assert [c.operation for c in fake.calls] == ["find"]


def test_an_open_breaker_parks_the_command_without_calling_or_spending(runtime, fake):
    for _ in range(runtime.flow.policy.failures):
        runtime.flow.record("backd", "acme", ok=False)
    command_id = admit(runtime)
    assert execute(command_id, runtime) == "waiting"
    record = read_record(runtime.store.client, command_id)
    assert record is not None
    assert (record.attempts, fake.calls, record.waiting_for) == ([], [], WaitingFor.BREAKER)
    assert "circuit breaker open" in record.last_message


def test_provider_outages_open_the_breaker_for_everyone(runtime, fake):
    fake.script(ORDER, *[ProviderUnavailable(provider="fake", ambiguous=False)] * 5)
    run_to_rest(runtime, admit(runtime))
    assert runtime.flow.breaker_state("backd", "acme")["failures"] == "3"
    runtime.flow.record("backd", "acme", ok=False)
    runtime.flow.record("backd", "acme", ok=False)
    assert runtime.flow.breaker_state("backd", "acme")["state"] == "open"


def test_a_rate_limited_command_holds_its_slot_and_goes_when_due(runtime, fake):
    runtime.store.client.set(keys.rate("backd", "acme"), 10**15)  # the bucket is far ahead
    command_id = admit(runtime)
    assert execute(command_id, runtime) == "waiting"
    record = run_to_rest(runtime, command_id)
    assert record.state is CommandState.SUCCEEDED
    assert [c.operation for c in fake.calls] == ["cancel"]


def test_a_success_on_a_clean_breaker_writes_nothing_to_it(runtime, fake):
    record = run_to_rest(runtime, admit(runtime))
    assert record.state is CommandState.SUCCEEDED
    assert not runtime.store.client.exists(keys.breaker("backd", "acme"))


def test_a_success_after_a_failure_clears_the_breakers_count(runtime, fake):
    runtime.flow.record("backd", "acme", ok=False)
    record = run_to_rest(runtime, admit(runtime))
    assert record.state is CommandState.SUCCEEDED
    assert runtime.flow.breaker_state("backd", "acme")["failures"] == "0"


class CountingScript:
    """Counts the calls of one registered script of a ``Scripts`` instance."""

    def __init__(self, script):
        self.script, self.calls = script, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.script(*args, **kwargs)


def test_each_account_is_gated_by_its_own_limits_in_one_claim_when_expected(runtime, fake):
    claims = CountingScript(runtime.store.scripts.claim)
    runtime.store.scripts.claim = claims
    seconds, _ = runtime.store.client.time()
    runtime.store.client.set(keys.rate("backd", "other"), (seconds + 60) * 1000)  # a minute ahead
    assert execute(admit(runtime, "a1"), runtime) == "succeeded"
    assert claims.calls == 1, "the first account configured is expected first"
    parked = admit(runtime, "o1", account="other", order_id="BO-000002")
    assert execute(parked, runtime) == "waiting"
    assert claims.calls == 3, "another account's command: the claim names it, then gates it"
    record = read_record(runtime.store.client, parked)
    assert record is not None
    assert "rate limit of other" in record.last_message
    assert (record.attempts, [c.order_id for c in fake.calls]) == ([], [ORDER])
    assert execute(admit(runtime, "a2", order_id="BO-000002"), runtime) == "succeeded"
    assert claims.calls == 5


def test_a_command_of_an_unknown_account_dead_letters_without_a_call(runtime, fake):
    record = run_to_rest(runtime, admit(runtime, account="nobody"))
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.INVALID)
    assert fake.calls == []
