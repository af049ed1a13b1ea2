"""A bulk batch's page: live progress by state and dead reason, cancel, the result file.

The same batch as ``ordercmd batch status|watch|cancel|export``, read and changed by the same
code (``producer.batches``, ``producer.bulk_progress``, ``producer.bulk_export``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse

from producer.batches import Batches, UnknownBatch
from producer.bulk_export import ExportFormat, result_lines
from producer.bulk_progress import MISSING, UNREAD, BatchProgress, ProgressReader
from schemas import CommandState
from web.auth import Principal
from web.guards import form_operator, page_user
from web.render import SECURITY_HEADERS, redirect, render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
BATCH_ID = re.compile(r"[A-Za-z0-9._:-]{1,80}")
STATES = [*CommandState, MISSING, UNREAD]
READERS_KEPT = 4  # batches whose commands' states this process remembers between polls
READ_BUDGET = 5000  # commands re-read per poll: ~0.1 s, whatever the batch's size
_MAKING = threading.Lock()


class Readers:
    """Progress readers of the batches watched lately: a poll re-reads only unfinished commands."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: OrderedDict[str, tuple[threading.Lock, ProgressReader]] = OrderedDict()

    def read(self, batches: Batches, batch_id: str) -> BatchProgress:
        """The batch's progress now.

        Raises:
            UnknownBatch: no such batch.
        """
        with self._lock:
            entry = self._readers.pop(batch_id, None)
            if entry is None:
                entry = (threading.Lock(), ProgressReader(batches, batch_id, budget=READ_BUDGET))
            self._readers[batch_id] = entry
            while len(self._readers) > READERS_KEPT:
                self._readers.popitem(last=False)
        lock, reader = entry
        with lock:
            return reader.read()


def readers_of(request: Request) -> Readers:
    """The app's readers, made on first use."""
    with _MAKING:
        readers: Readers | None = getattr(request.app.state, "bulk_readers", None)
        if readers is None:
            readers = request.app.state.bulk_readers = Readers()
    return readers


def progress_of(request: Request, state: AppState, batch_id: str) -> BatchProgress:
    """The batch's progress, through this app's readers.

    Raises:
        HTTPException: 404 when there is no such batch.
    """
    if not BATCH_ID.fullmatch(batch_id):
        raise HTTPException(404, f"no batch {batch_id}")
    try:
        progress = readers_of(request).read(Batches(state.store), batch_id)
    except UnknownBatch as exc:
        raise HTTPException(404, str(exc)) from None
    return progress


def as_json(progress: BatchProgress) -> dict[str, Any]:
    """What the batch page shows and its refresh reads."""
    meta = progress.meta
    return {
        "batch_id": meta.batch_id,
        "admission": meta.state,
        "rows": meta.rows,
        "admitted": {str(a): n for a, n in meta.admitted.items()},
        "commands": progress.total,
        "finished": progress.finished,
        "done": progress.done,
        "counts": {str(s): progress.counts.get(s, 0) for s in STATES},
        "dead_reasons": dict(sorted(progress.dead_reasons.items())),
        "cancelled_by": meta.cancelled_by,
        "cancel_why": meta.cancel_why,
    }


@router.get("/bulk/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request,
    batch_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """The batch: its file, who started it, its rows' admission and its commands by state."""
    progress = progress_of(request, state, batch_id)
    return render(request, "bulk_batch.html", user, meta=progress.meta, p=as_json(progress),
                  states=STATES)  # fmt: skip


@router.get("/bulk/{batch_id}/progress")
def batch_progress(
    request: Request,
    batch_id: str,
    state: Annotated[AppState, Depends(app_state)],
    _: Annotated[Principal, Depends(page_user)],
) -> JSONResponse:
    """The batch's progress as JSON, polled by its page."""
    progress = progress_of(request, state, batch_id)
    return JSONResponse(as_json(progress), headers={"Cache-Control": "no-store"})


@router.post("/bulk/{batch_id}/cancel")
def cancel(
    request: Request,
    batch_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
    why: Annotated[str, Form(min_length=1, max_length=500)],
) -> RedirectResponse:
    """Discard every command of the batch that has not started (``ordercmd batch cancel``)."""
    progress_of(request, state, batch_id)
    summary = Batches(state.store).cancel(batch_id, actor=user.name, why=why)
    return redirect(request, f"/bulk/{batch_id}", f"Cancelled: {summary.discarded} commands "
                    f"discarded before they started; {summary.untouched} had started or "
                    "finished and were left alone.")  # fmt: skip


@router.get("/bulk/{batch_id}/results.{fmt}")
def results(
    request: Request,
    batch_id: str,
    fmt: ExportFormat,
    state: Annotated[AppState, Depends(app_state)],
    _: Annotated[Principal, Depends(page_user)],
) -> StreamingResponse:
    """One line per row of the file: row, command id, admission, state, reason (streamed)."""
    progress_of(request, state, batch_id)
    media = "text/csv" if fmt is ExportFormat.CSV else "application/x-ndjson"
    name = f"batch-{batch_id}-results.{fmt}"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    lines = result_lines(Batches(state.store), batch_id, fmt)
    return StreamingResponse(lines, media_type=media, headers=headers)
