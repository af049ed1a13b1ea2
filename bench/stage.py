"""The stage every benchmark runs on: a private Redis, the sandbox in-process, worker processes.

Settings reach the workers as ``ORDERCMD_*`` environment variables, as in
``tests/integration``; the benchmark process applies the same ones to itself.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config.settings import Settings, get_settings
from sandbox import (
    DEFAULT_BACKD_PUBLIC_KEY,
    DEFAULT_BACKD_SECRET_KEY,
    DEFAULT_FASTPOD_TOKEN,
    DEFAULT_SHOPLAZZA_TOKEN,
    SandboxConfig,
    SandboxServer,
)
from tests.integration.harness import WorkerProcess
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = {"backd": "acme", "shoplazza": "store", "fastpod": "pod"}
SHOPLAZZA_STORE = "bench-store"
UNTHROTTLED = "1000000"  # requests/s and burst: high enough that the limiter never waits


@dataclass
class Stage:
    """One Redis (or two: broker apart) and one sandbox for a whole benchmark script."""

    directory: Path
    redis: RedisServer
    sandbox: SandboxServer
    broker: RedisServer | None = None

    def env(
        self, *, throttle_shoplazza: bool = False, split_broker: bool = False
    ) -> dict[str, str]:
        """``ORDERCMD_*`` settings: the sandbox accounts, production defaults otherwise."""
        env = {"ORDERCMD_REDIS_URL": self.redis.url}
        if split_broker:
            assert self.broker is not None
            env["ORDERCMD_BROKER_URL"] = self.broker.url
        accounts = {
            "ACME": {
                "PROVIDER": "backd",
                "BASE_URL": self.sandbox.backd_url,
                "PUBLIC_KEY": DEFAULT_BACKD_PUBLIC_KEY,
                "SECRET_KEY": DEFAULT_BACKD_SECRET_KEY,
            },
            "STORE": {
                "PROVIDER": "shoplazza",
                "BASE_URL": self.sandbox.shoplazza_url(SHOPLAZZA_STORE),
                "ACCESS_TOKEN": DEFAULT_SHOPLAZZA_TOKEN,
            },
            "POD": {
                "PROVIDER": "fastpod",
                "BASE_URL": self.sandbox.fastpod_url,
                "TOKEN": DEFAULT_FASTPOD_TOKEN,
            },
        }
        for name, fields in accounts.items():
            fields["TIMEOUT_S"] = "10"
            if name != "STORE" or not throttle_shoplazza:
                fields |= {"RATE_PER_S": UNTHROTTLED, "BURST": UNTHROTTLED}
            env |= {f"ORDERCMD_ACCOUNTS__{name}__{k}": v for k, v in fields.items()}
        return env

    def reset(self, *, latency_ms: float = 0.0) -> None:
        """Empty every Redis and the sandbox; set the sandbox's latency for all providers."""
        for server in (self.redis, self.broker):
            if server is not None:
                client = redis_of(server)
                client.flushall()
                client.config_resetstat()
                client.close()
        self.sandbox.admin.reset(orders_per_provider=0)
        self.sandbox.admin.clear_faults()
        if latency_ms:
            self.sandbox.admin.set_faults(latency_ms=latency_ms)

    def mutation_times(self) -> list[float]:
        """Epoch seconds of every mutation the sandbox applied, in order."""
        return sorted(
            datetime.fromisoformat(m.at).timestamp() for m in self.sandbox.state.mutations
        )

    def mutations(self) -> int:
        """How many mutations the sandbox applied so far (read in-process: no request)."""
        return len(self.sandbox.state.mutations)


def redis_of(server: RedisServer):  # type: ignore[no-untyped-def]
    """A client of ``server``."""
    from redisconn.client import redis_client

    return redis_client(server.url)


@contextmanager
def stage(name: str, *, appendonly: bool = True, split_broker: bool = False) -> Iterator[Stage]:
    """Start a private Redis (AOF on unless told) and the sandbox; remove both afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=f"ordercmd-bench-{name}-"))
    broker = RedisServer(directory / "broker", appendonly=appendonly) if split_broker else None
    try:
        with (
            RedisServer(directory / "redis", appendonly=appendonly) as redis,
            SandboxServer(SandboxConfig(orders_per_provider=0)) as sandbox,
        ):
            if broker is not None:
                broker.start()
            try:
                yield Stage(directory, redis, sandbox, broker)
            finally:
                if broker is not None:
                    broker.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def apply_env(env: Mapping[str, str]) -> Settings:
    """Make ``env`` this process's only ``ORDERCMD_*`` settings and return them."""
    for name in [n for n in os.environ if n.startswith("ORDERCMD_")]:
        del os.environ[name]
    os.environ.update(env)
    get_settings.cache_clear()
    return get_settings()


class Workers(WorkerProcess):
    """One worker (``ordercmd`` or the bare app), with what benchmarks read of its process group."""

    def __init__(
        self, system: str, env: Mapping[str, str], log_path: Path, *, pool: str, concurrency: int
    ) -> None:
        if system == "ordercmd":
            command = [sys.executable, "-m", "cli", "worker"]
        else:
            command = [sys.executable, "-m", "celery", "-A", "bench.bare_app", "worker"]
            command += ["--queues=bench.bare"]
        super().__init__(
            env,
            log_path,
            pool=pool,
            concurrency=concurrency,
            name=f"{system}-{pool}-{log_path.stem}",
            command=[*command, "--loglevel=INFO"],
        )

    def alive(self) -> bool:
        """Whether the main process still runs."""
        return self.process is not None and self.process.poll() is None

    def pids(self) -> list[int]:
        """Every process of the worker's group (main process first)."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError):
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[2]) == self.process.pid:  # the process group id
                        found.append(int(entry.name))
        return sorted(found, key=lambda pid: pid != self.process.pid)  # type: ignore[union-attr]

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by the processes alive in the group."""
        total = 0
        for pid in self.pids():
            with suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def tail(self, chars: int = 3000) -> str:
        """The end of the worker's log."""
        return self.log()[-chars:]


def rss_kib(pid: int) -> int:
    """Resident set size of one process in KiB (0 when it is gone)."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_until(
    done: Callable[[], bool], *, timeout_s: float, what: str, workers: Workers | None = None
) -> float:
    """Poll ``done`` every 50 ms; return the seconds it took.

    Raises:
        RuntimeError: the deadline passed, or the worker died (its log's tail is included).
    """
    started = time.monotonic()
    while not done():
        if workers is not None and not workers.alive():
            raise RuntimeError(f"worker died waiting for {what}:\n{workers.tail()}")
        if time.monotonic() - started > timeout_s:
            tail = workers.tail() if workers is not None else ""
            raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}\n{tail}")
        time.sleep(0.05)
    return time.monotonic() - started
