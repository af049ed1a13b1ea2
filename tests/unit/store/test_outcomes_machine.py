"""A Hypothesis state machine over the store on a real Redis, checking the outcome stream.

After every step the stream holds exactly the events the transitions made so far, in order,
each naming the state the command went to.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from redisconn.client import redis_client
from schemas import Attempt, AttemptOutcome, CommandState, DeadReason
from store.command_store import Claim, CommandStore, Spend, StoreLimits
from store.deadletters import DeadLetters
from store.outcomes import Outcomes
from store.replay_edit import edit_and_replay
from tests.factories import make_command, make_envelope

ATTEMPT = Attempt(number=1, started_at=datetime(2026, 12, 1, tzinfo=UTC), duration_ms=1,
                  outcome=AttemptOutcome.RETRY, message="5xx")  # fmt: skip
ENDS = {CommandState.SUCCEEDED: "succeeded", CommandState.ALREADY_DONE: "already_done",
        CommandState.DEAD: "dead"}  # fmt: skip


class Transitions(RuleBasedStateMachine):
    """Admit, claim, finish, retry, replay, edit and discard commands of three orders."""

    redis_url = ""  # set by the test

    def __init__(self) -> None:
        super().__init__()
        client = redis_client(self.redis_url)
        client.flushdb()
        self.store = CommandStore(client, StoreLimits(3600, 60_000, 30_000))
        self.letters = DeadLetters(self.store)
        self.expected: list[tuple[str, str, str]] = []  # (command id, event, state)
        self.count = 0
        self.admitted: list[str] = []  # in admission order: ids are random, positions are not

    def states(self, *wanted: CommandState) -> list[str]:
        """The admitted commands now in one of ``wanted``, in admission order."""
        fields = self.store.command_fields(self.admitted, ["id", "state"])
        return [f[0] for f in fields if f[0] and CommandState(str(f[1])) in wanted]

    @rule(order=st.integers(0, 2))
    def admit(self, order: int) -> None:
        self.count += 1
        envelope = make_envelope(f"k-{self.count}", order_id=f"BO-{order}")
        self.admitted.append(self.store.admit(envelope).command_id)

    def _claim(self, data: st.DataObject) -> Claim | None:
        ready = self.states(CommandState.QUEUED, CommandState.RETRYING)
        if not ready:
            return None
        claim = self.store.claim(data.draw(st.sampled_from(ready)), early_ms=10**9)
        return claim if isinstance(claim, Claim) else None

    @rule(data=st.data(), end=st.sampled_from(sorted(ENDS)))
    def finish(self, data: st.DataObject, end: CommandState) -> None:
        claim = self._claim(data)
        if claim is not None:
            reason = DeadReason.EXHAUSTED if end is CommandState.DEAD else None
            self.store.finish(claim, end, ATTEMPT, reason=reason)
            self.expected.append((claim.command_id, ENDS[end], str(end)))

    @rule(data=st.data(), recorded=st.booleans())
    def retry(self, data: st.DataObject, recorded: bool) -> None:
        claim = self._claim(data)
        if claim is not None:
            attempt = ATTEMPT if recorded else None
            self.store.retry(claim, attempt, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=False)
            if recorded:
                self.expected.append((claim.command_id, "retry_scheduled", "retrying"))

    @precondition(lambda self: self.states(CommandState.DEAD))
    @rule(data=st.data(), how=st.sampled_from(["replay", "edit", "discard"]))
    def act_on_dead(self, data: st.DataObject, how: str) -> None:
        command_id = data.draw(st.sampled_from(self.states(CommandState.DEAD)))
        if how == "discard":
            self.letters.discard(command_id, actor="t", why="t")
            self.expected.append((command_id, "discarded", "discarded"))
            return
        if how == "replay":
            state = self.letters.replay(command_id, actor="t", why="t")
        else:
            record = self.letters.get(command_id)
            command = make_command(order_id=record.envelope.command.order_id, reason="edited")
            state = edit_and_replay(self.store, command_id, command, actor="t", why="t")
        self.expected.append((command_id, "replayed" if how == "replay" else "edited", str(state)))

    @precondition(lambda self: self.states(CommandState.WAITING, CommandState.QUEUED))
    @rule(data=st.data())
    def discard_pending(self, data: st.DataObject) -> None:
        pending = self.states(CommandState.WAITING, CommandState.QUEUED)
        command_id = data.draw(st.sampled_from(pending))
        assert self.store.discard_pending(command_id, actor="t", why="t")
        self.expected.append((command_id, "discarded", "discarded"))

    @invariant()
    def one_event_per_transition(self) -> None:
        events = Outcomes(self.store.client).read("0-0", count=10_000)
        assert [(e.command_id, str(e.event), e.state) for e in events] == self.expected

    def teardown(self) -> None:
        self.store.client.close()


def test_the_stream_holds_one_event_per_transition(redis_url):
    Transitions.redis_url = redis_url
    run_state_machine_as_test(
        Transitions,
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )  # fmt: skip
