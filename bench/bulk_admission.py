"""Bulk admission speed and memory: 100,000 CSV rows checked and admitted, against a plain parse.

    python bench/bulk_admission.py [--rows 100000]

Uses ``ORDERCMD_REDIS_URL`` when set (flushes nothing: it writes under fresh keys), else starts
a private Redis. Prints rows/s of each pass, the ratio to a plain ``csv.reader`` pass over the
same file measured in the same run, and the peak Python heap (tracemalloc) and process RSS.
Admission sends no message (bulk commands go to the outbox); then one scheduler tick, as a
worker runs it, publishes the whole backlog, timed on its own.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402

from config.settings import Settings  # noqa: E402
from producer import Producer  # noqa: E402
from producer.batches import Batches  # noqa: E402
from producer.bulk import BulkRun  # noqa: E402
from producer.bulk_rows import BulkFormat  # noqa: E402
from store.command_store import CommandStore  # noqa: E402
from store.dispatching import Publish  # noqa: E402
from worker.app import build_store, publisher  # noqa: E402
from worker.scheduler import Scheduler  # noqa: E402

HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
ROW_KINDS = [
    "cancel,backd,acme,BO-{i},customer asked,,,,bench-{run}-{i}\n",
    "refund,shoplazza,store,633-{i},,12.50,,L1:1;L2:2,\n",
    'update,fastpod,pod,F-{i},,,"{{""gift_message"": ""hi {i}""}}",,\n',
    "refund,backd,acme,BR-{i},damaged,5.00,,,bench-{run}-r{i}\n",
]
ACCOUNTS = {
    "acme": {"provider": "backd", "base_url": "http://b.invalid", "public_key": "pk",
             "secret_key": "sk"},
    "store": {"provider": "shoplazza", "base_url": "http://s.invalid", "access_token": "t"},
    "pod": {"provider": "fastpod", "base_url": "http://f.invalid", "token": "t"},
}  # fmt: skip


def write_file(path: Path, rows: int) -> None:
    run = int(time.time())
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            out.write(ROW_KINDS[i % len(ROW_KINDS)].format(i=i, run=run))


def timed(label: str, rows: int, action: Callable[[], object], base_s: float | None) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    ratio = f"  ({elapsed / base_s:5.1f} x the plain parse)" if base_s else ""
    print(f"{label:<34} {elapsed:7.2f} s  {rows / elapsed:>10,.0f} rows/s{ratio}")
    return elapsed


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bulk_pass(
    producer: Producer,
    store: CommandStore,
    path: Path,
    rows: int,
    base_s: float | None,
    publish: Publish,
) -> None:
    with BulkRun(producer, file_name=path.name, fmt=BulkFormat.CSV) as run, path.open("rb") as f:
        if base_s is None:
            run.check(f)
            run.admit(Batches(store), actor="bench")
            return
        timed("check: parse + validate + keys", rows, lambda: run.check(f), base_s)
        timed(
            "admit: store (outbox)", rows, lambda: run.admit(Batches(store), actor="bench"), base_s
        )
        scheduler = Scheduler(store, publish, tick_s=1)  # no accounts: backlogs go ungated

        def drain() -> None:  # ticks until the backlogs are empty (1,000 per account per tick)
            while scheduler.run_once():
                pass

        timed("scheduler ticks: publish the backlogs", rows, drain, base_s)


def plain_parse(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as lines:
        for _ in csv.reader(lines):
            pass


@contextmanager
def redis_url() -> Iterator[str]:
    if os.environ.get("ORDERCMD_REDIS_URL"):
        yield os.environ["ORDERCMD_REDIS_URL"]
        return
    from tests.redis_server import RedisServer

    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(Path(directory), appendonly=False).start()
        try:
            yield server.url
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Bulk admission benchmark")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, redis_url() as url:
        path = Path(directory) / "orders.csv"
        write_file(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:.1f} MB, Redis {url}")
        settings = Settings(redis_url=url, accounts=ACCOUNTS)
        store = build_store(settings)
        celery_app = Celery("bench", broker=url, set_as_current=False)
        publish = publisher(celery_app)
        producer = Producer(settings, store, publish)
        base_s = timed(
            "plain csv.reader parse (baseline)", args.rows, lambda: plain_parse(path), None
        )
        rss_before_mb = rss_mb()
        bulk_pass(producer, store, path, args.rows, base_s, publish)
        print(f"peak RSS {rss_mb():.0f} MB (before the bulk run: {rss_before_mb:.0f} MB)")
        tracemalloc.start()  # slows Python down: a second run, for memory only
        bulk_pass(producer, store, path, args.rows, None, publish)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak Python heap during a bulk run (tracemalloc, re-run of the same file): "
              f"{peak / 1e6:.1f} MB for a {size_mb:.1f} MB file")  # fmt: skip
        store.client.close()
        celery_app.close()


if __name__ == "__main__":
    main()
