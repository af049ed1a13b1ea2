"""Edit-and-replay: a dead letter replayed with a corrected command, same key and order lane.

The envelope's command is replaced (the first envelope is kept as ``original_envelope``), the
idempotency key and its admission record stay as they were, and the audit log gets the old and
the new command. ``lua/replay_edit.lua`` mirrors ``lua/replay.lua`` plus those writes.
"""

from __future__ import annotations

from providers.errors import InvalidSubmission
from schemas import AnyCommand, CommandState
from store import keys
from store.command_store import CommandStore
from store.deadletters import DeadLetters, NotADeadLetter
from store.scripts import script

KEPT = ("provider", "account", "order_id", "kind")  # an edit keeps the order lane and the verb


def edit_and_replay(
    store: CommandStore, command_id: str, command: AnyCommand, *, actor: str, why: str
) -> CommandState:
    """Replay a dead letter with ``command`` in place of its own; same key, same order lane.

    Returns:
        ``QUEUED`` when it heads its lane (a message is needed), else ``WAITING``.

    Raises:
        NotADeadLetter: the command is not dead, or changed while it was being edited.
        InvalidSubmission: the edit changes the provider, account, order or kind.
    """
    record = DeadLetters(store).get(command_id)
    old = record.envelope
    for name in KEPT:
        if getattr(command, name) != getattr(old.command, name):
            raise InvalidSubmission([(name, "an edit keeps the command's order and kind")])
    new = old.model_copy(update={"command": command})
    reply = script(store.client, "replay_edit")(
        keys=[
            keys.command(command_id),
            keys.dead_letters(),
            keys.dead_letters_by("reason", str(record.dead_reason)),
            keys.dead_letters_by("provider", old.command.provider),
            keys.lane(old.command.lane),
            keys.dispatch(),
            keys.audit(),
            keys.outcomes(),
        ],
        args=[
            command_id, store.limits.guard_ms, str(record.dead_reason), actor, why,
            store.client.hget(keys.command(command_id), "envelope") or "",
            new.model_dump_json(), old.command.model_dump_json(), command.model_dump_json(),
            store.limits.outcomes_max_len,
        ],
    )  # fmt: skip
    if reply[0] != "ok":
        raise NotADeadLetter(f"command {command_id} is {reply[1]} or changed; not replayed")
    return CommandState(reply[1])
