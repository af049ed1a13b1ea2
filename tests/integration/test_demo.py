"""``ordercmd demo`` run for real: its summary adds up, and nothing it started outlives it."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.errors import ConfigError
from redisconn.client import redis_client
from redisconn.process import find_server_binary
from store import keys
from tests.conftest import redis_unavailable
from tests.integration.harness import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ROW = re.compile(r"^\W*(succeeded|already done|dead: [a-z_]+|submitted|retried)\W+(\d+)\b", re.M)
EXPECTED_ROWS = {
    "succeeded",
    "already done",
    "dead: rejected",
    "dead: not_found",
    "dead: unsupported",
}

BIN = Path(sys.executable).parent  # the venv's bin: not on a newcomer's PATH


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment (no ORDERCMD_* of the developer) with a private data dir."""
    return {
        **os.environ,
        "ORDERCMD_DATA_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        **extra,
    }


def run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cli", "demo", *args]
    return subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=80, check=False
    )


def printed_commands(output: str) -> list[str]:
    """The command lines the demo prints under "Inspect this run", comments dropped."""
    section = output.split("Inspect this run", 1)[1].splitlines()[1:]
    indented = itertools.takewhile(lambda line: line.startswith("  "), section)
    return [line.split("   #")[0].strip() for line in indented]


def summary(output: str) -> dict[str, int]:
    """``outcome -> count`` from the summary table (the last value of each row wins)."""
    return {label: int(count) for label, count in ROW.findall(output)}


def started(output: str) -> tuple[str, int]:
    """The run's tag and the worker's pid, as the demo prints them."""
    tag = re.search(r"run ([0-9a-f]+)", output)
    pid = re.search(r"worker: pid (\d+)", output)
    assert tag, output
    assert pid, output
    return tag.group(1), int(pid.group(1))


def processes_with(marker: str) -> list[str]:
    """Command lines of running processes (not this one) that contain ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_nothing_left(output: str, tmp_path: Path) -> None:
    tag, worker_pid = started(output)
    assert not alive(worker_pid), f"worker {worker_pid} outlived the demo"
    assert processes_with(f"demo-{tag}") == []
    assert processes_with(str(tmp_path)) == [], "the demo's embedded Redis outlived it"


def assert_summary_adds_up(output: str, submitted: int) -> None:
    rows = summary(output)
    assert set(rows) >= EXPECTED_ROWS, output
    assert all(rows[label] > 0 for label in EXPECTED_ROWS), rows
    ends = [count for label, count in rows.items() if label not in {"submitted", "retried"}]
    assert (sum(ends), rows["submitted"]) == (submitted, submitted), rows
    assert "retried" in rows, output
    assert "ordercmd status " in output
    assert "ordercmd dlq list" in output


def test_demo_on_the_configured_redis_adds_up_and_leaves_nothing(redis_url, tmp_path):
    result = run_demo(demo_env(tmp_path, ORDERCMD_REDIS_URL=redis_url), "--commands", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_summary_adds_up(result.stdout, 60)
    assert "your ORDERCMD_REDIS_URL" in result.stdout
    assert len(printed_commands(result.stdout)) >= 3, result.stdout
    for line in printed_commands(result.stdout):  # run as printed, in a shell without the venv
        shell_path = os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != BIN
        )
        env = demo_env(tmp_path, ORDERCMD_REDIS_URL=redis_url, PATH=shell_path)
        done = subprocess.run(["sh", "-c", line], cwd=ROOT, env=env, capture_output=True)
        assert done.returncode == 0, (line, done.stderr.decode())
    client = redis_client(redis_url)
    try:
        assert client.zcard(keys.recent()) == 60, "the commands live in the configured Redis"
    finally:
        client.close()
    assert_nothing_left(result.stdout, tmp_path)


def test_demo_without_a_url_runs_on_its_own_embedded_redis(tmp_path):
    try:
        find_server_binary()
    except ConfigError as exc:
        redis_unavailable(f"no Redis server binary for the embedded server: {exc}")
    result = run_demo(demo_env(tmp_path), "--commands", "60", "--seed", "7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_summary_adds_up(result.stdout, 60)
    url = re.search(r"embedded Redis at (redis://\S+)", result.stdout)
    assert url, result.stdout
    assert not url.group(1).startswith("redis://127.0.0.1:6379"), "never the shared 6379"
    assert re.search(
        rf"ORDERCMD_REDIS_URL={re.escape(url.group(1))} \S*ordercmd status", result.stdout
    )
    assert (tmp_path / "demo" / "redis").is_dir()
    assert "stopped the demo's Redis" in result.stdout
    assert_nothing_left(result.stdout, tmp_path)


def test_ctrl_c_mid_batch_stops_everything_quickly(tmp_path):
    try:
        find_server_binary()
    except ConfigError as exc:
        redis_unavailable(f"no Redis server binary for the embedded server: {exc}")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--commands", "300"],
        env=demo_env(tmp_path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("progress:"):
            break
    assert lines, "the demo printed nothing"
    assert lines[-1].startswith("progress:"), "".join(lines)
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=20)
    output = "".join(lines) + rest
    assert time.monotonic() - interrupted < 20
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert_nothing_left(output, tmp_path)
