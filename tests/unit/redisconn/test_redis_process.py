"""One local redis-server process: its port and its command line."""

from __future__ import annotations

import socket
from pathlib import Path

from redisconn.process import pick_free_port, server_argv


def test_a_free_preferred_port_is_kept():
    port = pick_free_port()

    assert pick_free_port(preferred=port) == port


def test_a_taken_preferred_port_gives_another():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        assert pick_free_port(preferred=port) not in (port, 0)


def test_server_argv_keeps_data_on_loopback_with_aof_and_no_eviction(tmp_path):
    argv = server_argv(Path("/bin/redis-server"), tmp_path, 7001, {"appendonly": "no"})

    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert argv[0] == "/bin/redis-server"
    assert options == {
        "--bind": "127.0.0.1",
        "--port": "7001",
        "--dir": str(tmp_path),
        "--pidfile": str(tmp_path / "redis.pid"),
        "--logfile": str(tmp_path / "redis.log"),
        "--appendonly": "no",
        "--appendfsync": "everysec",
        "--save": "",
        "--maxmemory-policy": "noeviction",
        "--protected-mode": "yes",
    }
