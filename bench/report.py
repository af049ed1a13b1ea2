"""Printing: compact tables, verdicts against targets, percentiles, and the machine's facts."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns right-aligned except the first."""
    cells = [[str(h) for h in headers], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        rest = zip(row[1:], widths[1:], strict=True)
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in rest]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def verdict(ok: bool) -> str:
    """``PASS`` or ``MISS``."""
    return "PASS" if ok else "MISS"


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def steady_rate(times: Sequence[float], *, trim: float = 0.1) -> float:
    """Events per second between the ``trim`` and ``1 - trim`` quantiles of ``times``.

    Leaves out the start-up ramp (processes forking, first connections) and the tail.
    """
    ordered = sorted(times)
    first, last = int(len(ordered) * trim), int(len(ordered) * (1 - trim)) - 1
    span = ordered[last] - ordered[first]
    return (last - first) / span if span > 0 else float("nan")


def machine() -> str:
    """One line: cores, RAM, Python, Redis, date."""
    with open("/proc/meminfo") as meminfo:
        ram_kib = int(meminfo.readline().split()[1])
    redis = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    version = next((w[2:] for w in redis if w.startswith("v=")), "?")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"machine: {os.cpu_count()} cores, {ram_kib / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, Redis {version}, {now}"
    )


def header(title: str, note: str) -> None:
    """Print the benchmark's title, the machine, and what it measures."""
    print(f"== {title}")
    print(machine())
    print(note)
    print()
