"""Pure data: commands, envelopes, records and provider outcomes. Imports nothing of ours."""

from schemas.commands import (
    COMMAND_ADAPTER,
    CancelOrder,
    Command,
    CommandKind,
    Provider,
    RefundLine,
    RefundOrder,
    UpdateOrder,
)
from schemas.envelope import CommandEnvelope, content_digest, derived_key
from schemas.evidence import Fingerprint, ReadNote, ReadPurpose, ReadShowed, RefundPrint
from schemas.outcomes import OrderSnapshot, ProviderReceipt, Reconciliation, Verdict
from schemas.patches import (
    PATCH_MODELS,
    BackdContact,
    BackdPatch,
    FastpodPatch,
    OrderPatch,
    ShoplazzaPatch,
)
from schemas.records import (
    TERMINAL_STATES,
    WAIT_TEXT,
    Attempt,
    AttemptOutcome,
    CommandRecord,
    CommandState,
    DeadReason,
    WaitingFor,
)

AnyCommand = CancelOrder | UpdateOrder | RefundOrder

__all__ = [
    "COMMAND_ADAPTER",
    "PATCH_MODELS",
    "TERMINAL_STATES",
    "WAIT_TEXT",
    "AnyCommand",
    "Attempt",
    "AttemptOutcome",
    "BackdContact",
    "BackdPatch",
    "CancelOrder",
    "Command",
    "CommandEnvelope",
    "CommandKind",
    "CommandRecord",
    "CommandState",
    "DeadReason",
    "FastpodPatch",
    "Fingerprint",
    "OrderPatch",
    "OrderSnapshot",
    "Provider",
    "ProviderReceipt",
    "ReadNote",
    "ReadPurpose",
    "ReadShowed",
    "Reconciliation",
    "RefundLine",
    "RefundOrder",
    "RefundPrint",
    "ShoplazzaPatch",
    "UpdateOrder",
    "Verdict",
    "WaitingFor",
    "content_digest",
    "derived_key",
]
