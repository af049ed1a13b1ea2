"""The overview page: outcomes by provider, kind and state, retries, dead letters, the charts.

The charts' data comes from ``web/charts.py``, fetched by the page.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from schemas import CommandKind, Provider
from store import keys
from store.quarantine import Quarantine
from store.records import read_records
from store.summary import read_summary
from web import stats
from web.auth import Principal
from web.flow_view import flow_summary
from web.guards import page_user
from web.render import render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
OUTCOMES = ("succeeded", "already_done", "dead")


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """What is failing, why, and where, at a glance."""
    client = state.store.client
    now_ms = int(client.time()[0]) * 1000
    hours = stats.hourly(client, now_ms)
    families = stats.all_time(client)
    retrying = [str(i) for i in client.zrange(keys.schedule(), 0, 9)]
    summary = read_summary(client)
    by_reason = {r.value: n for r, n in summary.dead_by_reason.items()}
    return render(
        request, "overview.html", user,
        outcomes=outcome_table(hours), outcome_names=OUTCOMES,
        depths=stats.depths(client), dead_by_reason=by_reason,
        states={s.value: n for s, n in summary.states.items()},
        waiting_for={w.value: n for w, n in summary.waiting_for.items()},
        quarantined=Quarantine(client).count(),
        retrying=[r for r in read_records(client, retrying) if r],
        health=provider_health(hours[-1][1], families),
        flow={p.value: flow_summary(client, state.settings, p) for p in Provider},
    )  # fmt: skip


def outcome_table(hours: list[tuple[int, stats.Families]]) -> list[dict[str, Any]]:
    """One row per provider and kind: finished by outcome in the last hour and the last day."""
    last_hour: Counter[tuple[str, ...]] = Counter(hours[-1][1].get("done", {}))
    last_day: Counter[tuple[str, ...]] = Counter()
    for _, families in hours:
        last_day.update(families.get("done", {}))
    return [
        {"provider": p.value, "kind": k.value,
         "hour": [int(last_hour[(p.value, k.value, o)]) for o in OUTCOMES],
         "day": [int(last_day[(p.value, k.value, o)]) for o in OUTCOMES]}
        for p in Provider for k in CommandKind
    ]  # fmt: skip


def provider_health(last_hour: stats.Families, families: stats.Families) -> list[dict[str, Any]]:
    """Per provider: last hour's success rate and latency quantiles."""
    rows = []
    for provider in Provider:
        done = {k: v for k, v in last_hour.get("done", {}).items() if k[0] == provider.value}
        total = sum(done.values())
        ok = sum(v for k, v in done.items() if k[2] in ("succeeded", "already_done"))
        cumulative = stats.histogram(families.get("latency_ms", {}), provider.value)
        rows.append({
            "provider": provider.value, "finished": int(total),
            "success": f"{ok / total:.0%}" if total else "no data",
            "p50": stats.quantile(cumulative, 0.5), "p95": stats.quantile(cumulative, 0.95),
        })  # fmt: skip
    return rows
