"""P5: dead-letter list/filter page latency at 1,000,000 dead letters against 10,000.

The dead letters are written straight into the store's structures (record hash, attempts
list, the dead-letter sorted sets by time, by reason and by provider, as ``finish.lua`` leaves
them) in a pipeline. Then ``DeadLetters.page()`` (50 per page) is timed with no filter, by
reason and by provider, at the first page and deep in the index, at 10,000 and again at
1,000,000 in the same run: a ratio near 1 means the page cost grows like log n, not n.
The dashboard's listing is timed the same way: one page in each sort order it offers
(``store.dead_listing.dead_page``) plus the totals beside it (``dead_totals``).
Target: p99 < 20 ms at 1,000,000.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import redis

from bench.report import header, percentile, table, verdict
from bench.stage import apply_env, stage
from schemas import Attempt, AttemptOutcome, CancelOrder, CommandEnvelope, DeadReason
from store import keys
from store.dead_listing import DeadSort, dead_page, dead_totals
from store.deadletters import DeadLetterFilter, DeadLetters
from store.search import Search, SearchFilter
from worker.app import build_store

SMALL, LARGE = 10_000, 1_000_000
REPEATS = 300
WARM_UP = 20
TARGET_P99_MS = 20.0
BATCH = 2_000
PROVIDERS = {"backd": "acme", "shoplazza": "store", "fastpod": "pod"}
REASONS = [str(r) for r in DeadReason]
T0_MS = 1_790_000_000_000
PLACEHOLDER = "ORDER-XXXXXXXX"


def templates() -> tuple[dict[str, str], str]:
    """An envelope JSON per provider (order id to fill in) and one attempt JSON."""
    at = datetime(2026, 11, 1, tzinfo=UTC)
    envelopes = {
        provider: CommandEnvelope(
            command=CancelOrder(
                kind="cancel", provider=provider, account=account, order_id=PLACEHOLDER
            ),
            idempotency_key=f"key-{PLACEHOLDER}",
            submitted_at=at,
        ).model_dump_json()
        for provider, account in PROVIDERS.items()
    }
    attempt = Attempt(
        number=1,
        started_at=at,
        duration_ms=120,
        outcome=AttemptOutcome.FAILED,
        http_status=406,
        error="NotAllowed",
        message="Order in status finished cannot be cancelled",
    ).model_dump_json()
    return envelopes, attempt


FILL = """
local start, stop, t0 = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local attempt, prefix = ARGV[4], ARGV[5]
local providers = {'backd', 'shoplazza', 'fastpod'}
local accounts = {backd = 'acme', shoplazza = 'store', fastpod = 'pod'}
local envelopes = {backd = ARGV[6], shoplazza = ARGV[7], fastpod = ARGV[8]}
local reasons = cjson.decode(ARGV[9])
for n = start, stop - 1 do
  local provider, reason = providers[n % 3 + 1], reasons[n % #reasons + 1]
  local id, died = string.format('dl%010d', n), t0 + n * 1000
  local order = string.format('O-%08d', n)
  local envelope = string.gsub(envelopes[provider], 'ORDER%-XXXXXXXX', order)
  local key = prefix .. 'cmd:' .. id
  redis.call('HSET', key, 'id', id, 'envelope', envelope, 'state', 'dead',
    'lane', provider .. ':' .. accounts[provider] .. ':' .. order, 'created_ms', died - 5000,
    'updated_ms', died, 'finished_ms', died, 'seq', n, 'deliveries', 0, 'attempts_n', 1,
    'unprocessable_n', 0, 'reconcile', 0, 'dead_reason', reason, 'last_message', 'refused')
  redis.call('RPUSH', key .. ':attempts', attempt)
  redis.call('ZADD', prefix .. 'dlq', died, id)
  redis.call('ZADD', prefix .. 'dlq:reason:' .. reason, died, id)
  redis.call('ZADD', prefix .. 'dlq:provider:' .. provider, died, id)
end
return stop - start
"""


def fill(client: redis.Redis, start: int, stop: int) -> None:
    """Write dead letters ``start..stop`` (newest have the highest numbers).

    The writes are those of ``finish.lua`` for a dead letter (record hash, attempts list, the
    three dead-letter indexes), made server-side by a script sent in pipelined batches so a
    million take seconds; the key names are checked against ``store.keys`` first.
    """
    assert keys.command("x") == keys.PREFIX + ":cmd:x"
    assert keys.dead_letters_by("reason", "r") == keys.dead_letters() + ":reason:r"
    envelopes, attempt = templates()
    script = client.register_script(FILL)
    pipe = client.pipeline(transaction=False)
    for first in range(start, stop, BATCH):
        args: list[str | int] = [first, min(stop, first + BATCH), T0_MS, attempt, keys.PREFIX + ":"]
        args += [envelopes[p] for p in PROVIDERS] + [json.dumps(REASONS)]
        script(args=args, client=pipe)
    pipe.execute()


CASES = [
    ("all", DeadLetterFilter()),
    ("reason=exhausted", DeadLetterFilter(reason="exhausted")),
    ("provider=shoplazza", DeadLetterFilter(provider="shoplazza")),
]


def timed_ms(dead: DeadLetters, where: DeadLetterFilter, offset: int) -> tuple[float, float]:
    """Wall and CPU (this process) milliseconds of one page."""
    started, cpu = time.perf_counter(), time.process_time()
    page = dead.page(where, offset=offset, limit=50)
    elapsed = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    assert len(page) == 50, (where, offset, len(page))
    return elapsed


def timings(small: DeadLetters, large: DeadLetters) -> list[list[object]]:
    """One row per case: p50 and p99 at each size, calls to the two sizes interleaved."""
    rows: list[list[object]] = []
    for label, where in CASES:
        for depth in ("first page", "deep"):
            samples: dict[int, list[float]] = {SMALL: [], LARGE: []}
            cpu: list[float] = []
            sizes = {SMALL: small, LARGE: large}
            offsets = {
                n: 0 if depth == "first page" else d.count(where) - 100 for n, d in sizes.items()
            }
            for rep in range(WARM_UP + REPEATS):
                for n, dead in sizes.items():
                    elapsed, cpu_ms = timed_ms(dead, where, offsets[n])
                    if rep >= WARM_UP:
                        samples[n].append(elapsed)
                        if n == LARGE:
                            cpu.append(cpu_ms)
            s50, s99 = percentile(samples[SMALL], 50), percentile(samples[SMALL], 99)
            p50, p99 = percentile(samples[LARGE], 50), percentile(samples[LARGE], 99)
            rows.append(
                [
                    f"{label}, {depth}",
                    s50,
                    s99,
                    p50,
                    p99,
                    f"{p50 / s50:.2f}x",
                    f"{p99 / s99:.2f}x",
                    percentile(cpu, 99),
                    verdict(p99 < TARGET_P99_MS),
                ]
            )
    return rows


LISTINGS = [(sort, depth) for sort in DeadSort for depth in ("first page", "deep")
            if depth == "first page" or sort in (DeadSort.NEWEST, DeadSort.OLDEST)]  # fmt: skip
DEAD = SearchFilter(state="dead")


def deep_cursor(client: redis.Redis, sort: DeadSort) -> str:
    """A cursor 100 entries before the end of the walk, as a page deep in the list hands out."""
    ranks = client.zrange if sort is DeadSort.NEWEST else client.zrevrange
    member, score = ranks(keys.dead_letters(), 99, 99, withscores=True)[0]  # type: ignore[str-unpack]
    return f"{float(score):.0f}:{member!s}"


def listing_ms(client: redis.Redis, sort: DeadSort, cursor: str | None) -> tuple[float, float]:
    """Wall and CPU ms of what the dashboard's list does: one page in ``sort`` and the totals."""
    search = Search(client, {account: provider for provider, account in PROVIDERS.items()})
    started, cpu = time.perf_counter(), time.process_time()
    page = dead_page(search, DEAD, sort, cursor=cursor, limit=50)
    dead_totals(client, DEAD)
    elapsed = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
    assert len(page.records) == 50, (sort, cursor, len(page.records))
    return elapsed


def listing_timings(small: redis.Redis, large: redis.Redis) -> list[list[object]]:
    """One row per sort order and depth, as ``timings`` (sizes called in turn)."""
    rows: list[list[object]] = []
    for sort, depth in LISTINGS:
        samples: dict[int, list[float]] = {SMALL: [], LARGE: []}
        cpu: list[float] = []
        for rep in range(WARM_UP + REPEATS):
            for n, client in ((SMALL, small), (LARGE, large)):
                cursor = deep_cursor(client, sort) if depth == "deep" else None
                elapsed, cpu_ms = listing_ms(client, sort, cursor)
                if rep >= WARM_UP:
                    samples[n].append(elapsed)
                    cpu += [cpu_ms] if n == LARGE else []
        s50, s99 = percentile(samples[SMALL], 50), percentile(samples[SMALL], 99)
        p50, p99 = percentile(samples[LARGE], 50), percentile(samples[LARGE], 99)
        rows.append([f"list sort={sort} + totals, {depth}", s50, s99, p50, p99,
                     f"{p50 / s50:.2f}x", f"{p99 / s99:.2f}x", percentile(cpu, 99),
                     verdict(p99 < TARGET_P99_MS)])  # fmt: skip
    return rows


def main() -> None:
    header(
        "P5 dead-letter pages: 1,000,000 vs 10,000 dead letters (ms, lower is better)",
        f"DeadLetters.page(limit=50), {REPEATS} calls per case and size, the two sizes (two "
        f"databases of one Redis) called in turn; target p99 < {TARGET_P99_MS:.0f} ms at 1M",
    )
    with stage("p5", appendonly=False) as bench:
        # a million writes on a busy machine can hold one pipelined read past the 5-s default
        settings = apply_env({**bench.env(), "ORDERCMD_STORE_TIMEOUT_S": "60"})
        large_store = build_store(settings)
        small_store = build_store(
            settings.model_copy(update={"redis_url": bench.redis.url[:-1] + "1"})
        )
        fill(small_store.client, 0, SMALL)
        started = time.perf_counter()
        fill(large_store.client, 0, LARGE)
        print(f"wrote {LARGE:,} dead letters in {time.perf_counter() - started:.0f} s")
        rows = timings(DeadLetters(small_store), DeadLetters(large_store))
        rows += listing_timings(small_store.client, large_store.client)
        for store in (small_store, large_store):
            store.client.close()
    headers = [
        "case",
        "10k p50",
        "10k p99",
        "1M p50",
        "1M p99",
        "p50 1M/10k",
        "p99 1M/10k",
        "1M p99 cpu",
        "",
    ]
    print(table(headers, rows))
    print("'cpu' = this process's CPU time per page: the client's share, without waits for a core")


if __name__ == "__main__":
    main()
