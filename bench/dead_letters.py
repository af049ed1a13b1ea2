"""Search and dead-letter listing at a million records, against the same queries at 10,000.

Not a test: prints p50/p99 per page for each query at the baseline size and at the full size,
and the ratio full / baseline measured in the same run (about 1 means the page cost does not
grow with the store). Uses ``ORDERCMD_REDIS_URL`` (a scratch DB: it is flushed!) or starts a
private server.

    .venv/bin/python bench/dead_letters.py [--records 1000000] [--baseline 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from redisconn.process import find_server_binary, pick_free_port, server_argv
from store import keys
from store.search import Search, SearchFilter

PROVIDERS = {"acme": "backd", "store": "shoplazza", "pod": "fastpod"}
KINDS = ("cancel", "update", "refund")
CHANGES = {"backd": {"merchant_order_status": "packing"}, "shoplazza": {"note": "door"},
           "fastpod": {"gift_message": "hi"}}  # fmt: skip
REASONS = ("rejected", "not_found", "auth", "exhausted", "ambiguous", "poison")
DEAD_SHARE = 0.2  # one command in five is a dead letter
T0_MS = 1_790_000_000_000


def populate(client: redis.Redis, start: int, stop: int, rng: random.Random) -> None:
    """Write commands ``start..stop`` as the store's scripts would leave them, in bulk."""
    pipe = client.pipeline(transaction=False)
    for n in range(start, stop):
        account = rng.choice(list(PROVIDERS))
        provider, kind, order = PROVIDERS[account], rng.choice(KINDS), f"O-{n // 2:08d}"
        command_id, created = f"{n:012x}", T0_MS + n * 10
        lane = f"{provider}:{account}:{order}"
        command: dict[str, Any] = {
            "kind": kind,
            "provider": provider,
            "account": account,
            "order_id": order,
        }
        if kind == "update":
            command["changes"] = CHANGES[provider]
        envelope = {"command": command, "idempotency_key": f"key-{n}",
                    "submitted_at": "2026-11-23T12:00:00Z", "source": "api"}  # fmt: skip
        dead = rng.random() < DEAD_SHARE
        fields: dict[Any, Any] = {"id": command_id, "envelope": json.dumps(envelope), "lane": lane,
                  "state": "dead" if dead else "succeeded", "created_ms": created,
                  "updated_ms": created + 500, "seq": n}  # fmt: skip
        if dead:
            reason = rng.choice(REASONS)
            fields["dead_reason"] = reason
            for key in (keys.dead_letters(), keys.dead_letters_by("reason", reason),
                        keys.dead_letters_by("provider", provider)):  # fmt: skip
                pipe.zadd(key, {command_id: created + 500})
        pipe.hset(keys.command(command_id), mapping=fields)
        pipe.zadd(keys.recent(), {command_id: created})
        for field, value in (("state", fields["state"]), ("provider", provider),
                             ("account", account), ("kind", kind)):  # fmt: skip
            pipe.zadd(keys.index(field, value), {command_id: created})
        pipe.zadd(keys.order_history(lane), {command_id: n})
        pipe.set(keys.idempotency(f"key-{n}"), f"{command_id} fp")
        if n % 2000 == 1999:
            pipe.execute()
    pipe.execute()


def queries(size: int) -> dict[str, Callable[[Search, random.Random], object]]:
    """Each query fetches one page of 50 (a random order or key within the populated range)."""
    return {
        "order id": lambda s, r: s.page(SearchFilter(order_id=f"O-{r.randrange(size // 2):08d}")),
        "idempotency key": lambda s, r: s.page(
            SearchFilter(idempotency_key=f"key-{r.randrange(size)}")),
        "provider (newest)": lambda s, r: s.page(SearchFilter(provider="fastpod")),
        "account + kind": lambda s, r: s.page(SearchFilter(account="store", kind="refund")),
        "dead letters": lambda s, r: s.page(SearchFilter(state="dead")),
        "dead, reason + provider": lambda s, r: s.page(
            SearchFilter(reason="poison", provider="backd")),
        "dead, account (filtered)": lambda s, r: s.page(SearchFilter(state="dead", account="pod")),
        "dead letters page 3": lambda s, r: _third_page(s),
    }  # fmt: skip


def _third_page(search: Search) -> object:
    cursor = None
    for _ in range(3):
        page = search.page(SearchFilter(state="dead"), cursor=cursor)
        cursor = page.cursor
    return page


def measure(search: Search, size: int, repeats: int) -> dict[str, tuple[float, float]]:
    """``{query: (p50 ms, p99 ms)}``."""
    rng, out = random.Random(7), {}
    for name, query in queries(size).items():
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            query(search, rng)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        out[name] = (statistics.median(samples), samples[int(len(samples) * 0.99) - 1])
    return out


def server_url() -> tuple[str, Callable[[], None]]:
    """A Redis to use: ``ORDERCMD_REDIS_URL``, or a private server stopped at the end."""
    if os.environ.get("ORDERCMD_REDIS_URL"):
        return os.environ["ORDERCMD_REDIS_URL"], lambda: None
    import subprocess

    port, folder = pick_free_port(), Path(tempfile.mkdtemp(prefix="ordercmd-bench-"))
    argv = server_argv(find_server_binary(), folder, port, {"appendonly": "no"})
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)

    def stop() -> None:
        process.kill()  # a throwaway server: no need to wait for it to free a million keys
        process.wait(30)

    return f"redis://127.0.0.1:{port}/0", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    url, stop = server_url()
    try:
        client = redis.Redis.from_url(url, decode_responses=True, protocol=2)
        client.flushdb(asynchronous=True)
        search, rng = Search(client, PROVIDERS), random.Random(1)
        results = {}
        for size, start in ((args.baseline, 0), (args.records, args.baseline)):
            began = time.perf_counter()
            populate(client, start, size, rng)
            print(f"{size:>9,} records ({time.perf_counter() - began:.0f} s to write)", flush=True)
            results[size] = measure(search, size, args.repeats)
        report(results, args.baseline, args.records)
    finally:
        stop()


def report(results: dict[int, dict[str, tuple[float, float]]], base: int, full: int) -> None:
    print(f"\n{'query (one page of 50)':<28}{'p50 ms':>9}{'p99 ms':>9}   "
          f"{'p50 ms':>9}{'p99 ms':>9}   ratio p50  p99")  # fmt: skip
    print(f"{'':<28}{f'at {base:,}':>18}   {f'at {full:,}':>18}")
    for name in results[base]:
        b50, b99 = results[base][name]
        f50, f99 = results[full][name]
        print(f"{name:<28}{b50:>9.2f}{b99:>9.2f}   {f50:>9.2f}{f99:>9.2f}   "
              f"{f50 / b50:>8.2f}x {f99 / b99:>4.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
