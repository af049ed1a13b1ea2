"""Where the demo keeps its files, which Redis it uses, and the settings its worker runs with.

The demo never writes into a Redis the user did not name: with ``ORDERCMD_REDIS_URL`` it uses
that; otherwise it starts its own embedded server under its own data directory (never the one
the CLI reuses, and never whatever answers on 127.0.0.1:6379), and stops it at the end.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from cli.demo.mix import ACCOUNTS
from config.settings import get_settings
from redisconn.client import redact_url, redis_client
from redisconn.embedded import default_data_dir, ensure_embedded, stop_embedded
from sandbox import (
    DEFAULT_BACKD_PUBLIC_KEY,
    DEFAULT_BACKD_SECRET_KEY,
    DEFAULT_FASTPOD_TOKEN,
    DEFAULT_SHOPLAZZA_TOKEN,
    SandboxServer,
)
from schemas import Provider

PREFIX = "ORDERCMD_"
KEPT = frozenset({"ORDERCMD_DATA_DIR"})  # the user's other ORDERCMD_* settings are not used
SHOPLAZZA_STORE = "demo-store"
# Demo-speed policy: quick retries, a short lease, a scheduler that ticks often.
RUNTIME = {
    "ORDERCMD_LEASE_S": "10",
    "ORDERCMD_SCHEDULER_TICK_S": "0.1",
    "ORDERCMD_DISPATCH_GUARD_S": "20",
}
RETRY = {"BASE_S": "0.2", "CAP_S": "2", "MAX_ATTEMPTS": "8", "MAX_UNPROCESSABLE": "5"}
ACCOUNT_TIMEOUT_S = "2"


def demo_dir() -> Path:
    """``<data dir>/demo``, beside the CLI's ``<data dir>/redis`` (``ORDERCMD_DATA_DIR``)."""
    return default_data_dir().parent / "demo"


@dataclass(frozen=True)
class DemoRedis:
    """The Redis this demo runs on."""

    url: str
    data_dir: Path | None  # the demo's own embedded server; None when the user configured one
    started: bool  # this run started the embedded server (so it stops it)

    def describe(self) -> str:
        """One line saying which Redis is used and what happens to it."""
        if self.data_dir is None:
            return f"your ORDERCMD_REDIS_URL ({redact_url(self.url)}); nothing in it is deleted"
        how = "started for this demo" if self.started else "already running, reused"
        return f"the demo's own embedded Redis at {self.url} ({how}; data in {self.data_dir})"


def open_redis(configured: str | None, directory: Path) -> DemoRedis:
    """The configured Redis, else the demo's own embedded server, emptied when started here.

    Raises:
        ConfigError: no server binary to start an embedded Redis with.
    """
    if configured:
        return DemoRedis(configured, None, started=False)
    resolved = ensure_embedded(directory / "redis")
    if resolved.started:  # leftovers of an interrupted run would run against a gone sandbox
        client = redis_client(resolved.url)
        try:
            client.flushdb()
        finally:
            client.close()
    return DemoRedis(resolved.url, resolved.data_dir, started=resolved.started)


def close_redis(redis: DemoRedis) -> bool:
    """Stop the embedded server if this run started it; True when one was stopped."""
    if redis.data_dir is None or not redis.started:
        return False
    return stop_embedded(redis.data_dir)


def demo_env(redis_url: str, sandbox: SandboxServer) -> dict[str, str]:
    """Every ``ORDERCMD_*`` setting of the demo: its Redis, the sandbox accounts, fast retries."""
    env = {f"{PREFIX}REDIS_URL": redis_url, **RUNTIME}
    credentials = {
        Provider.BACKD: {
            "BASE_URL": sandbox.backd_url,
            "PUBLIC_KEY": DEFAULT_BACKD_PUBLIC_KEY,
            "SECRET_KEY": DEFAULT_BACKD_SECRET_KEY,
        },
        Provider.SHOPLAZZA: {
            "BASE_URL": sandbox.shoplazza_url(SHOPLAZZA_STORE),
            "ACCESS_TOKEN": DEFAULT_SHOPLAZZA_TOKEN,
            # the demo store's bucket drains at 20/s: throttle a little below it
            "RATE_PER_S": "16",
            "BURST": "8",
        },
        Provider.FASTPOD: {"BASE_URL": sandbox.fastpod_url, "TOKEN": DEFAULT_FASTPOD_TOKEN},
    }
    for provider, fields in credentials.items():
        account = f"{PREFIX}ACCOUNTS__{ACCOUNTS[provider].upper()}__"
        fields = {"RATE_PER_S": "20", "BURST": "10"} | fields  # no published limit: demo pace
        fields |= {"PROVIDER": str(provider), "TIMEOUT_S": ACCOUNT_TIMEOUT_S}
        env |= {account + name: value for name, value in fields.items()}
        env |= {f"{PREFIX}RETRY__{provider.upper()}__{k}": v for k, v in RETRY.items()}
    return env


def apply_env(env: dict[str, str]) -> None:
    """Make ``env`` this process's only ``ORDERCMD_*`` settings (the worker inherits them)."""
    for name in [n for n in os.environ if n.startswith(PREFIX) and n not in KEPT]:
        del os.environ[name]
    os.environ.update(env)
    get_settings.cache_clear()


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write ``export NAME=value`` lines, to ``source`` in a shell and submit more commands."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
