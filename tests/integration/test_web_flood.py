"""1,000 bogus tokens and keys at a real ``ordercmd serve``: its memory and hash work stay bounded.

Before key ids, each bogus credential cost one argon2 verification (64 MiB while it runs) per
configured operator or producer: 20 concurrent ones took the process from 85 MB to 1.4 GB. Now
an unknown key id costs no hash work, a known one at most ``failures_per_key_id`` a window, and
at most ``concurrent_hashes`` (2) verifications run at once: 2 x 64 MiB is the bound on top of
the process's own memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from config.web import new_key, stored_form
from tests.integration.harness import ROOT, wait_for

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
HOLDERS = 4  # operators, and as many producers, with real-cost hashes (64 MiB, t=3)
FLOOD = 1000
RSS_BOUND_MIB = 200  # growth allowed over the idle server: 2 argon2 runs at once plus slack
PER_KEY_ID = 10  # wrong keys verified per key id and window, then refused unverified
PER_ADDRESS = 20  # wrong keys from one address per window (the default), then refused


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def cpu_s(pid: int) -> float:
    """User and system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """Samples a process's resident memory every 5 ms in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes(self.pid))


@pytest.fixture
def served(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, int, dict[str, str], Path]]:
    """``ordercmd serve`` in a subprocess with real-cost hashes; its URL, pid, keys and log."""
    hasher = PasswordHasher()  # the real cost: 64 MiB per verification
    keys = {f"op{i}": new_key() for i in range(HOLDERS)}
    keys |= {f"shop{i}": new_key() for i in range(HOLDERS)}
    lines = ["[web]", "secure_cookies = false", f"[web.keys]\nfailures_per_key_id = {PER_KEY_ID}"]
    for name, key in keys.items():
        stored = json.dumps(stored_form(key, hasher.hash(key)))
        if name.startswith("op"):
            lines += [f"[web.operators.{name}]", 'role = "operator"', f"token_hash = {stored}"]
        else:
            lines += [f"[web.producers.{name}]", f"key_hash = {stored}"]
    config = tmp_path / "ordercmd.toml"
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "ORDERCMD_REDIS_URL": redis_url, "ORDERCMD_CONFIG": str(config),
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, timeout_s=30, what="ordercmd serve to answer")
        yield url, server.pid, keys, log
    finally:
        server.terminate()
        server.wait(10)


def bogus_requests(keys: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    """1,000 requests with credentials that are all wrong, of every kind."""
    ids = [key.split("_")[1] for key in keys.values()]
    requests = []
    for i in range(FLOOD):
        match i % 4:
            case 0:  # a well-formed key whose id nobody has
                token = f"oc_{i:016x}_bogus-secret-{i:012d}"
            case 1:  # a configured key id with a wrong secret
                token = f"oc_{ids[i % len(ids)]}_wrong-secret-{i:012d}"
            case 2:  # keys of the old form, without an id
                token = f"legacy-style-key-{i:020d}"
            case _:
                token = "x" * 200
        if i % 2:
            requests.append(("GET", "/api/dead-letters", {"Authorization": f"Bearer {token}"}))
        else:
            requests.append(("POST", "/v1/commands", {"X-API-Key": token}))
    return requests


async def fire(url: str, requests: list[tuple[str, str, dict[str, str]]]) -> list[int]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        replies = await asyncio.gather(
            *(client.request(method, path, headers=headers, json={} if method == "POST" else None)
              for method, path, headers in requests)
        )  # fmt: skip
    return [reply.status_code for reply in replies]


def test_a_flood_of_bogus_credentials_keeps_memory_and_hash_work_bounded(served):
    url, pid, keys, log = served
    for _ in range(20):  # the idle server, warmed by cheap requests
        httpx.get(f"{url}/health", timeout=5)
    idle, cpu_before_s = rss_bytes(pid), cpu_s(pid)
    started = time.monotonic()
    # the flood gets a loop of its own in a thread: Playwright's sync API (tests/e2e) may have
    # left one running in this test process's main thread
    with PeakRss(pid) as rss, ThreadPoolExecutor(1) as pool:
        statuses = pool.submit(asyncio.run, fire(url, bogus_requests(keys))).result()
    took_s = time.monotonic() - started
    grown_mib = (rss.peak - idle) / MIB
    print(f"\nidle RSS {idle / MIB:.0f} MiB, peak {rss.peak / MIB:.0f} MiB (+{grown_mib:.0f} MiB) "
          f"over {FLOOD} bogus credentials in {took_s:.1f} s, "
          f"{cpu_s(pid) - cpu_before_s:.1f} s of the server's CPU")  # fmt: skip
    assert set(statuses) <= {401, 429}, sorted(set(statuses))
    assert grown_mib < RSS_BOUND_MIB
    verified = [line for line in log.read_text().splitlines() if '"wrong key"' in line]
    print(f"argon2 verifications: {len(verified)}")
    assert len(verified) <= PER_ADDRESS, "argon2 ran only for known ids, capped per address"
    good = httpx.get(f"{url}/api/dead-letters", timeout=30,
                     headers={"Authorization": f"Bearer {keys['op0']}"})  # fmt: skip
    assert good.status_code in (200, 429), "a key never verified here may wait out the window"
