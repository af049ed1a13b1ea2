"""Uploaded bulk files waiting for their start: the file and its check's report, on local disk.

An upload is a draft until an operator starts it: ``<id>.data`` (the bytes as uploaded) and
``<id>.json`` (who, when, and what the check found). The draft's id becomes its batch's id, so a
second start of the same upload finds the batch and admits nothing. Drafts left unstarted are
removed after ``web.bulk.draft_max_age_s``; a started one as soon as its batch is admitted.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from config.web import BulkUploads
from producer.bulk import BulkCheck, Problem, new_batch_id, preview_data
from producer.bulk_rows import BulkFileError, BulkFormat

DRAFT_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # new_batch_id's form; nothing else is a path
COPY_CHUNK = 1024 * 1024


@dataclass
class DraftReport:
    """What the check found, as the preview shows it."""

    rows: int
    valid: int
    invalid: int
    duplicates: int
    existing: int
    groups: list[tuple[str, str, str, int]]  # provider, account, kind, rows to admit
    problems: list[tuple[int, str, str]]  # row, field, reason (the first MAX_PROBLEMS)
    preview: list[dict[str, Any]]  # the first rows as they would be admitted

    @classmethod
    def of(cls, check: BulkCheck) -> DraftReport:
        """The report of a finished check."""
        return cls(
            rows=check.rows,
            valid=check.valid,
            invalid=check.invalid,
            duplicates=check.duplicates,
            existing=check.existing,
            groups=[(p, a, k, n) for (p, a, k), n in sorted(check.by_group.items())],
            problems=[(p.row, p.field, p.reason) for p in check.problems],
            preview=[{"row": row, **preview_data(e)} for row, e in check.preview],
        )

    def problem_list(self) -> list[Problem]:
        """The problems as the check named them."""
        return [Problem(row, name, reason) for row, name, reason in self.problems]


@dataclass
class Draft:
    """One uploaded file and what is known about it."""

    id: str
    file_name: str
    fmt: BulkFormat
    size: int
    uploaded_by: str
    uploaded_ms: int
    report: DraftReport | None = field(default=None)


def too_large(limit: int) -> str:
    """The refusal of a file over the upload limit."""
    return f"the file is larger than the limit of {limit:,} bytes ({limit / 2**20:.0f} MiB)"


class Drafts:
    """The drafts directory of this web process.

    One per host: a draft is started where it was uploaded, so several web hosts need a shared
    ``web.bulk.drafts_dir`` or sticky sessions.
    """

    def __init__(self, limits: BulkUploads) -> None:
        default = Path(tempfile.gettempdir()) / f"ordercmd-bulk-drafts-{os.getuid()}"
        self.root = limits.drafts_dir or default
        self.max_bytes = limits.max_bytes
        self.max_age_s = limits.draft_max_age_s

    def save(
        self, source: IO[bytes], *, file_name: str, fmt: BulkFormat, uploaded_by: str
    ) -> Draft:
        """Copy an upload into a new draft, refusing it past the size limit; old drafts go.

        Raises:
            BulkFileError: the file is over the limit (nothing is kept).
        """
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.sweep()
        draft = Draft(new_batch_id(), file_name, fmt, 0, uploaded_by, round(time.time() * 1000))
        path = self.data_path(draft.id)
        try:
            with path.open("xb") as out:
                while chunk := source.read(COPY_CHUNK):
                    draft.size += len(chunk)
                    if draft.size > self.max_bytes:
                        raise BulkFileError(too_large(self.max_bytes))
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.write(draft)
        return draft

    def write(self, draft: Draft) -> None:
        """Record the draft's meta and report (replacing any before)."""
        temporary = self.root / f".{draft.id}.json"
        temporary.write_text(json.dumps(asdict(draft)), encoding="utf-8")
        os.replace(temporary, self.root / f"{draft.id}.json")

    def get(self, draft_id: str) -> Draft | None:
        """The draft, if its id is well-formed and it is still here."""
        if not DRAFT_ID.fullmatch(draft_id):
            return None
        try:
            data = json.loads((self.root / f"{draft_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        report = data.pop("report")
        draft = Draft(**data)
        draft.fmt = BulkFormat(draft.fmt)
        if report is not None:
            report["groups"] = [tuple(g) for g in report["groups"]]
            report["problems"] = [tuple(p) for p in report["problems"]]
            draft.report = DraftReport(**report)
        return draft

    def data_path(self, draft_id: str) -> Path:
        """Where the draft's bytes are."""
        return self.root / f"{draft_id}.data"

    def remove(self, draft_id: str) -> None:
        """Forget the draft (its file stays readable to whoever has it open)."""
        for suffix in (".data", ".json"):
            (self.root / f"{draft_id}{suffix}").unlink(missing_ok=True)

    def sweep(self) -> None:
        """Remove drafts older than the maximum age."""
        cutoff = time.time() - self.max_age_s
        for path in self.root.glob("*.*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
            except OSError:
                continue
