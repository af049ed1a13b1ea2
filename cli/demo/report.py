"""The demo's closing report: outcomes by category, retries, and commands to inspect this run."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.demo.env import DemoRedis
from redisconn.client import redact_url
from schemas import Attempt, AttemptOutcome, CommandRecord, CommandState

NOTE_CHARS = 120


def summary_table(records: Sequence[CommandRecord], submitted: int) -> Table:
    """Succeeded, already done, dead-lettered by reason (these add up), then the retried."""
    table = Table(title="ordercmd demo: outcomes", title_justify="left")
    table.add_column("outcome")
    table.add_column("commands", justify="right")
    table.add_column("what happened", overflow="fold")
    by_state = Counter(r.state for r in records)
    table.add_row("[green]succeeded[/]", str(by_state[CommandState.SUCCEEDED]), "done once")
    table.add_row(
        "[green]already done[/]",
        str(by_state[CommandState.ALREADY_DONE]),
        "the order already showed it: reconciled by reading the order, nothing re-sent",
    )
    dead = [r for r in records if r.state is CommandState.DEAD]
    for reason, count in sorted(Counter(str(r.dead_reason) for r in dead).items()):
        example = next(r for r in dead if str(r.dead_reason) == reason)
        note = textwrap.shorten(example.last_message, NOTE_CHARS, placeholder="…")
        table.add_row(f"[red]dead: {reason}[/]", str(count), note)
    unfinished = submitted - sum(1 for r in records if r.terminal)
    if unfinished:
        table.add_row(
            "[yellow]unfinished[/]", str(unfinished), "not finished when the demo stopped"
        )
    table.add_section()
    table.add_row("[bold]submitted[/]", str(submitted), "")
    table.add_section()
    retried = [r for r in records if len(r.attempts) > 1]
    attempts = sum(len(r.attempts) for r in retried)
    table.add_row(
        "[yellow]retried[/]",
        str(len(retried)),
        f"of the above, needed more than one attempt: {attempts} attempts in all; "
        f"retried after {_retry_causes(retried)}",
    )
    return table


def _retry_causes(records: Sequence[CommandRecord]) -> str:
    causes = Counter(
        _cause(a)
        for r in records
        for a in r.attempts
        if a.outcome in (AttemptOutcome.RETRY, AttemptOutcome.RATE_LIMITED)
    )
    return ", ".join(f"{cause} ({n})" for cause, n in causes.most_common()) or "nothing"


def _cause(attempt: Attempt) -> str:
    if attempt.outcome is AttemptOutcome.RATE_LIMITED:
        return "429 rate limit"
    if attempt.http_status is None:
        return "no reply"
    if attempt.http_status >= 500:
        return "5xx"
    return str(attempt.http_status)


def print_inspect(
    console: Console, records: Sequence[CommandRecord], redis: DemoRedis, *, keep_running: bool
) -> None:
    """Print commands, with ids of this run, that look at it with the ordinary CLI."""
    prefix, note = _redis_prefix(redis)
    prefix += ordercmd_program() + " "
    retried = max(records, key=lambda r: len(r.attempts), default=None)
    dead = next((r for r in records if r.state is CommandState.DEAD), None)
    lines: list[tuple[str, str]] = []
    if retried is not None:
        lines.append((f"status {retried.id}", f"{len(retried.attempts)} attempts"))
        lane = retried.envelope.command.lane
        lines.append((f"status --order {lane}", "every command of that order"))
    lines.append(("dlq list", "dead letters, newest first"))
    if dead is not None:
        lines.append((f"dlq list --reason {dead.dead_reason}", ""))
        lines.append((f"dlq show {dead.id}", "its full attempt history"))
    console.print(f"\n[bold]Inspect this run[/] {note}")
    for command, comment in lines:
        text = Text(f"  {prefix}{command}")
        text.append(f"   # {comment}" if comment else "", style="dim")
        console.print(text, soft_wrap=True)
    if redis.data_dir is not None and not keep_running:
        console.print(
            "[dim]The demo's Redis stops with the demo, so these work while it runs: use "
            "`ordercmd demo --keep-running` and paste them in another terminal.[/]",
        )


def ordercmd_program() -> str:
    """How to run ``ordercmd`` from here, as printed: bare when on PATH, else its path.

    ``make demo`` runs ``.venv/bin/ordercmd`` without activating the venv, so a bare
    ``ordercmd`` would not be found in the user's shell.
    """
    return _program("ordercmd")


def python_program() -> str:
    """How to run this Python (the venv's, which has httpx) from here, as printed."""
    return _program(Path(sys.executable).name)


def _program(name: str) -> str:
    script = Path(sys.executable).with_name(name)  # the venv's, beside its python
    found = shutil.which(name)
    if found and Path(found).resolve() == script.resolve():
        return name
    with contextlib.suppress(ValueError):
        return str(script.relative_to(Path.cwd()))
    return str(script)


def _redis_prefix(redis: DemoRedis) -> tuple[str, str]:
    """What to put before each command so that it reads the demo's Redis, and a note."""
    if redis.data_dir is not None:
        return f"ORDERCMD_REDIS_URL={redis.url} ", "(on the demo's Redis):"
    if redact_url(redis.url) == redis.url:
        return f"ORDERCMD_REDIS_URL={shlex.quote(redis.url)} ", "(on your Redis):"
    return "", "(with your ORDERCMD_REDIS_URL exported):"
