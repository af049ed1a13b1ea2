"""The heartbeat: a claim's lease outlives a long delivery, and a lost lease stops all requests."""

from __future__ import annotations

import contextlib
import random
import threading
import time

import fakeredis
import httpx
import pytest
import redis

from config.settings import Settings
from providers.fake import FakeProvider
from providers.http import call, fence_allows
from schemas import CommandState, ProviderReceipt
from store import keys
from store.claims import Claim, worker_name
from store.command_store import CommandStore, StoreLimits
from store.flow import FlowControl
from store.records import read_record
from tests.factories import make_envelope
from tests.integration.harness import wait_for
from worker.executor import execute
from worker.heartbeat import SAFETY_S, Heartbeat
from worker.runtime import Runtime

LEASE_S = 0.6
ORDER = "BO-000001"


@pytest.fixture
def store() -> CommandStore:
    client = fakeredis.FakeRedis(decode_responses=True)
    return CommandStore(
        client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=int(LEASE_S * 1000))
    )


def claim_one(store: CommandStore, key: str = "k") -> Claim:
    command_id = store.admit(make_envelope(key, order_id=f"O-{key}")).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    return claim


def lease_until_ms(store: CommandStore, claim: Claim) -> int:
    return int(store.client.hget(keys.command(claim.command_id), "lease_until"))


class Renewals:
    """A stand-in store whose renewals answer as told, counting them."""

    def __init__(self, answer: bool | Exception = True) -> None:
        self.answer = answer
        self.count = 0

    def extend_lease(self, claim: Claim) -> bool:
        self.count += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_the_lease_is_renewed_while_the_delivery_works(store):
    claim = claim_one(store)
    first = lease_until_ms(store, claim)
    with Heartbeat(store, claim, lease_s=LEASE_S) as heartbeat:
        # Given a delivery that outlasts its lease twice over
        wait_for(lambda: lease_until_ms(store, claim) > first + 2 * LEASE_S * 1000, timeout_s=5)
        # Then nobody else can take the command meanwhile
        assert store.claim(claim.command_id) == "busy"
        assert not heartbeat.failed
        assert heartbeat.left_s() > 0


def test_one_thread_renews_every_deliverys_lease(store):
    claims = [claim_one(store, f"k{n}") for n in range(5)]
    first = {c.command_id: lease_until_ms(store, c) for c in claims}
    with contextlib.ExitStack() as stack:
        for claim in claims:
            stack.enter_context(Heartbeat(store, claim, lease_s=LEASE_S))
        wait_for(
            lambda: all(
                lease_until_ms(store, c) > first[c.command_id] + LEASE_S * 1000 for c in claims
            ),
            timeout_s=5,
        )
        renewing = [t for t in threading.enumerate() if t.name == "ordercmd-heartbeat"]
        assert len(renewing) == 1


def test_once_the_delivery_ends_the_lease_runs_out_and_the_command_can_be_taken(store):
    claim = claim_one(store)
    with Heartbeat(store, claim, lease_s=LEASE_S):
        pass
    retaken = wait_for(
        lambda: isinstance(c := store.claim(claim.command_id), Claim) and c, timeout_s=5
    )
    assert retaken.reconcile_first  # the dead delivery may have reached the provider


def test_the_claim_records_who_runs_it_since_when_and_until_when(store):
    claim = claim_one(store)
    record = read_record(store.client, claim.command_id)
    assert record.state is CommandState.RUNNING
    assert record.running_on == worker_name()
    assert record.running_since is not None
    assert record.lease_until is not None
    assert (record.lease_until - record.running_since).total_seconds() == pytest.approx(LEASE_S)


def test_a_lease_taken_over_fails_the_heartbeat_and_closes_the_fence(store):
    claim = claim_one(store)
    heartbeat = Heartbeat(store, claim, lease_s=LEASE_S)
    store.client.hset(keys.command(claim.command_id), "token", "another-delivery")
    assert not heartbeat.renew()
    assert heartbeat.failed
    assert not heartbeat.allows(0.01)


@pytest.mark.parametrize("answer", [False, redis.ConnectionError("store down")])
def test_a_failed_renewal_stops_every_further_request(answer):
    renewals = Renewals(answer)
    claim = Claim(**{**vars(claim_of_now()), "sent_monotonic": time.monotonic() - 10})
    heartbeat = Heartbeat(renewals, claim, lease_s=30)  # type: ignore[arg-type]
    assert not heartbeat.allows(25)  # too little left: it renews now, which fails
    renewals.answer = True
    assert not heartbeat.allows(1)  # failed once, failed for good: no request starts
    assert renewals.count == 1


def test_a_request_inside_the_lease_needs_no_renewal_and_one_past_it_gets_one_first():
    renewals = Renewals(True)
    claim = Claim(**{**vars(claim_of_now()), "sent_monotonic": time.monotonic() - 25})
    heartbeat = Heartbeat(renewals, claim, lease_s=30)  # type: ignore[arg-type]
    assert heartbeat.allows(1)  # ~5 s left covers 1 s and the safety margin
    assert renewals.count == 0
    assert heartbeat.allows(10)  # it does not: renewed now, a full lease is left
    assert renewals.count == 1
    assert not heartbeat.allows(30 - SAFETY_S + 0.1)  # no lease can cover this one


def claim_of_now() -> Claim:
    return Claim(
        command_id="c1",
        token="t",
        envelope=make_envelope("k"),
        attempts=0,
        unprocessable=0,
        reconcile_first=False,
        first_claim_ms=0,
        deliveries=1,
        claimed_ms=0,
        recorded_attempts=0,
        sent_monotonic=time.monotonic(),
    )


# --- the executor wraps every delivery in a heartbeat ---


def runtime_with(store: CommandStore, provider: object) -> Runtime:
    account = {"provider": "backd", "base_url": "http://fake.invalid", "public_key": "pk"}
    settings = Settings(
        lease_s=LEASE_S, accounts={"acme": {**account, "secret_key": "sk", "timeout_s": 0.2}}
    )
    return Runtime(
        settings, store, [].extend, lambda _: provider, FlowControl(store.client), random.Random(7)
    )


class SlowProvider(FakeProvider):
    """A provider whose cancel lasts until the lease was renewed twice (two lease lengths)."""

    def __init__(self, store: CommandStore) -> None:
        super().__init__(statuses={ORDER: "open"})
        self.store = store
        self.busy_meanwhile: object = None

    def cancel(self, command, *, idempotency_key):  # type: ignore[no-untyped-def]
        command_id = str(self.store.client.zrange(keys.running(), 0, 0)[0])
        first = int(self.store.client.hget(keys.command(command_id), "lease_until"))
        wait_for(
            lambda: (
                int(self.store.client.hget(keys.command(command_id), "lease_until"))
                > first + 2 * LEASE_S * 1000
            ),
            timeout_s=5,
        )
        self.busy_meanwhile = self.store.claim(command_id)
        return super().cancel(command, idempotency_key=idempotency_key)


def test_a_delivery_longer_than_its_lease_keeps_its_command_and_records_its_outcome(store):
    provider = SlowProvider(store)
    command_id = store.admit(make_envelope("k")).command_id
    assert execute(command_id, runtime_with(store, provider)) == "succeeded"
    assert provider.busy_meanwhile == "busy"
    assert len(provider.applied) == 1


class TakenOverProvider(FakeProvider):
    """A provider adapter whose second request comes after another delivery took the command."""

    def __init__(self, store: CommandStore) -> None:
        super().__init__(statuses={ORDER: "open"})
        self.store = store
        self.sent: list[httpx.Request] = []

    def cancel(self, command, *, idempotency_key):  # type: ignore[no-untyped-def]
        command_id = str(self.store.client.zrange(keys.running(), 0, 0)[0])
        self.store.client.hset(keys.command(command_id), "token", "another-delivery")
        # the heartbeat's next renewal finds the command taken
        wait_for(lambda: not fence_allows(0.0), timeout_s=5, what="the heartbeat to fail")
        transport = httpx.MockTransport(self._answer)
        with httpx.Client(transport=transport, base_url="http://fake.invalid", timeout=0.2) as c:
            call(c, "POST", "/cancel", provider="backd", idempotency_key="k")
        return ProviderReceipt(operation="cancel", http_status=200)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, json={})


def test_after_a_lost_lease_no_further_request_is_sent(store):
    provider = TakenOverProvider(store)
    command_id = store.admit(make_envelope("k")).command_id
    # the request raises FenceClosed; the give-back is fenced too: the lease is someone else's
    assert execute(command_id, runtime_with(store, provider)) == "lease_lost"
    assert provider.sent == []
