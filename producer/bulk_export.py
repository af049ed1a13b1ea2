"""A batch's per-row result file (CSV or JSONL): row, command id, admission, state, reason.

``ordercmd batch export`` and the dashboard's download write the same lines (``result_lines``);
a check's problems file (row, field, reason) is ``problem_lines``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any

from producer.batches import Admission, Batches, RowResult

if TYPE_CHECKING:
    from producer.bulk import Problem

EXPORT_FIELDS = ("row", "command_id", "admission", "state", "reason")


class ExportFormat(StrEnum):
    """Formats of a batch's result file."""

    CSV = "csv"
    JSONL = "jsonl"


def row_results(batches: Batches, batch_id: str) -> Iterator[dict[str, Any]]:
    """Each row of the batch's file with its command's state now, in file order.

    ``state`` is the command's state (``missing`` once its record expired) or, for a row that
    was never admitted, ``invalid`` / ``conflict``. ``reason`` says why a row was refused, why a
    command is dead (``exhausted: <last message>``), or which row a duplicate repeats.

    Raises:
        UnknownBatch: no such batch.
    """
    batches.meta(batch_id)
    fields = ["state", "dead_reason", "last_message"]
    for chunk in batches.rows(batch_id):
        admitted = [r for r in chunk if r.command_id]
        records = batches.store.command_fields([r.command_id for r in admitted], fields)
        by_id = {r.command_id: f for r, f in zip(admitted, records, strict=True)}
        for row in chunk:
            yield _result(row, by_id.get(row.command_id))


def _result(row: RowResult, fields: list[str | None] | None) -> dict[str, Any]:
    if fields is None or row.admission in (Admission.INVALID, Admission.CONFLICT):
        state, reason = str(row.admission), row.note
    else:
        state_now, dead_reason, last_message = fields
        state = state_now or "missing"
        reason = f"{dead_reason}: {last_message}" if dead_reason else row.note
    return {
        "row": row.row,
        "command_id": row.command_id,
        "admission": str(row.admission),
        "state": state,
        "reason": reason,
    }


def export(batches: Batches, batch_id: str, out: IO[str], fmt: ExportFormat) -> int:
    """Write the batch's result file to ``out``, streamed.

    Returns:
        How many rows were written.

    Raises:
        UnknownBatch: no such batch.
    """
    written = 0
    for line in result_lines(batches, batch_id, fmt):
        out.write(line)
        written += 1
    return written - 1 if fmt is ExportFormat.CSV else written  # the header is no row


def result_lines(batches: Batches, batch_id: str, fmt: ExportFormat) -> Iterator[str]:
    """The result file's lines, streamed: a header (CSV only), then one line per row.

    Raises:
        UnknownBatch: no such batch (when the first line is asked for).
    """
    results = row_results(batches, batch_id)
    if fmt is ExportFormat.JSONL:
        return (json.dumps(result) + "\n" for result in results)
    return _csv_lines(EXPORT_FIELDS, ([r[f] for f in EXPORT_FIELDS] for r in results))


def problem_lines(problems: Iterable[Problem]) -> Iterator[str]:
    """A check's problems as CSV lines: ``row,field,reason``, the header first."""
    return _csv_lines(("row", "field", "reason"), ((p.row, p.field, p.reason) for p in problems))


def _csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in itertools.chain([header], rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
