"""Bulk actions: check a whole file in one streamed pass, then admit it as one batch in chunks.

Nothing is admitted until every row has been checked. The check writes each row's envelope
(or its refusal) to an anonymous spool file, so memory stays flat whatever the file's size; what
is admitted is exactly what was checked, even if the file changes meanwhile.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

from producer.api import Producer
from producer.batches import Admission, Batches, BatchState, RowResult
from producer.bulk_rows import DEFAULT_MAX_BYTES, BulkFormat, Row, read_rows
from producer.bulk_spool import Checked, Spool, SpooledRow
from producer.validation import derived_fingerprint
from providers.errors import InvalidSubmission, OrderCmdError
from schemas import CommandEnvelope
from store.clock import utcnow
from store.command_store import Admitted

CHUNK_ROWS = 1000  # rows per store round trip, both passes
MAX_PROBLEMS = 10_000  # problems kept for the report; every bad row is still counted
PREVIEW_ROWS = 5


@dataclass(frozen=True)
class Problem:
    """Why one row was refused."""

    row: int
    field: str
    reason: str


@dataclass
class BulkCheck:
    """What the checking pass found."""

    batch_id: str
    file_name: str
    rows: int = 0
    valid: int = 0  # rows that would be admitted (duplicates and existing included)
    invalid: int = 0
    duplicates: int = 0  # the same key and content as an earlier row
    existing: int = 0  # admitted before, by an earlier run: they return the existing command
    problems: list[Problem] = field(default_factory=list)
    # (provider, account, kind) -> rows to admit
    by_group: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    preview: list[tuple[int, CommandEnvelope]] = field(default_factory=list)


@dataclass
class BulkResult:
    """What the admission pass did."""

    batch_id: str
    rows: Counter[Admission] = field(default_factory=Counter)
    cancelled: bool = False  # someone cancelled the batch while it was being admitted


class BulkRefused(OrderCmdError):
    """The file has invalid rows and ``skip_invalid`` was not asked for: nothing admitted."""


def new_batch_id() -> str:
    """A sortable, unique batch id: ``20261123-120000-3fa9c1``."""
    return f"{utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


class BulkRun:
    """One bulk file: ``check`` it (nothing admitted), then ``admit`` it as a batch."""

    def __init__(
        self,
        producer: Producer,
        *,
        file_name: str,
        fmt: BulkFormat,
        max_bytes: int = DEFAULT_MAX_BYTES,
        batch_id: str | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.producer = producer
        self.chunk_rows = chunk_rows
        self.fmt = fmt
        self.max_bytes = max_bytes
        self.report = BulkCheck(batch_id or new_batch_id(), file_name)
        self._spool = Spool()
        # key digest -> (row << 64) | 64 bits of the fingerprint: small, whatever the keys
        self._seen: dict[bytes, int] = {}

    def __enter__(self) -> BulkRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._spool.close()

    def check(self, source: IO[bytes]) -> BulkCheck:
        """Read and check every row; nothing is admitted.

        Raises:
            BulkFileError: the file as a whole is unusable (size, encoding, CSV header).
        """
        pending: list[Checked] = []
        for row in read_rows(source, self.fmt, max_bytes=self.max_bytes):
            self.report.rows += 1
            pending.append(self._check_row(row))
            if len(pending) >= self.chunk_rows:
                self._flush(pending)
                pending = []
        self._flush(pending)
        self._seen.clear()
        return self.report

    def admit(self, batches: Batches, *, actor: str, skip_invalid: bool = False) -> BulkResult:
        """Admit the checked rows as one batch, in chunks; invalid rows are recorded, not sent.

        Raises:
            BulkRefused: there are invalid rows and ``skip_invalid`` is false.
        """
        report = self.report
        if report.invalid and not skip_invalid:
            raise BulkRefused(
                f"{report.invalid} of {report.rows} rows are invalid: nothing was admitted"
            )
        result = BulkResult(report.batch_id)
        batches.create(report.batch_id, file_name=report.file_name, rows=report.rows, actor=actor)
        try:
            for chunk in self._spool.chunks(self.chunk_rows):
                if batches.cancelled(report.batch_id):
                    result.cancelled = True
                    break
                rows, new_ids = self._admit_chunk(chunk)
                batches.append(report.batch_id, rows, new_ids)
                result.rows.update(r.admission for r in rows)
        except BaseException:
            batches.finish(report.batch_id, BatchState.FAILED)
            raise
        batches.finish(report.batch_id, BatchState.ADMITTED)
        return result

    def _check_row(self, row: Row) -> Checked:
        if row.problems:
            return Checked(row.number, problems=row.problems)
        try:
            envelope = self.producer.envelope(
                row.data,
                idempotency_key=row.idempotency_key,
                source=f"bulk:{self.report.batch_id}",
                batch_id=self.report.batch_id,
            )
        except InvalidSubmission as exc:
            return Checked(row.number, problems=exc.problems)
        derived = row.idempotency_key is None
        fingerprint = derived_fingerprint(envelope) if derived else envelope.fingerprint()
        digest = hashlib.blake2b(envelope.idempotency_key.encode(), digest_size=16).digest()
        mark = int(fingerprint[:16], 16)
        earlier = self._seen.setdefault(digest, (row.number << 64) | mark)
        if earlier >> 64 == row.number:
            return Checked(row.number, envelope, fingerprint)
        if earlier & (2**64 - 1) == mark:
            return Checked(row.number, envelope, fingerprint, duplicate_of=earlier >> 64)
        reason = f"{envelope.idempotency_key!r} is used by row {earlier >> 64} for other content"
        return Checked(row.number, problems=[("idempotency_key", reason)])

    def _flush(self, checked: list[Checked]) -> None:
        """Check keys against the store, count, and spool a chunk of checked rows in order."""
        valid = [c for c in checked if c.envelope is not None]
        known = self.producer.store.known_keys([c.key for c in valid])
        for entry, seen in zip(valid, known, strict=True):
            if seen is not None and seen.fingerprint != entry.fingerprint:
                reason = f"{entry.key!r} was admitted before for other content ({seen.command_id})"
                entry.refuse([("idempotency_key", reason)])
            elif seen is not None and entry.duplicate_of is None:
                self.report.existing += 1
        for entry in checked:
            self._count(entry)
            self._spool.write(entry)

    def _count(self, entry: Checked) -> None:
        report = self.report
        if entry.envelope is None:
            report.invalid += 1
            room = MAX_PROBLEMS - len(report.problems)
            report.problems += [Problem(entry.row, f, r) for f, r in entry.problems[:room]]
            return
        report.valid += 1
        if entry.duplicate_of is not None:
            report.duplicates += 1
            return
        command = entry.envelope.command
        report.by_group[(str(command.provider), command.account, command.kind)] += 1
        if len(report.preview) < PREVIEW_ROWS:
            report.preview.append((entry.row, entry.envelope))

    def _admit_chunk(self, chunk: list[SpooledRow]) -> tuple[list[RowResult], list[str]]:
        items = [s.prepared for s in chunk if s.prepared is not None]
        submissions = iter(self.producer.admit_prepared(items))
        rows: list[RowResult] = []
        new_ids: list[str] = []
        for row, prepared, duplicate_of, note in chunk:
            if prepared is None:
                rows.append(RowResult(row, "", Admission.INVALID, note))
                continue
            submission = next(submissions)
            if submission.admitted is Admitted.CONFLICT:
                note = f"key admitted before for other content ({submission.command_id})"
                rows.append(RowResult(row, "", Admission.CONFLICT, note))
            elif duplicate_of:
                note = f"same as row {duplicate_of}"
                rows.append(RowResult(row, submission.command_id, Admission.DUPLICATE, note))
            else:
                rows.append(RowResult(row, submission.command_id, Admission(submission.admitted)))
                new_ids.append(submission.command_id)
        return rows, new_ids


def preview_data(envelope: CommandEnvelope) -> dict[str, Any]:
    """An envelope as a dry run shows it: key, source and the command's fields."""
    return {
        "idempotency_key": envelope.idempotency_key,
        "source": envelope.source,
        "command": envelope.command.model_dump(mode="json", exclude_none=True),
    }
