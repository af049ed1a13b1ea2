"""Commands validated together, serialised for admission when first read: a chunk at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from producer.validation import derived_fingerprint
from schemas import AnyCommand, CommandEnvelope, derived_key
from store.admission import Prepared
from store.clock import utcnow


class PreparedBatch(Sequence[Prepared]):
    """The admission items of validated commands, each built the first time it is read.

    ``store.admission.admit_all`` reads a chunk only after sending the one before it, so this
    process digests and serialises a chunk while Redis admits the last: the two overlap instead
    of running one after the other.

    Building an item cannot fail, so an admission is never cut short half-way by bad input: every
    envelope shares ``first``'s source, batch and producer (validated when ``first`` was built),
    its key is derived from its content (valid by construction) and its command is a validated
    model. That is why the envelopes after ``first`` are copies of it, not validated again.
    """

    def __init__(self, first: CommandEnvelope, commands: Sequence[AnyCommand]) -> None:
        """``first``: the validated envelope of ``commands[0]``, its key derived from content."""
        self._first = first
        self._commands = commands
        self._built: list[Prepared] = []

    def __len__(self) -> int:
        return len(self._commands)

    @overload
    def __getitem__(self, index: int) -> Prepared: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Prepared]: ...

    def __getitem__(self, index: int | slice) -> Prepared | Sequence[Prepared]:
        if isinstance(index, slice):
            wanted = range(*index.indices(len(self)))
            self._build_to(max(wanted[0], wanted[-1]) + 1 if wanted else 0)
        else:
            self._build_to(index + 1 if index >= 0 else len(self))
        return self._built[index]

    def _build_to(self, stop: int) -> None:
        """Build the items up to ``stop`` (exclusive) not built yet."""
        first = self._first
        for command in self._commands[len(self._built) : stop]:
            envelope = first
            if self._built:  # first's copy: every field it shares with first is carried over
                envelope = first.model_copy(
                    update={
                        "command": command,
                        "idempotency_key": derived_key(command),
                        "submitted_at": utcnow(),
                    }
                )
            self._built.append(Prepared.of(envelope, fingerprint=derived_fingerprint(envelope)))
