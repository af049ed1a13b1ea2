"""Bulk files on the dashboard: upload (checked like ``ordercmd bulk``), preview, start.

The upload is checked by the CLI's own ``BulkRun`` and kept as a draft (``web.bulk_drafts``):
the preview lists every refused row and counts the rest; nothing is admitted. Starting checks
the draft again and admits it as the batch named by the draft's id, once: a second start (a
double click, a second tab) finds the batch and admits nothing.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

import redis
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from producer.batches import Batches, BatchExists, UnknownBatch
from producer.bulk import BulkRun
from producer.bulk_export import problem_lines
from producer.bulk_rows import BulkFileError, BulkFormat, detect_format
from providers.errors import StoreUnavailable
from web.auth import Principal
from web.bulk_drafts import Draft, DraftReport, Drafts, too_large
from web.guards import check_form, form_operator, page_user, session_user
from web.render import SECURITY_HEADERS, redirect, render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields, beyond the file
SHOWN_PROBLEMS = 500
RECENT_BATCHES = 20


def drafts_of(state: AppState) -> Drafts:
    """The app's drafts directory."""
    return Drafts(state.settings.web.bulk)


def upload_page(
    request: Request, state: AppState, user: Principal, *, error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The upload form and the newest batches, with ``error`` shown as an error."""
    return render(request, "bulk.html", user, status_code, error=error,
                  max_bytes=state.settings.web.bulk.max_bytes,
                  batches=Batches(state.store).recent(RECENT_BATCHES))  # fmt: skip


@router.get("/bulk", response_class=HTMLResponse)
def bulk_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """Upload a bulk file (operators), and the recent batches (everyone)."""
    return upload_page(request, state, user)


@router.post("/bulk")
async def upload(request: Request, state: Annotated[AppState, Depends(app_state)]) -> Response:
    """Check an uploaded CSV or JSONL file row by row and keep it as a draft; admit nothing.

    Who and how big are checked before the body is read: 401 without a session, 403 for a
    viewer, 411 without a length, 413 over ``web.bulk.max_bytes``; then CSRF (403).
    """
    user = session_user(request, state)
    if user is None:
        raise HTTPException(401, "sign in first")
    if not user.can_act:
        raise HTTPException(403, f"{user.name} is a viewer and cannot act")
    limit = state.settings.web.bulk.max_bytes
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return upload_page(request, state, user, status_code=411,
                           error="file: the upload must declare its length")  # fmt: skip
    if int(declared) > limit + FORM_OVERHEAD:
        return upload_page(request, state, user, error=f"file: {too_large(limit)}",
                           status_code=413)  # fmt: skip
    try:
        await check_form(request)
        return await _upload(request, state, user)
    finally:
        await request.close()  # the form's spooled file


async def _upload(request: Request, state: AppState, user: Principal) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return upload_page(request, state, user, error="file: choose a CSV or JSONL file",
                           status_code=422)  # fmt: skip
    name = PurePath(upload.filename.replace("\\", "/")).name[:200] or "upload"
    chosen = str(form.get("format") or "")
    try:
        fmt = detect_format(name, chosen if chosen in ("csv", "jsonl") else None)
    except BulkFileError:
        reason = f"{name}: not a .csv or .jsonl file name; rename it or choose its format"
        return upload_page(request, state, user, error=f"file: {reason}", status_code=422)
    try:
        draft = await run_in_threadpool(_save_and_check, state, upload, name, fmt, user.name)
    except BulkFileError as exc:
        status = 413 if "larger than the limit" in str(exc) else 422
        return upload_page(request, state, user, error=f"file: {exc}", status_code=status)
    return redirect(request, f"/bulk/drafts/{draft.id}")


def _save_and_check(
    state: AppState, upload: UploadFile, name: str, fmt: BulkFormat, actor: str
) -> Draft:
    """Keep the upload as a draft and check it; a file refused whole is not kept.

    Raises:
        BulkFileError: over the limit, not UTF-8, a bad CSV header, or no rows.
    """
    drafts = drafts_of(state)
    draft = drafts.save(upload.file, file_name=name, fmt=fmt, uploaded_by=actor)
    try:
        draft.report = _check(state, draft, drafts)
        if not draft.report.rows:
            raise BulkFileError("the file has no rows: nothing to admit")
    except BaseException:
        drafts.remove(draft.id)
        raise
    drafts.write(draft)
    return draft


def _check(state: AppState, draft: Draft, drafts: Drafts) -> DraftReport:
    """What ``ordercmd bulk --dry-run`` finds in the draft's file."""
    with _run(state, draft) as run, drafts.data_path(draft.id).open("rb") as source:
        return DraftReport.of(run.check(source))


def _run(state: AppState, draft: Draft) -> BulkRun:
    return BulkRun(state.producer, file_name=draft.file_name, fmt=draft.fmt,
                   max_bytes=state.settings.web.bulk.max_bytes, batch_id=draft.id)  # fmt: skip


def _draft(state: AppState, draft_id: str) -> Draft:
    """A checked draft.

    Raises:
        HTTPException: 404 when unknown, started or expired.
    """
    draft = drafts_of(state).get(draft_id)
    if draft is None or draft.report is None:
        raise HTTPException(404, f"no upload {draft_id} (unknown, started, or expired)")
    return draft


def _started(state: AppState, draft_id: str) -> bool:
    try:
        Batches(state.store).meta(draft_id)
    except UnknownBatch:
        return False
    return True


@router.get("/bulk/drafts/{draft_id}", response_class=HTMLResponse)
def preview(
    request: Request,
    draft_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> Response:
    """The dry run: counts by provider, account and kind, every refused row; nothing admitted."""
    if _started(state, draft_id):
        return redirect(request, f"/bulk/{draft_id}")
    draft = _draft(state, draft_id)
    report = draft.report
    assert report is not None
    shown = report.problems[:SHOWN_PROBLEMS]
    return render(request, "bulk_draft.html", user, draft=draft, report=report, problems=shown)


@router.get("/bulk/drafts/{draft_id}/problems.csv")
def problems_file(
    draft_id: str,
    state: Annotated[AppState, Depends(app_state)],
    _: Annotated[Principal, Depends(page_user)],
) -> StreamingResponse:
    """Every refused row as ``row,field,reason`` (what ``ordercmd bulk --errors`` writes)."""
    report = _draft(state, draft_id).report
    assert report is not None
    disposition = f'attachment; filename="problems-{draft_id}.csv"'
    headers = {**SECURITY_HEADERS, "Content-Disposition": disposition}
    lines = problem_lines(report.problem_list())
    return StreamingResponse(lines, media_type="text/csv", headers=headers)


@router.post("/bulk/drafts/{draft_id}/start")
def start(
    request: Request,
    draft_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
    skip_invalid: Annotated[bool, Form()] = False,
) -> Response:
    """Check the draft again and admit it as batch ``draft_id``, once (audited)."""
    if _started(state, draft_id):
        return redirect(request, f"/bulk/{draft_id}", "This upload was started before.")
    draft = _draft(state, draft_id)
    drafts = drafts_of(state)
    try:
        with _run(state, draft) as run, drafts.data_path(draft.id).open("rb") as source:
            check = run.check(source)
            if check.invalid and not skip_invalid:
                draft.report = DraftReport.of(check)
                drafts.write(draft)
                refused = f"Not started: {check.invalid} rows are invalid; fix the file, or start"
                return redirect(request, f"/bulk/drafts/{draft_id}", f"{refused} without them.")
            result = run.admit(Batches(state.store), actor=user.name, skip_invalid=skip_invalid)
    except BatchExists:
        return redirect(request, f"/bulk/{draft_id}", "This upload was started before.")
    except (StoreUnavailable, redis.RedisError) as exc:
        return redirect(request, f"/bulk/drafts/{draft_id}", f"The command store failed while "
                        f"admitting ({type(exc).__name__}). Rows admitted so far will run; start "
                        "the same file again as a new upload: each row's idempotency key returns "
                        "the command admitted before, so nothing is doubled.")  # fmt: skip
    except (OSError, BulkFileError) as exc:
        return redirect(request, "/bulk", f"Not started: {exc}")
    drafts.remove(draft_id)
    counts = ", ".join(f"{n} {a}" for a, n in sorted(result.rows.items()))
    return redirect(request, f"/bulk/{draft_id}", f"Batch started: {counts}.")
