"""The store's RESP packer sends the same bytes as redis-py's own, and refuses what it refuses."""

from __future__ import annotations

from enum import IntEnum, StrEnum

import pytest
from redis._parsers.encoders import Encoder
from redis.connection import PythonRespSerializer
from redis.exceptions import DataError

from redisconn.client import redis_client
from redisconn.packing import RespPacker
from tests.redis_server import RedisServer


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


REDIS_PY = PythonRespSerializer(6000, Encoder("utf-8", "strict", decode_responses=True).encode)

COMMANDS = [
    ("SET", "k", "v"),
    ("EVALSHA", "a" * 40, 2, "{ordercmd}:cmd:x", "{ordercmd}:running", "x", -7, 2.5, 1e20),
    ("HSET", "k", "é", "日本", b"\x00\xff\r\n", bytearray(b"ba"), memoryview(b"mv")),
    ("HSET", "k", Colour.RED, Size.BIG, "x" * 10_000),  # a long one: redis-py sends it apart
    ("CONFIG GET", "maxmemory"),  # a command name of two words is split, as redis-py does
    (b"CLIENT SETNAME", "n"),
    ("PING",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_the_bytes_are_redis_pys(command):
    assert b"".join(RespPacker().pack(*command)) == b"".join(REDIS_PY.pack(*command))


@pytest.mark.parametrize("bad", [True, None, object(), ["a"]], ids=lambda bad: type(bad).__name__)
def test_what_redis_py_refuses_is_refused(bad):
    with pytest.raises(DataError):
        REDIS_PY.pack("SET", "k", bad)
    with pytest.raises(DataError, match="Invalid input of type"):
        RespPacker().pack("SET", "k", bad)


def test_the_store_client_packs_with_it_and_redis_reads_it(tmp_path):
    with RedisServer(tmp_path / "redis", appendonly=False) as server:
        client = redis_client(server.url)
        assert isinstance(client.connection_pool.get_connection()._command_packer, RespPacker)
        client.hset("h", mapping={"é": "日本", "n": 3, "f": 2.5})
        assert client.hgetall("h") == {"é": "日本", "n": "3", "f": "2.5"}
        assert client.config_get("maxmemory-policy")  # a two-word command name
        client.close()
