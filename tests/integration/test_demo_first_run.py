"""A newcomer's first run: the kept demo, then every command it prints, pasted into a shell.

The shell has no venv on PATH, as a newcomer's has not; the shipped examples are among them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from providers.errors import ConfigError
from redisconn.process import find_server_binary
from tests.conftest import redis_unavailable
from tests.integration.harness import ROOT, wait_for
from tests.integration.test_demo import BIN, assert_nothing_left, demo_env

pytestmark = pytest.mark.integration

UNFINISHED = ("queued", "running", "retrying", "waiting")


def shell(line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``line`` run by bash from the project directory, as a user would paste it."""
    return subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )


def printed_after(output: list[str], marker: str) -> list[str]:
    """The indented command lines the demo printed after ``marker``."""
    start = next(i for i, line in enumerate(output) if marker in line)
    return [line.strip() for line in output[start:] if line.startswith("  ")]


def states(env: dict[str, str], source: str) -> dict[str, Any]:
    done = shell(f"{source} && {BIN / 'ordercmd'} status --json", env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout)["states"])


def test_every_command_the_kept_demo_prints_runs_as_printed(tmp_path):
    try:
        find_server_binary()
    except ConfigError as exc:
        redis_unavailable(f"no Redis server binary for the embedded server: {exc}")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != BIN)
    env = demo_env(tmp_path, PATH=path)
    demo = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--commands", "30", "--keep-running"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    output: list[str] = []
    try:
        for line in demo.stdout:
            output.append(line)
            if "examples/publish_events.py" in line:
                break
        lines = printed_after(output, "Still running")
        assert lines[0].startswith("source "), "".join(output)
        source, commands = lines[0], lines[1:]
        before = states(env, source)

        for line in commands:
            done = shell(f"{source} && {line}", env)
            assert done.returncode == 0, (line, done.stdout, done.stderr)

        after = wait_for(
            lambda: (s := states(env, source)) and not any(s[k] for k in UNFINISHED) and s,
            timeout_s=60,
            what="the printed commands and examples to finish",
        )
        assert after["dead"] == before["dead"], (before, after)
        assert after["succeeded"] - before["succeeded"] == 1 + 8 + 3, (before, after)
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, "".join(output) + rest
    assert_nothing_left("".join(output) + rest, tmp_path)
