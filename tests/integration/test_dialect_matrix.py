"""Every provider x kind x scenario in every sandbox dialect: same outcome, same mutations.

A dialect is one reading of the open details of providers.md (``sandbox.dialects``). Each
test runs one dialect through one worker process: the scenarios without faults go in one
batch, the fault scenarios one kind at a time (the sandbox's fault script is per provider).
The mutation count is the sandbox's mutation log for the case's order.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sandbox import DIALECTS
from tests.dialect_cases import SETUP
from tests.integration.harness import ACCOUNT_OF, order_command, roomy, settle_all, unthrottled

pytestmark = pytest.mark.integration

KINDS = ("cancel", "update", "refund")
PROVIDERS = ("backd", "shoplazza", "fastpod")
# scenario -> (state, dead reason, provider mutations)
EXPECTED: dict[str, tuple[str, str | None, int]] = {
    "happy": ("succeeded", None, 1),
    "refusal": ("dead", "rejected", 0),
    "reply_lost": ("already_done", None, 1),
    "5xx_then_ok": ("succeeded", None, 1),
    "422_then_ok": ("succeeded", None, 1),
    "not_found": ("dead", "not_found", 0),
    "auth": ("dead", "auth", 0),
}
OWN_EXPECTED = {("fastpod", "refund", "refusal"): ("dead", "unsupported", 0)}  # no refund API
FAULTS = {"reply_lost": ["reply_lost"], "5xx_then_ok": ["503"], "422_then_ok": ["422"]}
UNKNOWN = {"backd": "BO-9{n}9999", "shoplazza": "1001-9{n}999999", "fastpod": "F237-9{n}9999"}
BAD = {"backd": "badacme", "shoplazza": "badstore", "fastpod": "badpod"}

Case = tuple[str, str, str]  # provider, kind, scenario


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """No rate limits, and one account per provider whose credentials the sandbox refuses."""
    env = unthrottled(ordercmd_env)
    for provider, bad in BAD.items():
        good = ACCOUNT_OF[provider].upper()
        for name, value in ordercmd_env.items():
            prefix = f"ORDERCMD_ACCOUNTS__{good}__"
            if name.startswith(prefix):
                env[f"ORDERCMD_ACCOUNTS__{bad.upper()}__{name[len(prefix) :]}"] = value
    env["ORDERCMD_ACCOUNTS__BADACME__SECRET_KEY"] = "sk_wrong"
    env["ORDERCMD_ACCOUNTS__BADSTORE__ACCESS_TOKEN"] = "wrong-token"
    env["ORDERCMD_ACCOUNTS__BADPOD__TOKEN"] = "wrong-token"
    return env


def command(sandbox, case: Case) -> dict[str, Any]:
    """The case's command, on a new order in the state the scenario needs."""
    provider, kind, scenario = case
    runnable, ruled_out, fields = SETUP[(provider, kind)]
    if scenario == "not_found":
        order_id = UNKNOWN[provider].format(n=KINDS.index(kind))
    else:
        state = ruled_out if scenario == "refusal" else runnable
        order_id = sandbox.admin.create_orders(provider, state, 1)[0]
    made = order_command(provider, kind, order_id, **fields)
    return made | ({"account": BAD[provider]} if scenario == "auth" else {})


def run_dialect(sandbox, store, producer) -> dict[Case, tuple[tuple[str, str | None, int], str]]:
    """Run every case; ``{case: ((state, reason, mutations), last message)}``."""
    ids: dict[Case, str] = {}
    orders: dict[Case, str] = {}
    calm = [(p, k, s) for p in PROVIDERS for k in KINDS for s in EXPECTED if s not in FAULTS]
    commands = {case: command(sandbox, case) for case in calm}
    for case, submission in zip(commands, producer.submit_many(commands.values()), strict=True):
        ids[case], orders[case] = submission.command_id, commands[case]["order_id"]
    records = settle_all(store.client, list(ids.values()), timeout_s=60)
    for scenario, script in FAULTS.items():
        for kind in KINDS:
            batch = {(p, kind, scenario): command(sandbox, (p, kind, scenario)) for p in PROVIDERS}
            for provider in PROVIDERS:
                sandbox.admin.set_faults(provider, scope="mutations", script=script)
            for case, made in batch.items():
                ids[case], orders[case] = producer.submit(made).command_id, made["order_id"]
            records |= settle_all(store.client, [ids[c] for c in batch], timeout_s=30)
            sandbox.admin.clear_faults()
    applied = Counter(m["order_id"] for m in sandbox.admin.mutations())
    return {
        case: (
            (str(records[i].state), records[i].dead_reason, applied[orders[case]]),
            records[i].last_message,
        )
        for case, i in ids.items()
    }


@pytest.mark.timeout(240)
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_case_reaches_the_same_outcome_in_the_dialect(
    dialect, sandbox, store, producer, start_worker
):
    roomy(sandbox).admin.update_settings(**DIALECTS[dialect])
    start_worker(pool="threads", concurrency=6)
    results = run_dialect(sandbox, store, producer)
    passed: Counter[str] = Counter()
    wrong = []
    for (provider, kind, scenario), (got, message) in sorted(results.items()):
        want = OWN_EXPECTED.get((provider, kind, scenario), EXPECTED[scenario])
        if got == want:
            passed[scenario] += 1
        else:
            wrong.append(f"{provider} {kind} {scenario}: got {got}, want {want} ({message[:120]})")
    row = "  ".join(f"{s} {passed[s]}/{len(PROVIDERS) * len(KINDS)}" for s in EXPECTED)
    print(f"dialect {dialect}: {row}")
    assert not wrong, "\n".join(wrong)
