"""Live progress of the demo's commands: records polled in batches, shown as a bar and counts.

On a terminal the view is a rich ``Live`` display; otherwise (a pipe, a CI log) one plain
``progress:`` line is printed about every second.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import redis
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cli.output import STATE_STYLES
from schemas import CommandRecord, CommandState
from store.records import read_records

POLL_S = 0.25  # between two reads of the records
BATCH = 500  # records per pipelined read
PLAIN_EVERY_S = 1.0  # between two progress lines when not on a terminal
STATE_ORDER = [s.value for s in CommandState]

Show = Callable[["Tracker", float], None]


class Tracker:
    """The latest record of each submitted command; only unfinished ones are read again."""

    def __init__(self, client: redis.Redis, command_ids: Sequence[str]) -> None:
        self.client = client
        self.ids = list(dict.fromkeys(command_ids))
        self.records: dict[str, CommandRecord] = {}

    def poll(self) -> None:
        """Read the records of every command not yet finished, ``BATCH`` at a time."""
        pending = [i for i in self.ids if i not in self.records or not self.records[i].terminal]
        for start in range(0, len(pending), BATCH):
            batch = pending[start : start + BATCH]
            for command_id, record in zip(batch, read_records(self.client, batch), strict=True):
                if record is not None:
                    self.records[command_id] = record

    @property
    def finished(self) -> int:
        """How many commands reached an end state."""
        return sum(1 for r in self.records.values() if r.terminal)

    @property
    def complete(self) -> bool:
        """Whether every command reached an end state."""
        return self.finished == len(self.ids)

    def by_state(self) -> Counter[str]:
        """Commands per state (a record not yet readable counts as queued)."""
        counts = Counter(str(r.state) for r in self.records.values())
        counts[CommandState.QUEUED] += len(self.ids) - len(self.records)
        return counts


def watch(
    tracker: Tracker, console: Console, *, check: Callable[[], None], timeout_s: float
) -> bool:
    """Poll and show progress until every command finished (True) or ``timeout_s`` (False).

    Args:
        tracker: the commands to follow.
        console: where to show progress.
        check: called each round; raises to stop watching (the worker died).
        timeout_s: how long to wait for every command to finish.
    """
    started = time.monotonic()
    with _display(console) as show:
        while True:
            tracker.poll()
            elapsed_s = time.monotonic() - started
            show(tracker, elapsed_s)
            if tracker.complete:
                return True
            check()
            if elapsed_s > timeout_s:
                return False
            time.sleep(POLL_S)


def counts_text(tracker: Tracker) -> Text:
    """``succeeded 120  retrying 4  ...`` in the states' colours."""
    counts = tracker.by_state()
    text = Text()
    for state in STATE_ORDER:
        if counts[state]:
            text.append(f"{state} ", style=STATE_STYLES.get(state, ""))
            text.append(f"{counts[state]}  ")
    return text


def _view(tracker: Tracker, elapsed_s: float) -> RenderableType:
    total = len(tracker.ids)
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=total, completed=tracker.finished, width=40),
        f"{tracker.finished}/{total} finished",
        f"[dim]{elapsed_s:.1f} s[/]",
    )
    return Group(bar, counts_text(tracker))


@contextlib.contextmanager
def _display(console: Console) -> Iterator[Show]:
    if console.is_terminal:
        with Live(console=console, refresh_per_second=8, transient=False) as live:
            yield lambda tracker, elapsed_s: live.update(_view(tracker, elapsed_s))
        return
    last = [-PLAIN_EVERY_S]

    def show(tracker: Tracker, elapsed_s: float) -> None:
        if elapsed_s - last[0] >= PLAIN_EVERY_S or tracker.complete:
            last[0] = elapsed_s
            line = f"progress: {tracker.finished}/{len(tracker.ids)} finished after "
            line += f"{elapsed_s:.1f} s: {counts_text(tracker).plain.strip()}"
            console.print(line, highlight=False, soft_wrap=True)

    yield show
