"""A batch's per-row result file (CSV or JSONL): row, command id, admission, state, reason."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import IO, Any

from producer.batches import Admission, Batches, RowResult

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
    if fmt is ExportFormat.CSV:
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for result in row_results(batches, batch_id):
            writer.writerow(result)
            written += 1
    else:
        for result in row_results(batches, batch_id):
            out.write(json.dumps(result) + "\n")
            written += 1
    return written
