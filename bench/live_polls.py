"""Redis commands per live-page poll against a page load, 100 signed-in tabs on one web process.

Each tab polls ``/live/version`` as ``static/live.js`` does (with ``X-Live: 1`` and the
version it has): an unchanged store scope (the overview and lists), and command scopes over 50
commands; beside them the page loads the same tabs would make if they reloaded instead. Redis
commands are counted by the server (``INFO commandstats``), so the session read, the version
reads and a page's own reads all count. Lower is better; the ratio says what polling saves.

    .venv/bin/python -m bench.live_polls
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import redis
from starlette.testclient import TestClient

from bench.report import header, table
from store.command_store import CommandStore, StoreLimits
from tests.factories import make_envelope
from tests.redis_server import RedisServer
from tests.unit.web.test_web_app import sign_in, web_settings
from web import create_app

TABS = 100
COMMANDS = 50
LIVE = {"X-Live": "1"}


def commands_per_request(client: redis.Redis, request: Callable[[], object], n: int) -> float:
    """Redis commands the server ran per call of ``request``, over ``n`` calls."""
    client.config_resetstat()
    for _ in range(n):
        request()
    calls = sum(int(v["calls"]) for v in client.info("commandstats").values())
    return (calls - 1) / n  # the INFO itself


def measure(client: redis.Redis) -> list[tuple[str, float]]:
    """Commands per request for each kind of request, over one web process and ``TABS`` tabs."""
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000))
    ids = [store.admit(make_envelope(f"k{i}", order_id=f"o{i}")).command_id
           for i in range(COMMANDS)]  # fmt: skip
    app = create_app(web_settings(), store, lambda _ids: None)
    tabs = [TestClient(app, follow_redirects=False) for _ in range(TABS)]
    for tab in tabs:
        sign_in(tab, "alice")
    turn = count()
    since = tabs[0].get("/live/version", params={"scope": "store"}, headers=LIVE).json()["version"]

    def poll_store() -> None:
        params = {"scope": "store", "since": since}
        reply = tabs[next(turn) % TABS].get("/live/version", params=params, headers=LIVE)
        assert reply.status_code == 204, reply.status_code

    def poll_command() -> None:
        i = next(turn)
        params = {"scope": f"command:{ids[i % COMMANDS]}"}
        tabs[i % TABS].get("/live/version", params=params, headers=LIVE).raise_for_status()

    def load(path: Callable[[int], str]) -> Callable[[], None]:
        def request() -> None:
            i = next(turn)
            tabs[i % TABS].get(path(i)).raise_for_status()

        return request

    return [
        ("poll, store scope unchanged (204)", commands_per_request(client, poll_store, 1000)),
        (f"poll, {COMMANDS} command scopes", commands_per_request(client, poll_command, 1000)),
        ("load the overview", commands_per_request(client, load(lambda _: "/"), 200)),
        ("load a command page",
         commands_per_request(client, load(lambda i: f"/commands/{ids[i % COMMANDS]}"), 200)),
        ("load dead letters", commands_per_request(client, load(lambda _: "/dead-letters"), 200)),
    ]  # fmt: skip


def main() -> None:
    """Print Redis commands per request, and the page load against its poll."""
    header(
        "Live pages: Redis commands per poll against per page load",
        f"{TABS} signed-in tabs on one web process, counted by the server (INFO commandstats)",
    )
    directory = Path(tempfile.mkdtemp(prefix="ordercmd-bench-live-"))
    try:
        with RedisServer(directory, appendonly=False) as server:
            started = time.perf_counter()
            rows = measure(redis.Redis.from_url(server.url, decode_responses=True))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(table(["request", "Redis commands each"], [(name, f"{n:.2f}") for name, n in rows]))
    poll, overview = rows[0][1], rows[2][1]
    print(f"\noverview load / unchanged poll: {overview / poll:.0f}x "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
