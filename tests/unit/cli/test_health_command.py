"""``ordercmd health``: the containers' health check answers from the store, a worker and a URL."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from cli.main import cli
from store import keys

THIS_WORKER = f"ordercmd@{socket.gethostname()}"


def run(*args: str):
    return CliRunner().invoke(cli, ["health", *args])


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def web_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ok_when_the_store_answers(redis_url, use_settings):
    use_settings(redis_url)
    result = run()
    assert (result.exit_code, result.output.strip()) == (0, "ok")


def test_without_a_configured_redis_it_fails_and_starts_none():
    result = run()
    assert result.exit_code == 1
    assert "ORDERCMD_REDIS_URL is not set" in result.output


def test_an_unreachable_store_fails(use_settings):
    use_settings("redis://127.0.0.1:1/0")
    result = run()
    assert result.exit_code == 1
    assert "Redis at redis://127.0.0.1:1/0" in result.output


def test_worker_check_needs_this_hosts_worker_to_have_ticked_lately(
    redis_url, use_settings, redis_client
):
    use_settings(redis_url)
    assert "has not been seen" in run("--worker").output
    redis_client.zadd(keys.workers_seen(), {THIS_WORKER: (time.time() - 120) * 1000})
    stale = run("--worker", "--within-s", "60")
    assert stale.exit_code == 1
    assert "last seen 120 s ago" in stale.output
    redis_client.zadd(keys.workers_seen(), {THIS_WORKER: time.time() * 1000})
    assert run("--worker").exit_code == 0


def test_http_check_needs_a_200(redis_url, use_settings, web_url):
    use_settings(redis_url)
    assert run("--http", f"{web_url}/health").exit_code == 0
    failing = run("--http", f"{web_url}/other")
    assert failing.exit_code == 1
    assert "HTTP 503" in failing.output
    assert run("--http", "http://127.0.0.1:1/health").exit_code == 1
