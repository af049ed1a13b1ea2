"""ordercmd's entry points as real processes: a CLI run, ``ordercmd serve`` on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx

from redisconn.process import pick_free_port
from tests.integration.harness import ROOT, wait_for


@dataclass(frozen=True)
class Ran:
    """How a CLI run ended."""

    returncode: int
    output: str  # stdout and stderr
    took_s: float


def run_argv(env: Mapping[str, str], argv: Sequence[str], *, timeout_s: float = 60.0) -> Ran:
    """Run ``argv`` with ``env`` added to a clean ``ORDERCMD_*``-free environment."""
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("ORDERCMD_")}
    started = time.monotonic()
    done = subprocess.run(
        list(argv),
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return Ran(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def run_cli(env: Mapping[str, str], *args: str, timeout_s: float = 60.0) -> Ran:
    """Run ``python -m cli ARGS`` (`run_argv`)."""
    return run_argv(env, [sys.executable, "-m", "cli", *args], timeout_s=timeout_s)


def run_python(env: Mapping[str, str], code: str, *, timeout_s: float = 60.0) -> Ran:
    """Run ``python -c CODE`` (`run_argv`)."""
    return run_argv(env, [sys.executable, "-c", code], timeout_s=timeout_s)


class ServeProcess:
    """``ordercmd serve`` in its own process group, its output kept in ``log_path``."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not k.upper().startswith("ORDERCMD_")}
        self.env = {**base, **env}
        self.log_path = log_path
        self.port = pick_free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start and wait until it answers HTTP (any status)."""
        argv = [sys.executable, "-m", "cli", "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_for(self._answers, timeout_s=30, what=f"ordercmd serve on {self.url}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"ordercmd serve exited:\n{self.log()}")
        try:
            httpx.get(f"{self.url}/health", timeout=10)
        except httpx.TransportError:
            return False
        return True

    def exited(self, timeout_s: float) -> int:
        """Its exit code, waiting up to ``timeout_s`` for it to exit."""
        assert self.process is not None
        return self.process.wait(timeout_s)

    def log(self) -> str:
        """Everything it printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
