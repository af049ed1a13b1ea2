"""What a claim answers: the delivery's claim, a parked wait, or a lease lost since."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from schemas import CommandEnvelope, Fingerprint


@dataclass(frozen=True)
class Claim:
    """A delivery that owns its command until it records an outcome or its lease runs out."""

    command_id: str
    token: str
    envelope: CommandEnvelope
    attempts: int  # provider attempts spent on 5xx / network errors so far
    unprocessable: int  # attempts spent on 422 / 409 / 423 so far
    reconcile_first: bool  # an earlier delivery may have reached the provider: read first
    first_claim_ms: int
    deliveries: int  # deliveries since the last recorded outcome, this one included
    claimed_ms: int
    recorded_attempts: int  # attempts in the record so far, of every kind
    breaker_clean: bool = False  # gated on a closed breaker with no failures counted
    # time.monotonic() just before the claim was sent: the lease lasts at least lease_s from it
    sent_monotonic: float = 0.0
    fingerprint: Fingerprint | None = None  # refund records held before the first send


@dataclass(frozen=True)
class Parked:
    """A delivery whose account must wait: the claim parked the command in the retry schedule."""

    wait_s: float
    why: str  # 'paused' (a 429), 'open', 'probing' (the breaker), 'rate', 'backlog' or 'held'


@dataclass(frozen=True)
class OtherAccount:
    """The command is another account's than the gate's: nothing changed, claim with its gate."""

    account: str


class LeaseLost(Exception):
    """The claim's lease ran out and another delivery took the command over."""

    def __init__(self, command_id: str, state: str) -> None:
        super().__init__(f"command {command_id}: lease lost (now {state or 'missing'})")


def worker_name() -> str:
    """Who claims, as status shows it: this host and process, ``host:pid``.

    Asked once per process: ``gethostname`` is a system call that lets go of the GIL, and a
    claim would otherwise make it for every command.
    """
    pid = os.getpid()
    name = _worker_names.get(pid)
    if name is None:
        name = _worker_names[pid] = f"{socket.gethostname()}:{pid}"
    return name


_worker_names: dict[int, str] = {}  # by pid: a forked child names itself


def claimed(
    command_id: str, token: str, fields: Sequence[str], *, sent_monotonic: float = 0.0
) -> Claim:
    """The claim from ``claim.lua``'s reply (after its ``'claimed'``)."""
    envelope, attempts, unprocessable, reconcile, first_ms, deliveries, now, recorded = fields[:8]
    return Claim(
        command_id=command_id,
        token=token,
        envelope=CommandEnvelope.model_validate_json(envelope),
        attempts=int(attempts),
        unprocessable=int(unprocessable),
        reconcile_first=reconcile == "1",
        first_claim_ms=int(first_ms),
        deliveries=int(deliveries),
        claimed_ms=int(now),
        recorded_attempts=int(recorded),
        breaker_clean=int(fields[8]) == 1,
        sent_monotonic=sent_monotonic,
        fingerprint=_fingerprint(fields[9] if len(fields) > 9 else ""),
    )


def _fingerprint(text: str) -> Fingerprint | None:
    return Fingerprint.model_validate_json(text) if text else None
