"""Real processes for integration tests: ordercmd workers and a poll-until helper."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
ORDERCMD_WORKER = (sys.executable, "-m", "cli", "worker", "--loglevel=WARNING")


def wait_for(
    probe: Callable[[], T | None], *, timeout_s: float = 30.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


class WorkerProcess:
    """A Celery worker in its own process group, so ``kill -9`` takes the whole worker.

    ``command`` is the worker's command line before its pool, concurrency and node name:
    ``python -m cli worker`` unless told (the benchmarks also run a bare Celery app).
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        *,
        pool: str = "prefork",
        concurrency: int = 2,
        name: str = "w1",
        command: Sequence[str] = ORDERCMD_WORKER,
    ) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        options = [f"--pool={pool}", f"--concurrency={concurrency}", f"--hostname={name}@%h"]
        self.argv = [*command, *options]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the worker (it is ready when it consumes; callers poll for outcomes)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill9(self) -> None:
        """SIGKILL the worker and every process it started, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL whatever is left of the group."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(errors="replace")


# --- Helpers of the fault suite (tests/integration/test_faults_*.py) ---


def settle_all(client: Any, command_ids: list[str], *, timeout_s: float) -> dict[str, Any]:
    """Wait until every command rests in an end state; return their records by id.

    ``client`` is a Redis client of the command store. At the deadline this fails saying how
    many commands are lost (not in an end state) and which states they are stuck in.
    """
    from collections import Counter

    from store.records import read_records

    settled: dict[str, Any] = {}
    pending = list(dict.fromkeys(command_ids))
    deadline = time.monotonic() + timeout_s
    while True:
        stuck: dict[str, str] = {}
        for start in range(0, len(pending), 500):
            chunk = pending[start : start + 500]
            for command_id, record in zip(chunk, read_records(client, chunk), strict=True):
                if record is not None and record.terminal:
                    settled[command_id] = record
                elif record is None:
                    stuck[command_id] = "missing"
                else:
                    stuck[command_id] = f"{record.state}: {record.last_message[:60]}"
        pending = list(stuck)
        if not pending:
            return settled
        if time.monotonic() > deadline:
            why = dict(Counter(stuck.values()).most_common(4))
            raise AssertionError(
                f"{len(stuck)} of {len(command_ids)} commands lost: not finished after "
                f"{timeout_s} s (e.g. {pending[:2]}; state and last message: {why})"
            )
        time.sleep(0.1)


def running_claims(client: Any) -> dict[str, int]:
    """``{command id: ms left on its lease}`` of every command a delivery holds now.

    ``client`` is a Redis client of the command store; times are Redis's. Until its first
    renewal (the heartbeat renews a third of the lease in) a claim's age is the lease minus
    what is left of it.
    """
    from store import keys

    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    ids = [str(i) for i in client.zrange(keys.running(), 0, -1)]
    pipe = client.pipeline(transaction=False)
    for command_id in ids:
        pipe.hmget(keys.command(command_id), "state", "lease_until")
    return {
        command_id: int(lease_until) - now_ms
        for command_id, (state, lease_until) in zip(ids, pipe.execute(), strict=True)
        if state == "running" and lease_until
    }


def mutations_per_key(mutations: list[dict[str, Any]]) -> dict[str, int]:
    """How many applied provider mutations carry each idempotency key."""
    counts: dict[str, int] = {}
    for mutation in mutations:
        key = str(mutation["idempotency_key"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def replayed_mutations(requests: dict[str, Any]) -> int:
    """Mutations the sandbox answered from its ``Idempotency-Key`` cache.

    Each is a re-send that a provider without that header (all three real ones) would have
    applied a second time.
    """
    return sum(int(p["by_fault"].get("replayed", 0)) for p in requests.values())


ACCOUNT_OF = {"backd": "acme", "shoplazza": "store", "fastpod": "pod"}  # in ordercmd_env


def order_command(provider: str, kind: str, order_id: str, **fields: object) -> dict[str, Any]:
    """A command input for the ``ordercmd_env`` account of ``provider``."""
    return {
        "kind": kind,
        "provider": provider,
        "account": ACCOUNT_OF[provider],
        "order_id": order_id,
        **fields,
    }


def unthrottled(env: dict[str, str], **overrides: str) -> dict[str, str]:
    """``env`` with every account's rate limit lifted (the sandbox is not the bottleneck).

    ``overrides`` are more ``ORDERCMD_*`` settings, named without the prefix.
    """
    lifted = {}
    for account in ACCOUNT_OF.values():
        lifted[f"ORDERCMD_ACCOUNTS__{account.upper()}__RATE_PER_S"] = "100000"
        lifted[f"ORDERCMD_ACCOUNTS__{account.upper()}__BURST"] = "100000"
    return env | lifted | {f"ORDERCMD_{name}": value for name, value in overrides.items()}


def retry_budget(*, max_attempts: int, base_s: float, cap_s: float) -> dict[str, str]:
    """Overrides (for `unthrottled`) giving every provider this retry policy."""
    policy = {"MAX_ATTEMPTS": str(max_attempts), "BASE_S": str(base_s), "CAP_S": str(cap_s)}
    return {
        f"RETRY__{provider.upper()}__{name}": value
        for provider in ACCOUNT_OF
        for name, value in policy.items()
    }


def warm_up(sandbox: Any, producer: Any, store: Any, *, timeout_s: float = 30.0) -> None:
    """Run one FastPOD cancel through the workers: returns once a worker consumes commands."""
    order_id = sandbox.admin.create_orders("fastpod", "new_order", 1)[0]
    command_id = producer.submit(order_command("fastpod", "cancel", order_id)).command_id
    settle_all(store.client, [command_id], timeout_s=timeout_s)


def roomy(sandbox: Any) -> Any:
    """``sandbox`` with Shoplazza's leaky bucket out of the way; returns it.

    The bucket's shape outlives ``admin.reset`` (another test may have shrunk it).
    """
    sandbox.admin.update_settings(shoplazza_bucket_size=100_000, shoplazza_leak_per_s=100_000.0)
    return sandbox
