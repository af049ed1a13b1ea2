"""Drives bulk runs: plans them in chunks and acts on the ids due by each run's rate.

Every worker ticks one `RunDriver` in its main process (started beside the scheduler), so a
run needs no web process and survives restarts of any one process. Several drivers at once
are safe: the run's script leases each id to one driver at a time, counts each result once
and keeps the rate from Redis time; ids of a driver that died go out again when their lease
ends. A CLI that waits for its run drives it with `drive`, alongside any workers.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import redis
import structlog

from config.settings import Settings
from runs.bulk_runs import RUN_LEASE_S, BulkRuns, Run, RunAction, RunStatus
from runs.planning import Planner
from schemas import CommandState
from store.command_store import CommandStore
from store.deadletters import DeadLetters, NotADeadLetter
from store.dispatching import Publish, send_or_defer
from store.search import Search

log = structlog.get_logger("ordercmd.runs")

TAKE_LIMIT = 100  # ids one take hands out at most
PLAN_BUDGET_S = 0.25  # planning time one tick spends on one run at most
WAIT_CAP_S = 1.0  # a waiting CLI looks again at least this often (to see a cancel)
STALE_WAIT_S = 0.05  # a CLI that lost a planning chunk to a worker lets it go on a moment


@dataclass(frozen=True)
class Advanced:
    """What one advance did to a run: its status after, ids acted on, when to come back."""

    status: str
    acted: int
    wait_s: float


class RunDriver:
    """Moves the store's bulk runs forward a bounded step at a time."""

    def __init__(
        self, store: CommandStore, search: Search, publish: Publish, *, lease_s: float = RUN_LEASE_S
    ) -> None:
        self.runs = BulkRuns(store.client, lease_s=lease_s)
        self.planner = Planner(self.runs, search)
        self.letters = DeadLetters(store)
        self.publish = publish
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, budget_s: float = PLAN_BUDGET_S) -> int:
        """Advance every run that is planning or running once.

        Returns:
            How many commands were acted on.
        """
        return sum(
            self.advance(run_id, budget_s=budget_s).acted for run_id in self.runs.driven_ids()
        )

    def advance(self, run_id: str, *, budget_s: float = PLAN_BUDGET_S) -> Advanced:
        """Plan chunks, or take and act on what is due, for up to about ``budget_s``."""
        run = self.runs.get(run_id)
        if run is None:
            return Advanced("missing", 0, 0.0)
        deadline = time.monotonic() + budget_s
        if run.status is RunStatus.PLANNING:
            status = self.planner.step(run_id)
            while status == RunStatus.PLANNING and time.monotonic() < deadline:
                status = self.planner.step(run_id)
            return Advanced(status, 0, 0.0)
        if run.status is not RunStatus.RUNNING:
            return Advanced(run.status, 0, 0.0)
        acted = 0
        while True:  # more takes only while full ones come (a high rate, a long tick)
            taken = self.runs.take(run_id, limit=TAKE_LIMIT)
            acted += sum(self.act(run, taken.ids).values())
            if len(taken.ids) < TAKE_LIMIT or time.monotonic() >= deadline:
                return Advanced(taken.status, acted, taken.wait_s)

    def act(self, run: Run, command_ids: list[str]) -> Counter[str]:
        """Replay or discard each taken command (audited), send the messages, report results."""
        results: dict[str, str] = {}
        queued = []
        why = f"{run.why} (bulk run {run.id})"
        for command_id in command_ids:
            try:
                if run.action is RunAction.DISCARD:
                    self.letters.discard(command_id, actor=run.actor, why=why)
                    result = "discarded"
                else:
                    state = self.letters.replay(command_id, actor=run.actor, why=why, bulk=True)
                    if state is CommandState.QUEUED:
                        queued.append(command_id)
                    result = str(state)
            except NotADeadLetter:
                result = "skipped"  # replayed, discarded or expired since the plan
            results[command_id] = result
        send_or_defer(self.letters.store, self.publish, queued)
        self.runs.report(run.id, results)
        return Counter(results.values())

    def drive(self, run_id: str, *, progress: Callable[[Run], None] | None = None) -> Run:
        """Plan or run one run until it stops waiting on this process (the CLI's loop)."""
        while True:
            step = self.advance(run_id)
            if step.status not in (RunStatus.PLANNING, "take", "wait", "stale"):
                return self.runs.require(run_id)
            if progress is not None and (step.acted or step.status != "wait"):
                progress(self.runs.require(run_id))
            if step.status in ("wait", "stale"):  # stale: a worker planned that chunk first
                time.sleep(min(step.wait_s, WAIT_CAP_S) if step.status == "wait" else STALE_WAIT_S)

    def run(self, tick_s: float) -> None:
        """Tick until ``stop``; a Redis outage or a failed tick is logged, never fatal."""
        while not self._stop.wait(tick_s):
            try:
                self.run_once()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("bulk run tick failed", error=type(exc).__name__)
            except Exception:  # the loop must outlive any one bad tick
                log.exception("bulk run tick failed")

    def start(self, tick_s: float) -> None:
        """Tick in a daemon thread."""
        self._thread = threading.Thread(
            target=self.run, args=(tick_s,), name="ordercmd-runs", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop ticking and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


def run_driver(settings: Settings, store: CommandStore, publish: Publish) -> RunDriver:
    """A driver over ``store``, its search knowing the configured accounts."""
    return RunDriver(store, Search.of(store.client, settings), publish)
