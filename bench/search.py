"""Search by state, provider, kind and their combinations at 1,000,000 commands against 10,000.

Commands are written server-side by a script in pipelined batches, as the store's scripts leave
them: the record hash, the admission index, the search indexes per state, provider, account
and kind (``keys.index``), and for dead letters the dead-letter indexes. Fields are spread by a
hash of the command number: provider, kind and account a third each; 2% waiting, 1% queued,
1% running, 6% retrying, 10% dead (six reasons), the rest succeeded or already done. Then
``Search.page(limit=50)`` is timed per query at the two sizes (two databases of one Redis),
called in turn, and the ratio 1M / 10k printed: about 1 means the page cost does not grow with
the store. Target: p99 < 20 ms at 1M.

    .venv/bin/python -m bench.search
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import redis

from bench.report import header, percentile, table, verdict
from schemas import COMMAND_ADAPTER, CommandEnvelope
from store import keys
from store.search import Search, SearchFilter
from tests.factories import SUBMITTED_AT
from tests.redis_server import RedisServer

SMALL, LARGE = 10_000, 1_000_000
REPEATS = 200
WARM_UP = 20
TARGET_P99_MS = 20.0
BATCH = 2_000
STEP_MS = 10  # admission times 10 ms apart, newest last
T0_MS = 1_790_000_000_000
ACCOUNTS = {"acme": "backd", "store": "shoplazza", "pod": "fastpod"}
KINDS = ("cancel", "update", "refund")
CHANGES = {"backd": {"merchant_order_status": "packing"}, "shoplazza": {"note": "door"},
           "fastpod": {"gift_message": "hi"}}  # fmt: skip
PLACEHOLDER = "ORDER-XXXXXXXX"

FILL = """
local start, stop, t0, step, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), ARGV[5]
local envelopes = cjson.decode(ARGV[6])
local accounts = {'acme', 'store', 'pod'}
local providers = {acme = 'backd', store = 'shoplazza', pod = 'fastpod'}
local kinds = {'cancel', 'update', 'refund'}
local reasons = {'rejected', 'not_found', 'auth', 'exhausted', 'ambiguous', 'poison'}
-- per 100 commands: 2 waiting, 1 queued, 1 running, 6 retrying, 10 dead, 5 already done
local shares = {{2, 'waiting'}, {3, 'queued'}, {4, 'running'}, {10, 'retrying'}, {20, 'dead'},
  {25, 'already_done'}, {100, 'succeeded'}}
for n = start, stop - 1 do
  local h = (n * 2654435761) % 4294967296
  local account, kind = accounts[h % 3 + 1], kinds[math.floor(h / 3) % 3 + 1]
  local provider, bucket = providers[account], math.floor(h / 9) % 100
  local state
  for _, share in ipairs(shares) do
    if not state and bucket < share[1] then state = share[2] end
  end
  local id, created = string.format('c%011d', n), t0 + n * step
  local order = string.format('O-%08d', n)
  local envelope = string.gsub(envelopes[provider .. '|' .. kind], 'ORDER%-XXXXXXXX', order)
  local key = prefix .. 'cmd:' .. id
  redis.call('HSET', key, 'id', id, 'envelope', envelope, 'state', state,
    'lane', provider .. ':' .. account .. ':' .. order, 'created_ms', created,
    'updated_ms', created, 'seq', n, 'deliveries', 0, 'attempts_n', 0, 'unprocessable_n', 0,
    'reconcile', 0)
  redis.call('ZADD', prefix .. 'recent', created, id)
  for _, fv in ipairs({{'state', state}, {'provider', provider}, {'account', account},
    {'kind', kind}}) do
    redis.call('ZADD', prefix .. 'ix:' .. fv[1] .. ':' .. fv[2], created, id)
  end
  if state == 'dead' then
    local reason, died = reasons[math.floor(h / 900) % 6 + 1], created + 5000
    redis.call('HSET', key, 'dead_reason', reason, 'finished_ms', died)
    redis.call('ZADD', prefix .. 'dlq', died, id)
    redis.call('ZADD', prefix .. 'dlq:reason:' .. reason, died, id)
    redis.call('ZADD', prefix .. 'dlq:provider:' .. provider, died, id)
  end
end
return stop - start
"""


def envelopes() -> dict[str, str]:
    """An envelope JSON per ``provider|kind``, its order id to fill in."""
    out = {}
    for account, provider in ACCOUNTS.items():
        for kind in KINDS:
            data: dict[str, object] = {"kind": kind, "provider": provider, "account": account,
                    "order_id": PLACEHOLDER}  # fmt: skip
            if kind == "update":
                data["changes"] = CHANGES[provider]
            envelope = CommandEnvelope(
                command=COMMAND_ADAPTER.validate_python(data),
                idempotency_key=f"key-{PLACEHOLDER}",
                submitted_at=SUBMITTED_AT,
            )
            out[f"{provider}|{kind}"] = envelope.model_dump_json()
    return out


def fill(client: redis.Redis, count: int) -> None:
    """Write commands ``0..count``; the key names are checked against ``store.keys`` first."""
    prefix = keys.PREFIX + ":"
    assert keys.command("x") == prefix + "cmd:x"
    assert keys.recent() == prefix + "recent"
    assert keys.index("state", "dead") == prefix + "ix:state:dead"
    assert keys.dead_letters_by("reason", "r") == keys.dead_letters() + ":reason:r"
    templates = json.dumps(envelopes())
    script = client.register_script(FILL)
    pipe = client.pipeline(transaction=False)
    for first in range(0, count, BATCH):
        script(args=[first, min(count, first + BATCH), T0_MS, STEP_MS, prefix, templates],
               client=pipe)  # fmt: skip
        if first % (BATCH * 50) == 0:
            pipe.execute()
    pipe.execute()


def queries(size: int) -> dict[str, tuple[SearchFilter, int]]:
    """Each query's filter and the page of 50 fetched (1 = the first)."""
    last_minute = T0_MS + (size - 6000) * STEP_MS  # the newest 6,000 admissions
    return {
        "state=waiting (2%)": (SearchFilter(state="waiting"), 1),
        "state=succeeded (75%)": (SearchFilter(state="succeeded"), 1),
        "state=dead (10%)": (SearchFilter(state="dead"), 1),
        "provider=fastpod": (SearchFilter(provider="fastpod"), 1),
        "kind=refund": (SearchFilter(kind="refund"), 1),
        "provider+kind+state=retrying": (
            SearchFilter(provider="backd", kind="refund", state="retrying"), 1),
        "account+kind": (SearchFilter(account="store", kind="update"), 1),
        "dead, reason+kind": (SearchFilter(reason="poison", kind="update"), 1),
        "provider, last minute": (SearchFilter(provider="shoplazza", since_ms=last_minute), 1),
        "state=waiting, page 3": (SearchFilter(state="waiting"), 3),
    }  # fmt: skip


def fetch(search: Search, where: SearchFilter, pages: int) -> tuple[float, float, int]:
    """Milliseconds for the page (records read) and for its ids alone; entries examined."""
    cursor = None
    for _ in range(pages - 1):
        cursor = search.scan_ids(where, cursor=cursor)[1]
    started = time.perf_counter()
    ids, _, examined = search.scan_ids(where, cursor=cursor)
    scanned = time.perf_counter()
    page = search.page(where, cursor=cursor)
    done = time.perf_counter()
    assert len(ids) == len(page.records) == 50, (where, len(ids), len(page.records))
    return (done - scanned) * 1000, (scanned - started) * 1000, examined


def timings(small: Search, large: Search, large_size: int) -> list[list[object]]:
    """One row per query: p50/p99 at each size (calls interleaved), ratios, ids-only cost."""
    rows: list[list[object]] = []
    by_size = {SMALL: (small, queries(SMALL)), LARGE: (large, queries(large_size))}
    for name in queries(SMALL):
        pages: dict[int, list[float]] = {SMALL: [], LARGE: []}
        scans: dict[int, list[float]] = {SMALL: [], LARGE: []}
        for rep in range(WARM_UP + REPEATS):
            for size, (search, asked) in by_size.items():
                page_ms, scan_ms, examined = fetch(search, *asked[name])
                if rep >= WARM_UP:
                    pages[size].append(page_ms)
                    scans[size].append(scan_ms)
        s50, s99 = percentile(pages[SMALL], 50), percentile(pages[SMALL], 99)
        p50, p99 = percentile(pages[LARGE], 50), percentile(pages[LARGE], 99)
        ids50, ids99 = percentile(scans[LARGE], 50), percentile(scans[LARGE], 99)
        rows.append([name, s50, s99, p50, p99, f"{p50 / s50:.2f}x", f"{p99 / s99:.2f}x",
                     ids50, ids99, f"{ids50 / percentile(scans[SMALL], 50):.2f}x", examined,
                     verdict(p99 < TARGET_P99_MS)])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=LARGE, help="the large size")
    records = parser.parse_args().records
    header(
        "Search by index: 1,000,000 vs 10,000 commands (ms, lower is better)",
        f"Search.page(limit=50), {REPEATS} calls per query and size, the two sizes (two "
        f"databases of one Redis) called in turn; target p99 < {TARGET_P99_MS:.0f} ms at 1M",
    )
    directory = Path(tempfile.mkdtemp(prefix="ordercmd-bench-search-"))
    try:
        with RedisServer(directory, appendonly=False) as server:
            large = redis.Redis.from_url(server.url, decode_responses=True)
            small = redis.Redis.from_url(server.url[:-1] + "1", decode_responses=True)
            fill(small, SMALL)
            started = time.perf_counter()
            fill(large, records)
            print(f"wrote {records:,} commands in {time.perf_counter() - started:.0f} s; "
                  f"used_memory {large.info('memory')['used_memory_human']}")  # fmt: skip
            rows = timings(Search(small, ACCOUNTS), Search(large, ACCOUNTS), records)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    big = f"{records // 1000}k" if records < LARGE else f"{records // LARGE}M"
    headers = ["query (one page of 50)", "10k p50", "10k p99", f"{big} p50", f"{big} p99",
               f"p50 {big}/10k", f"p99 {big}/10k", "ids p50", "ids p99", "ids p50 ratio",
               "examined", ""]  # fmt: skip
    print(table(headers, rows))
    print(f"'ids' = Search.scan_ids alone at {big}: the index walk without reading the records;")
    print(f"'examined' = index entries that walk took at {big} (other filters checked by ZSCORE)")


if __name__ == "__main__":
    main()
