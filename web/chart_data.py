"""The overview's charts as data: one series per line, a value per time bucket (None: no data)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from web.series import Bucket, Labels, quantile_ms

STATES = ("succeeded", "already_done", "dead", "discarded")
PERCENTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
Values = list[int | float | None]


def _series(label: str, values: Sequence[float | None], **extra: Any) -> dict[str, Any]:
    """One line; ``total`` sums its values (for a count: the legend's figure for the range)."""
    total = round(sum(v for v in values if v is not None), 3)
    return {"label": label, "values": values, "total": total, **extra}


def _chart(chart_id: str, title: str, unit: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": chart_id, "title": title, "unit": unit, "series": lines}


def _labels_of(buckets: list[Bucket], family: str, index: int) -> list[str]:
    """The distinct values of label ``index`` of ``family`` in any bucket, sorted."""
    found = {k[index] for b in buckets for k in b.counts if k[0] == family and len(k) > index}
    return sorted(found)


def _done(labels: Labels) -> bool:
    """An outcome field as the scripts write it now (older hours lack latency and reason)."""
    return len(labels) == 5


def _dead(labels: Labels) -> bool:
    return _done(labels) and labels[2] == "dead"


def outcomes(buckets: list[Bucket], per: str) -> dict[str, Any]:
    """Finished commands by state (discards too) per bucket."""
    lines = []
    for state in STATES:
        if state == "discarded":
            values: Values = [b.total("discarded") for b in buckets]
        else:
            values = [b.total("done", {2: state}) for b in buckets]
        lines.append(_series(state, values))
    return _chart("outcomes", "Outcomes by state", f"commands per {per}", lines)


def retries_and_waits(buckets: list[Bucket], per: str) -> dict[str, Any]:
    """Retries scheduled, and waits by why (rate, paused, open, probing, backlog)."""
    lines = [_series("retries", [b.total("retry") for b in buckets])]
    for why in _labels_of(buckets, "wait", 3):
        values = [b.total("wait", {2: why}) for b in buckets]
        lines.append(_series(f"waits: {why}", values))
    return _chart("retries", "Retries and waits", f"commands per {per}", lines)


def dead_letters(buckets: list[Bucket], per: str) -> dict[str, Any]:
    """Dead letters by reason per bucket (the inflow of the dead-letter queue)."""
    reasons = sorted({k[5] for b in buckets for k in b.counts if k[0] == "done" and _dead(k[1:])})
    lines = [_series(r, [b.total("done", {2: "dead", 4: r}) for b in buckets]) for r in reasons]
    return _chart("dead", "Dead-letter inflow by reason", f"dead letters per {per}", lines)


def latency(buckets: list[Bucket]) -> list[dict[str, Any]]:
    """Per provider: p50, p95 and p99 of admission-to-end latency per bucket, in seconds."""
    charts = []
    for provider in _labels_of(buckets, "done", 1):
        histograms = [_histogram(b.counts, provider) for b in buckets]
        lines = [
            _series(name, [_seconds(quantile_ms(h, q)) for h in histograms])
            for name, q in PERCENTILES
        ]
        chart = _chart(f"latency-{provider}", f"Latency of {provider}, admission to end",
                       "seconds", lines)  # fmt: skip
        chart["observations"] = sum(sum(h.values()) for h in histograms)
        charts.append(chart)
    return charts


def _histogram(counts: Counter[Labels], provider: str) -> dict[str, int]:
    out: Counter[str] = Counter()
    for k, n in counts.items():
        if k[0] == "done" and _done(k[1:]) and k[1] == provider:
            out[k[4]] += n
    return dict(out)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)


def rate_use(buckets: list[Bucket], step_ms: int) -> dict[str, Any]:
    """Per account: calls let through its rate limit per bucket, as a share of the limit.

    The limit is the bucket's length over the account's interval (as the claim reported it);
    a bucket without calls uses the latest interval seen.
    """
    lines = []
    for provider, account in sorted({k[1:3] for b in buckets for k in b.counts if k[0] == "call"}):
        mine = [{int(k[3]): n for k, n in b.counts.items() if k[:3] == ("call", provider, account)}
                for b in buckets]  # fmt: skip
        latest = next(min(m) for m in reversed(mine) if m)
        calls: Values = [
            sum(m.values()) if b.covered else None for m, b in zip(mine, buckets, strict=True)
        ]
        limits = [step_ms // min(m) if m else step_ms // latest for m in mine]
        share: Values = [None if c is None else round(100 * c / lim, 1)
                         for c, lim in zip(calls, limits, strict=True)]  # fmt: skip
        lines.append(_series(f"{provider}/{account}", share, calls=calls, limit=limits,
                             calls_total=sum(c for c in calls if c is not None)))  # fmt: skip
    return _chart("rate", "Rate-limit use per account", "% of the limit", lines)


def charts(buckets: list[Bucket], step_ms: int, per: str) -> list[dict[str, Any]]:
    """Every chart of the overview, in page order."""
    return [
        outcomes(buckets, per),
        retries_and_waits(buckets, per),
        dead_letters(buckets, per),
        *latency(buckets),
        rate_use(buckets, step_ms),
    ]
