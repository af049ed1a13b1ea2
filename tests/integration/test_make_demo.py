"""``make demo`` stops everything it started when SIGINT or SIGTERM reaches make alone."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.errors import ConfigError
from redisconn.process import find_server_binary
from tests.conftest import redis_unavailable
from tests.integration.harness import ROOT
from tests.integration.test_demo import assert_nothing_left, demo_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

STOP_TIMEOUT_S = 30.0
MAKE_VARIABLES = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}  # when the suite itself runs under make
# A process started with SIGINT ignored (a background job, some CI runners) passes that on, and
# make keeps an ignored SIGINT ignored: start make with the default dispositions, as a shell does.
DEFAULT_SIGNALS_THEN_EXEC = (
    "import os, signal, sys\n"
    "for signum in (signal.SIGINT, signal.SIGTERM):\n"
    "    signal.signal(signum, signal.SIG_DFL)\n"
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def installed_venv(tmp_path: Path) -> Path:
    """A ``VENV`` for make that is this interpreter's, with its install stamp fresh.

    make then installs nothing and runs the demo recipe as it is, with this ``bin/ordercmd``.
    """
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    (venv / ".installed-run").touch()
    return venv


def start_make_demo(tmp_path: Path) -> subprocess.Popen[str]:
    """``make demo`` with a small batch, leading its own process group, output piped."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on PATH")
    try:
        find_server_binary()
    except ConfigError as exc:
        redis_unavailable(f"no Redis server binary for the demo's embedded server: {exc}")
    argv = [make, "--no-print-directory", "-C", str(ROOT), "demo",
            f"VENV={installed_venv(tmp_path)}", "DEMO_ARGS=--commands 20 --seed 3"]  # fmt: skip
    env = {k: v for k, v in demo_env(tmp_path).items() if k not in MAKE_VARIABLES}
    return subprocess.Popen(
        [sys.executable, "-c", DEFAULT_SIGNALS_THEN_EXEC, *argv],  # exec: make keeps this pid
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a terminal would signal the whole group; this test does not
    )


def read_until(process: subprocess.Popen[str], marker: str) -> str:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(marker):
            return "".join(lines)
    pytest.fail(f"make demo ended before printing {marker!r}:\n{''.join(lines)}")


@pytest.mark.parametrize(
    ("signum", "moment"),
    [(signal.SIGINT, "Still running"), (signal.SIGTERM, "progress:")],
    ids=["sigint-while-kept-running", "sigterm-mid-batch"],
)
def test_a_signal_to_make_alone_stops_the_demo_and_all_it_started(tmp_path, signum, moment):
    output = ""
    with start_make_demo(tmp_path) as process:
        try:
            output = read_until(process, moment)
            signalled = time.monotonic()
            os.kill(process.pid, signum)  # make's pid only: not its process group
            rest, _ = process.communicate(timeout=STOP_TIMEOUT_S)
            output += rest
        finally:
            if process.poll() is None:  # failed: leave nothing running behind the test
                os.killpg(process.pid, signal.SIGKILL)
                kill_worker_group(output)
    assert time.monotonic() - signalled < STOP_TIMEOUT_S
    assert process.returncode == -signum, output  # make re-raises the signal once all is down
    assert "stopping everything the demo started" in output
    assert "stopped the demo's Redis" in output
    assert "Traceback" not in output
    assert_nothing_left(output, tmp_path)


def kill_worker_group(output: str) -> None:
    """SIGKILL the demo worker's process group (it has its own session), if it was started."""
    found = re.search(r"worker: pid (\d+)", output)
    if found:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(found.group(1)), signal.SIGKILL)
