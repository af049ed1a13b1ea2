"""Reads bulk files (CSV or JSONL, UTF-8) row by row into command inputs, naming each bad field.

Columns (CSV) and fields (JSONL) are the same names:

===============  ========  =================================================================
name             needed    value
===============  ========  =================================================================
kind             always    ``cancel``, ``update`` or ``refund``
provider         always    ``backd``, ``shoplazza`` or ``fastpod``
account          always    an account name from the settings
order_id         always    the provider's order id
reason           optional  cancel / refund reason (up to 500 characters)
amount           refund    decimal with at most 2 places (``12.50``); empty = full refund
changes          update    the patch: JSON object text in CSV, an object in JSONL
line_items       optional  Shoplazza partial refund: ``ID:QTY;ID:QTY`` in CSV, a list of
                           ``{"id", "quantity"}`` (or the same text) in JSONL
idempotency_key  optional  the row's key; default: derived from the command's content
===============  ========  =================================================================

Empty CSV cells count as absent. Rows are numbered from 1 (the CSV header is not a row; blank
lines are skipped and not counted).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

from producer.validation import problems_of
from providers.errors import OrderCmdError

COLUMNS = (
    "kind",
    "provider",
    "account",
    "order_id",
    "reason",
    "amount",
    "changes",
    "line_items",
    "idempotency_key",
)
REQUIRED_COLUMNS = ("kind", "provider", "account", "order_id")
DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # bigger files are refused before anything is read

_JSON_OBJECT: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


class BulkFormat(StrEnum):
    """The file formats ``ordercmd bulk`` reads."""

    CSV = "csv"
    JSONL = "jsonl"


class BulkFileError(OrderCmdError):
    """The file as a whole cannot be used: size, encoding or header."""


@dataclass(frozen=True)
class Row:
    """One row of a bulk file: a command input, or the problems that kept it from being one."""

    number: int  # 1-based, data rows only
    line: int  # the file line the row starts on
    data: dict[str, Any]
    idempotency_key: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)


def detect_format(name: str, given: str | None = None) -> BulkFormat:
    """The format named by ``given``, else by the file's extension.

    Raises:
        BulkFileError: neither says CSV or JSONL.
    """
    if given:
        return BulkFormat(given)
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return BulkFormat.CSV
    if suffix in (".jsonl", ".ndjson"):
        return BulkFormat.JSONL
    raise BulkFileError(f"{name}: cannot tell the format from {suffix!r}; use --format csv|jsonl")


def read_rows(source: IO[bytes], fmt: BulkFormat, *, max_bytes: int) -> Iterator[Row]:
    """The rows of a bulk file, streamed: memory stays flat whatever the file's size.

    Raises:
        BulkFileError: the file is over ``max_bytes``, is not UTF-8, or its CSV header is wrong.
    """
    lines = _Lines(source, max_bytes)
    if fmt is BulkFormat.CSV:
        return _csv_rows(lines)
    return _jsonl_rows(lines)


class _Lines:
    """UTF-8 lines of a binary stream, counted, with the size limit enforced as they are read."""

    def __init__(self, source: IO[bytes], max_bytes: int) -> None:
        self.source = source
        self.max_bytes = max_bytes
        self.number = 0
        self.size = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.source:
            self.number += 1
            self.size += len(raw)
            if self.size > self.max_bytes:
                raise BulkFileError(f"the file is larger than the limit of {self.max_bytes} bytes")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = raw[exc.start : exc.start + 1].hex()
                raise BulkFileError(
                    f"line {self.number}: not UTF-8 (byte 0x{byte} at column {exc.start + 1}); "
                    "save the file as UTF-8"
                ) from None
            yield text.removeprefix("\ufeff") if self.number == 1 else text


def _csv_rows(lines: _Lines) -> Iterator[Row]:
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header)
        number = 0
        start = lines.number + 1
        for cells in reader:
            if cells and any(cell.strip() for cell in cells):
                number += 1
                yield _csv_row(number, start, header, cells)
            start = lines.number + 1
    except csv.Error as exc:
        raise BulkFileError(f"line {lines.number}: not valid CSV ({exc})") from None


def _check_header(header: list[str]) -> None:
    if not header:
        raise BulkFileError("the file is empty: a CSV file starts with a header row")
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
    if repeated:
        problems.append(f"repeated columns: {', '.join(repeated)}")
    if problems:
        raise BulkFileError("CSV header: " + "; ".join(problems))


def _csv_row(number: int, line: int, header: list[str], cells: list[str]) -> Row:
    if len(cells) > len(header):
        problem = ("row", f"has {len(cells)} cells, the header names {len(header)} columns")
        return Row(number, line, {}, problems=[problem])
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, cell in zip(header, cells, strict=False):
        if cell.strip():
            data[name] = _cell(name, cell, problems)
    key = data.pop("idempotency_key", None)
    return Row(number, line, data, key.strip() if key else None, problems)


def _cell(name: str, cell: str, problems: list[tuple[str, str]]) -> Any:
    if name == "changes":
        try:
            return json.loads(cell)
        except json.JSONDecodeError as exc:
            problems.append(("changes", f"not valid JSON ({exc.msg} at column {exc.pos + 1})"))
            return None
    if name == "line_items":
        return line_items(cell, problems)
    return cell


def line_items(text: str, problems: list[tuple[str, str]]) -> list[dict[str, Any]] | None:
    """``ID:QTY;ID:QTY`` as refund lines; a malformed item is added to ``problems``."""
    items = []
    for part in (p.strip() for p in text.split(";")):
        item_id, sep, quantity = part.rpartition(":")
        if not part:
            continue
        if not sep or not item_id or not quantity.strip().isdigit():
            problems.append(("line_items", f"{part!r} is not ID:QUANTITY"))
            return None
        items.append({"id": item_id.strip(), "quantity": int(quantity)})
    return items


def _jsonl_rows(lines: _Lines) -> Iterator[Row]:
    number = 0
    for text in lines:
        if not text.strip():
            continue
        number += 1
        yield _jsonl_row(number, lines.number, text)


def _jsonl_row(number: int, line: int, text: str) -> Row:
    try:
        data = _JSON_OBJECT.validate_json(text)
    except ValidationError as exc:
        reason = "; ".join(reason for _, reason in problems_of(exc))
        return Row(number, line, {}, problems=[("row", f"not a JSON object: {reason}")])
    problems: list[tuple[str, str]] = []
    key = data.pop("idempotency_key", None)
    if key is not None and not isinstance(key, str):
        problems.append(("idempotency_key", "must be a string"))
        key = None
    if isinstance(data.get("line_items"), str):
        data["line_items"] = line_items(data["line_items"], problems)
    return Row(number, line, data, key or None, problems)
