"""Each provider's contract as data: ``payloads/<provider>/case.json`` plus recorded payloads.

A case names the account, the secrets that must never leak, the auth header, the reads of
``find``, and per operation the command, the calls it makes (reads first, the mutation last,
each with the recorded reply and the body the provider must receive) and the receipt.
Adding a provider means adding its payload folder, not new tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from providers import Account
from schemas import COMMAND_ADAPTER, AnyCommand, ProviderReceipt

PAYLOADS = Path(__file__).parent / "payloads"
KEY = "ordercmd-test-key-0001"
ACCOUNT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Account)


def payload(provider: str, name: str) -> Any:
    """A recorded payload of ``provider``."""
    return json.loads((PAYLOADS / provider / name).read_text())


@dataclass(frozen=True)
class Call:
    """One request the adapter must make: the recorded reply, and the body it must send."""

    method: str
    path: str
    reply: str  # payload file the provider answers with
    sent: str | None = None  # payload file of the JSON body it must receive; None: no body


@dataclass(frozen=True)
class Operation:
    """A command, the calls it makes (reads first, the mutation last), and its receipt."""

    command: AnyCommand
    calls: tuple[Call, ...]
    receipt: ProviderReceipt

    @property
    def mutation(self) -> Call:
        return self.calls[-1]


@dataclass(frozen=True)
class Case:
    """Everything the contract suite needs to know about one provider."""

    name: str
    account: Any
    secrets: tuple[str, ...]  # must never appear in any error text
    auth: tuple[str, str]  # header name, value
    order_id: str
    find_calls: tuple[Call, ...]
    find_status: str
    error_message: str  # what the provider's error.json says, as extracted
    operations: dict[str, Operation]


def load_case(name: str) -> Case:
    """The case of provider ``name`` from its ``case.json``."""
    raw = payload(name, "case.json")
    return Case(
        name=name,
        account=ACCOUNT_ADAPTER.validate_python(raw["account"]),
        secrets=tuple(raw["secrets"]),
        auth=(raw["auth"][0], raw["auth"][1]),
        order_id=raw["order_id"],
        find_calls=tuple(Call(**call) for call in raw["find_calls"]),
        find_status=raw["find_status"],
        error_message=raw["error_message"],
        operations={
            kind: Operation(
                command=COMMAND_ADAPTER.validate_python(op["command"]),
                calls=tuple(Call(**call) for call in op["calls"]),
                receipt=ProviderReceipt.model_validate(op["receipt"]),
            )
            for kind, op in raw["operations"].items()
        },
    )


CASES = {folder.name: load_case(folder.name) for folder in sorted(PAYLOADS.iterdir())}
