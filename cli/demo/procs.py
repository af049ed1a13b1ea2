"""The demo's worker process and its signals: Ctrl-C never lands in a start or a stop.

The worker runs in its own process group and is always stopped; SIGTERM and SIGHUP are
handled like Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_FILE_POLL_S = 0.2
WORKER_STOP_TIMEOUT_S = 15.0  # warm shutdown: running attempts finish (they take < 2 s here)
KILL_WAIT_S = 5.0


class Interrupts:
    """Turns stop signals into ``KeyboardInterrupt``, except inside ``deferred()`` blocks.

    A signal that arrives while deferred is remembered and raised when the block ends; after
    ``shield()`` (cleanup has begun) signals are only remembered, so cleanup always finishes.
    """

    def __init__(self) -> None:
        self.pending = False
        self._deferring = 0
        self._shielded = False
        self._previous: dict[int, Any] = {}

    def install(self) -> Interrupts:
        """Install the handlers (main thread only); ``restore`` puts the old ones back."""
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.pending = True
        if not self._deferring and not self._shielded:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold signals back while the block runs (starting a process, a server)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self.pending and not self._deferring and not self._shielded:
            raise KeyboardInterrupt

    def shield(self) -> None:
        """From now on signals never interrupt (cleanup is running)."""
        self._shielded = True


def interrupt_when_gone(path: Path) -> threading.Thread:
    """Send this process SIGINT once ``path`` no longer exists (a daemon thread polls it).

    ``make demo`` needs it: make passes SIGINT on to no recipe, but deletes the file of the
    target it was making when it gets SIGINT or SIGTERM.
    """

    def poll() -> None:
        while path.exists():
            time.sleep(STOP_FILE_POLL_S)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=poll, name="demo-stop-file", daemon=True)
    thread.start()
    return thread


class DemoWorker:
    """``python -m cli worker`` with threads, in its own session, logging to ``log_path``."""

    def __init__(self, log_path: Path, *, hostname: str, concurrency: int = 8) -> None:
        self.log_path = log_path
        self.argv = [
            sys.executable,
            "-m",
            "cli",
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            f"--hostname={hostname}",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The worker's process id (it leads its own process group)."""
        assert self.process is not None, "the worker was not started"
        return self.process.pid

    def start(self) -> DemoWorker:
        """Start the worker with this process's environment (the demo's settings)."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C reaches the demo, not the worker
            )
        return self

    def alive(self) -> bool:
        """Whether the worker process is still running."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL for whatever is left of its group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(WORKER_STOP_TIMEOUT_S)
        self._signal_group(signal.SIGKILL)  # threads only, but a stray child must not survive
        self.process.wait(KILL_WAIT_S)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the worker wrote."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
