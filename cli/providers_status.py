"""``ordercmd status --providers``: each account's breaker, pauses, rate limit, bulk backlog.

Everything is read from the Redis state the workers share (``store.flow``), against Redis's
clock: the breaker's hash (``keys.breaker``), the pause set by a 429 (``keys.rate_pause``) and
the rate limit's theoretical arrival time (``keys.rate``) and the bulk backlog
(``keys.backlog``), and an operator's pause (``keys.paused``, ``keys.held``). Nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from rich.table import Table

from config.settings import Settings
from providers.accounts import Account
from store import keys
from store.backlog import BacklogDepth, Backlogs
from store.clock import redis_now_ms
from store.flow import DEFAULT_RATES, FlowControl
from store.pause_state import AccountPause, account_pauses


class BreakerState(StrEnum):
    """What the gate does with the next call to an account."""

    CLOSED = "closed"  # calls go (subject to the rate limit)
    OPEN = "open"  # calls wait until the cool-down ends
    HALF_OPEN = "half-open"  # cooled down: one probe call decides, the others wait for it


@dataclass(frozen=True)
class BreakerView:
    """One account's circuit breaker as the gate sees it now."""

    state: BreakerState
    probe_in_s: float | None  # open: seconds until a call may probe; else None
    probing: bool  # half-open with a probe call in flight (its lease not yet run out)
    probe_lease_left_s: float | None  # probing: seconds left on the probe's lease
    failures: int  # consecutive outage failures counted by the breaker
    opened: int  # the breaker's ``opened`` counter


@dataclass(frozen=True)
class RateView:
    """One account's shared rate limit (GCRA) and how far ahead its slots are taken."""

    per_s: float
    burst: int
    default: bool  # True: the provider's default, the account sets no limit of its own
    booked_ahead_s: float  # slots held up to this far in the future (0: none)


@dataclass(frozen=True)
class BacklogView:
    """Bulk commands of one account waiting their turn (they hold no slot, no message)."""

    depth: int
    oldest_age_s: float | None  # since the oldest one waiting was admitted; None: empty
    eta_s: float | None  # until the backlog is through at its measured rate; None: empty


@dataclass(frozen=True)
class ProviderStatus:
    """Flow control of one configured account."""

    account: str
    provider: str
    breaker: BreakerView
    paused: bool  # a 429 paused the account for every worker
    pause_left_s: float
    rate: RateView
    backlog: BacklogView
    operator: AccountPause  # an operator's pause (the account's or its provider's), held commands

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for ``--json``."""
        return asdict(self)


def effective_rate(account: Account) -> tuple[float, int, bool]:
    """``(per_s, burst, is_default)`` the gate applies to ``account`` (as ``FlowControl.gate``)."""
    per_s, burst = DEFAULT_RATES[account.provider]
    default = account.rate_per_s is None and account.burst is None
    return account.rate_per_s or per_s, account.burst or burst, default


def read_provider_status(settings: Settings, flow: FlowControl) -> list[ProviderStatus]:
    """The flow-control state of every configured account, by account name."""
    client = flow.client
    now_ms = redis_now_ms(client)
    backlogs = {b.account: b for b in Backlogs(client, settings.accounts, flow=flow).depths()}
    operator = {p.account: p for p in account_pauses(client, settings)}
    rows = []
    for name, account in sorted(settings.accounts.items()):
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(keys.breaker(account.provider, name))
        pipe.pttl(keys.rate_pause(account.provider, name))
        pipe.get(keys.rate(account.provider, name))
        breaker, pause_ms, tat = pipe.execute()
        per_s, burst, default = effective_rate(account)
        booked_ms = max(0, int(float(tat)) - now_ms) if tat else 0
        rows.append(
            ProviderStatus(
                account=name,
                provider=account.provider,
                breaker=breaker_view(breaker, now_ms),
                paused=pause_ms > 0,
                pause_left_s=_s(max(0, pause_ms)),
                rate=RateView(per_s, burst, default, _s(booked_ms)),
                backlog=backlog_view(backlogs.get(name), now_ms),
                operator=operator[name],
            )
        )
    return rows


def backlog_view(depth: BacklogDepth | None, now_ms: int) -> BacklogView:
    """The backlog as operators read it: how many, since when, done when at the limit."""
    if depth is None:
        return BacklogView(0, None, None)
    age_s = _s(max(0, now_ms - depth.oldest_ms)) if depth.oldest_ms is not None else None
    eta_s = round(depth.eta_s, 1) if depth.eta_s is not None else None
    return BacklogView(depth.depth, age_s, eta_s)


def breaker_view(fields: dict[str, str], now_ms: int) -> BreakerView:
    """The breaker as ``claim.lua``'s gate reads ``fields`` at ``now_ms`` (Redis time)."""
    failures, opened = int(fields.get("failures", 0)), int(fields.get("opened", 0))
    if fields.get("state") != "open":
        return BreakerView(BreakerState.CLOSED, None, False, None, failures, opened)
    open_until = int(fields.get("open_until", 0))
    if now_ms < open_until:
        return BreakerView(
            BreakerState.OPEN, _s(open_until - now_ms), False, None, failures, opened
        )
    probe_until = int(fields.get("probe_until", 0))
    probing = now_ms < probe_until
    lease_left = _s(probe_until - now_ms) if probing else None
    return BreakerView(BreakerState.HALF_OPEN, None, probing, lease_left, failures, opened)


def providers_table(rows: list[ProviderStatus]) -> Table:
    """One row per account: breaker, failures, times opened, 429 pause, rate limit."""
    table = Table(title="provider accounts", title_justify="left")
    columns = ("account", "provider", "breaker", "failures", "opened", "429 pause", "rate")
    for column in (*columns, "bulk backlog", "operator pause"):
        table.add_column(column, overflow="fold")
    for row in rows:
        rate = f"{row.rate.per_s:g}/s burst {row.rate.burst}"
        rate += " (default)" if row.rate.default else ""
        rate += f", booked {row.rate.booked_ahead_s:g} s ahead" if row.rate.booked_ahead_s else ""
        table.add_row(
            row.account,
            row.provider,
            _breaker_text(row.breaker),
            str(row.breaker.failures),
            str(row.breaker.opened),
            f"[yellow]paused, {row.pause_left_s:g} s left[/]" if row.paused else "-",
            rate,
            backlog_text(row.backlog),
            operator_text(row.operator),
        )
    return table


def backlog_text(backlog: BacklogView) -> str:
    """``120 waiting, oldest 35 s, ETA 60 s`` or ``-``."""
    if not backlog.depth:
        return "-"
    text = f"{backlog.depth} waiting"
    text += f", oldest {backlog.oldest_age_s:g} s" if backlog.oldest_age_s is not None else ""
    return text + (f", ETA {backlog.eta_s:g} s" if backlog.eta_s is not None else "")


def operator_text(pause: AccountPause) -> str:
    """``paused by ann (provider): why, 3 held``, ``resuming: 2 held to release`` or ``-``."""
    if pause.state == "paused":
        whose = " (provider)" if pause.by_provider else ""
        return f"[red]paused[/] by {pause.actor}{whose}: {pause.why}, {pause.held} held"
    if pause.state == "draining":
        return f"[yellow]resuming[/]: {pause.held} held to release in order"
    return "-"


def _breaker_text(breaker: BreakerView) -> str:
    if breaker.state is BreakerState.OPEN:
        return f"[red]open[/], probe in {breaker.probe_in_s:g} s"
    if breaker.state is BreakerState.HALF_OPEN and breaker.probing:
        return f"[yellow]half-open[/], probe in flight ({breaker.probe_lease_left_s:g} s lease)"
    if breaker.state is BreakerState.HALF_OPEN:
        return "[yellow]half-open[/], the next call probes"
    return "[green]closed[/]"


def _s(ms: int) -> float:
    return round(ms / 1000, 3)
