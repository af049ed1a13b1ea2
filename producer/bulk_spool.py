"""The spool between a bulk file's check and its admission: one line per checked row, on disk.

Lines are ``E<TAB>row<TAB>duplicate of<TAB>key<TAB>lane<TAB>source<TAB>fingerprint<TAB>provider
<TAB>account<TAB>kind<TAB>envelope JSON`` for a row to admit and ``X<TAB>row<TAB>0<TAB>reasons``
for a refused one, in file order.
A row to admit is spooled exactly as the admission script takes it (``Prepared``), so the
admission pass neither parses nor serialises an envelope again. Keys, lanes and sources never
hold a tab or a space (their schemas say so), and JSON escapes control characters.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, NamedTuple

from schemas import CommandEnvelope
from store.admission import Prepared


@dataclass
class Checked:
    """One checked row on its way to the spool."""

    row: int
    envelope: CommandEnvelope | None = None
    fingerprint: str = ""
    duplicate_of: int | None = None  # the earlier row with the same key and content
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The row's idempotency key ("" for a refused row)."""
        return self.envelope.idempotency_key if self.envelope else ""

    def refuse(self, problems: list[tuple[str, str]]) -> None:
        """Turn the row into a refused one."""
        self.envelope, self.problems = None, problems


class SpooledRow(NamedTuple):
    """A row read back from the spool."""

    row: int
    prepared: Prepared | None  # None: refused at the check
    duplicate_of: int  # 0: not a duplicate
    note: str  # the refusal's reasons


class Spool:
    """An anonymous temporary file (gone when closed, or when the process dies)."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def write(self, entry: Checked) -> None:
        """Append one checked row."""
        if entry.envelope is None:
            note = " ".join("; ".join(f"{f}: {r}" for f, r in entry.problems).split())
            self._file.write(f"X\t{entry.row}\t0\t{note}\n".encode())
            return
        item = Prepared.of(entry.envelope, fingerprint=entry.fingerprint)
        fields = [
            "E",
            str(entry.row),
            str(entry.duplicate_of or 0),
            item.idempotency_key,
            item.lane,
            item.source,
            item.fingerprint,
            item.provider,
            item.account,
            item.kind,
            item.envelope_json,
        ]
        self._file.write(("\t".join(fields) + "\n").encode())

    def chunks(self, size: int) -> Iterator[list[SpooledRow]]:
        """Every row from the start, ``size`` at a time."""
        self._file.seek(0)
        chunk: list[SpooledRow] = []
        for line in self._file:
            chunk.append(_parse(line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def close(self) -> None:
        """Delete the spool."""
        self._file.close()


def _parse(line: bytes) -> SpooledRow:
    kind, row, duplicate_of, rest = line.decode().rstrip("\n").split("\t", 3)
    if kind == "X":
        return SpooledRow(int(row), None, 0, rest)
    key, lane, source, fingerprint, provider, account, kind, envelope_json = rest.split("\t", 7)
    item = Prepared(key, lane, source, fingerprint, envelope_json, provider, account, kind)
    return SpooledRow(int(row), item, int(duplicate_of), "")
