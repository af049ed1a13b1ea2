"""Fault settings per provider and the seeded choice of what happens to one request."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class BadResponse(StrEnum):
    """Malformed replies for the bad-response tests.

    ``html`` is a 502 gateway page and the request is NOT applied; the other three are
    produced after the handler ran, so a mutation IS applied.
    """

    HTML = "html"
    TRUNCATED_JSON = "truncated_json"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    HUGE = "huge"


class FaultScope(StrEnum):
    """Which requests the random faults and the script apply to (outages hit everything)."""

    ALL = "all"
    MUTATIONS = "mutations"


class ActionKind(StrEnum):
    """What the sandbox does with one request."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    REPLY_LOST = "reply_lost"
    BAD = "bad"


@dataclass(frozen=True)
class FaultAction:
    """The fault chosen for one request: an HTTP status for errors, a kind for bad replies."""

    kind: ActionKind
    status: int = 0
    bad: BadResponse | None = None

    @property
    def label(self) -> str:
        """Short name used in request counters (``ok``, ``error_503``, ``bad_html``...)."""
        if self.kind is ActionKind.ERROR:
            return f"error_{self.status}"
        if self.bad is not None:
            return f"bad_{self.bad.value}"
        return self.kind.value


OK = FaultAction(ActionKind.OK)


def parse_action(text: str) -> FaultAction:
    """Turn a script entry (``"503"``, ``"reply_lost"``, ``"html"``, ``"ok"``...) into an action.

    Raises:
        ValueError: the entry names no known action.
    """
    if text.isdigit() and 400 <= int(text) <= 599:
        return FaultAction(ActionKind.ERROR, status=int(text))
    if text in BadResponse.__members__.values():
        return FaultAction(ActionKind.BAD, bad=BadResponse(text))
    if text in {ActionKind.OK, ActionKind.TIMEOUT, ActionKind.REPLY_LOST}:
        return FaultAction(ActionKind(text))
    raise ValueError(f"unknown fault action {text!r}")


class FaultSettings(BaseModel):
    """Faults for one provider. Probabilities are per request and must sum to at most 1."""

    model_config = ConfigDict(extra="forbid")

    error_rates: dict[int, float] = Field(default_factory=dict)
    latency_ms: float = Field(default=0.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_hold_s: float = Field(default=30.0, ge=0)
    reply_lost_rate: float = Field(default=0.0, ge=0, le=1)
    bad_response_rates: dict[BadResponse, float] = Field(default_factory=dict)
    huge_body_bytes: int = Field(default=5_000_000, ge=0)
    outage_until: float | None = None
    outage_for_s: float | None = Field(default=None, ge=0)
    scope: FaultScope = FaultScope.ALL
    script: list[str] = Field(default_factory=list)

    @field_validator("error_rates")
    @classmethod
    def _statuses_are_errors(cls, rates: dict[int, float]) -> dict[int, float]:
        for status, rate in rates.items():
            if not 400 <= status <= 599 or not 0 <= rate <= 1:
                raise ValueError(f"error_rates: bad entry {status}: {rate}")
        return rates

    @field_validator("script")
    @classmethod
    def _script_parses(cls, script: list[str]) -> list[str]:
        for entry in script:
            parse_action(entry)
        return script

    @model_validator(mode="after")
    def _rates_fit(self) -> FaultSettings:
        if sum(self.weighted_actions().values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        return self

    def weighted_actions(self) -> dict[FaultAction, float]:
        """Every random action with its probability, in a fixed order (seeded replays match)."""
        weights = {
            FaultAction(ActionKind.ERROR, status=s): r for s, r in sorted(self.error_rates.items())
        }
        weights[FaultAction(ActionKind.TIMEOUT)] = self.timeout_rate
        weights[FaultAction(ActionKind.REPLY_LOST)] = self.reply_lost_rate
        for kind in sorted(self.bad_response_rates):
            weights[FaultAction(ActionKind.BAD, bad=kind)] = self.bad_response_rates[kind]
        return weights

    def resolved(self, now: float) -> FaultSettings:
        """Copy with ``outage_for_s`` turned into an absolute ``outage_until`` (epoch seconds)."""
        if self.outage_for_s is None:
            return self
        return self.model_copy(
            update={"outage_until": now + self.outage_for_s, "outage_for_s": None}
        )

    def outage_left_s(self, now: float) -> float:
        """Seconds of outage still to run at ``now`` (0 when there is none)."""
        if self.outage_until is None:
            return 0.0
        return max(0.0, self.outage_until - now)


class FaultPlan:
    """A provider's settings plus the not-yet-consumed script and the shared seeded RNG."""

    def __init__(self, settings: FaultSettings, rng: random.Random) -> None:
        self.settings = settings
        self.script: deque[FaultAction] = deque(parse_action(e) for e in settings.script)
        self._rng = rng

    def next_action(self, *, is_mutation: bool) -> FaultAction:
        """Pick what happens to the next request: the script first, then the random rates."""
        if self.settings.scope is FaultScope.MUTATIONS and not is_mutation:
            return OK
        if self.script:
            return self.script.popleft()
        weights = self.settings.weighted_actions()
        if not any(weights.values()):
            return OK
        draw = self._rng.random()
        for action, rate in weights.items():
            if draw < rate:
                return action
            draw -= rate
        return OK

    def delay_s(self) -> float:
        """Latency to add before answering: fixed part plus uniform jitter."""
        jitter_ms = self._rng.uniform(0, self.settings.jitter_ms) if self.settings.jitter_ms else 0
        return (self.settings.latency_ms + jitter_ms) / 1000
