"""Which Redis the CLI uses: the configured one, a local one, or the embedded server.

The embedded server's data directory, lock and state file live here; `redisconn.process`
starts and stops the server process itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from providers.errors import ConfigError
from redisconn.client import ping_address, redact_url
from redisconn.process import (
    LOOPBACK,
    find_server_binary,
    owned_pid,
    pick_free_port,
    spawn_detached,
    stop_server,
    wait_ready,
)

DEFAULT_PROBE = (LOOPBACK, 6379)  # a developer's own Redis is used when it answers PING here
START_TIMEOUT_S = 30.0  # covers replaying a large AOF at start
STOP_TIMEOUT_S = 30.0
START_ATTEMPTS = 3  # a port picked free can be taken before the server binds it
_STATE_FILE = "embedded.json"  # {"url", "binary"} of the server last started here


class RedisSource(StrEnum):
    """Where the CLI's Redis came from."""

    CONFIGURED = "configured"  # ORDERCMD_REDIS_URL
    LOCAL = "local"  # a server already answering on the default port
    EMBEDDED = "embedded"  # a server this module started under the user's data directory


@dataclass(frozen=True)
class ResolvedRedis:
    """The Redis the CLI will use, and why."""

    url: str
    source: RedisSource
    data_dir: Path | None = None  # embedded only
    started: bool = False  # True when this call started the embedded server

    @property
    def message(self) -> str:
        """One line for the CLI to print."""
        if self.source is RedisSource.EMBEDDED:
            return f"using embedded Redis at {self.url} (data in {self.data_dir})"
        if self.source is RedisSource.LOCAL:
            return f"using the local Redis at {self.url}"
        return f"using Redis at {redact_url(self.url)}"


def resolve_redis_url(
    configured: str | None,
    *,
    data_dir: Path | None = None,
    probe: tuple[str, int] = DEFAULT_PROBE,
    binary: Path | None = None,
) -> ResolvedRedis:
    """The configured URL, else a Redis answering at ``probe``, else the embedded server.

    Args:
        configured: ``ORDERCMD_REDIS_URL``, if set.
        data_dir: the embedded server's directory; default `default_data_dir()`.
        probe: address of a Redis to use when it answers ``PING`` (not when it is something else).
        binary: server executable for the embedded server; default `find_server_binary()`.

    Raises:
        ConfigError: an embedded server is needed and none can be started.
    """
    if configured:
        return ResolvedRedis(configured, RedisSource.CONFIGURED)
    if ping_address(*probe):
        return ResolvedRedis(f"redis://{probe[0]}:{probe[1]}/0", RedisSource.LOCAL)
    return ensure_embedded(data_dir, binary=binary)


def ensure_embedded(
    data_dir: Path | None = None, *, binary: Path | None = None, timeout_s: float = START_TIMEOUT_S
) -> ResolvedRedis:
    """Reuse the embedded server running for ``data_dir``, or start one (AOF on, noeviction).

    A lock file serialises concurrent CLI invocations; the state file records the running
    server's URL so the next invocation finds it. A restart prefers the previous port.

    Raises:
        ConfigError: no server binary, or the server did not start (the message names its log).
    """
    data_dir = (data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(data_dir):
        state = _read_state(data_dir)
        if state and owned_pid(state["url"], data_dir) is not None:
            return ResolvedRedis(state["url"], RedisSource.EMBEDDED, data_dir)
        previous = Path(state["binary"]) if state else None  # its AOF format, on a restart
        server = binary or (previous if previous and os.access(previous, os.X_OK) else None)
        server = server or find_server_binary()
        port = urlsplit(state["url"]).port if state else None
        for _ in range(START_ATTEMPTS):
            port = pick_free_port(preferred=port)
            url = f"redis://{LOOPBACK}:{port}/0"
            pid = spawn_detached(server, data_dir, port)
            _write_state(data_dir, {"url": url, "binary": str(server)})
            if wait_ready(url, pid, data_dir, timeout_s):
                return ResolvedRedis(url, RedisSource.EMBEDDED, data_dir, started=True)
            port = None
    raise ConfigError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")


def stop_embedded(data_dir: Path | None = None, *, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Shut the embedded server for ``data_dir`` down cleanly (SIGTERM: AOF flushed).

    Returns:
        True when a running server was stopped; False when none was running.

    Raises:
        TimeoutError: the server did not exit within ``timeout_s``.
    """
    data_dir = (data_dir or default_data_dir()).resolve()
    if not data_dir.is_dir():
        return False
    with _locked(data_dir):
        state = _read_state(data_dir)
        pid = owned_pid(state["url"], data_dir) if state else None
        if pid is None:
            return False
        stop_server(pid, data_dir, timeout_s)
    return True


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$ORDERCMD_DATA_DIR/redis``, else ``$XDG_DATA_HOME/ordercmd/redis`` (``~/.local/share``)."""
    env = os.environ if env is None else env
    if env.get("ORDERCMD_DATA_DIR"):
        return Path(env["ORDERCMD_DATA_DIR"]).expanduser() / "redis"
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "ordercmd" / "redis"


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with (data_dir / "embedded.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _read_state(data_dir: Path) -> dict[str, str] | None:
    try:
        state = json.loads((data_dir / _STATE_FILE).read_text())
        return {"url": str(state["url"]), "binary": str(state["binary"])}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_state(data_dir: Path, state: dict[str, str]) -> None:
    temporary = data_dir / f"{_STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state))
    temporary.replace(data_dir / _STATE_FILE)
