"""P4: provider calls per successful cancel and refund on the happy path, per provider.

The sandbox counts every request it answers; one worker runs each (provider, kind) group of
N commands against fresh orders in a state that allows it, with no faults and no 429s (the
sandbox's Shoplazza bucket is opened wide). The baseline is one call per command, what the
bare task makes. Target: 1.00.
"""

from __future__ import annotations

import uuid

from bench.report import header, table, verdict
from bench.runs import command, ordercmd_producer, settings_env, submit_all, succeeded
from bench.stage import Stage, Workers, apply_env, stage, wait_until
from config.settings import Settings

N = 50
# provider -> kind -> order state that allows it (full refunds: no amount)
CASES = {
    "backd": {"cancel": "order_placed", "refund": "order_confirmed"},
    "shoplazza": {"cancel": "placed", "refund": "placed"},
    "fastpod": {"cancel": "new_order", "refund": "draft"},
}


def requests(bench: Stage, provider: str) -> int:
    """Requests the sandbox answered for ``provider`` so far (read in-process)."""
    return sum(
        n for p, c in bench.sandbox.state.requests.items() if p == provider for n in c.values()
    )


def group(bench: Stage, settings: Settings, workers: Workers, provider: str, kind: str) -> float:
    """Provider calls per succeeded command for N commands of one provider and kind."""
    order_ids = bench.sandbox.admin.create_orders(provider, CASES[provider][kind], N)
    before, done_before = requests(bench, provider), succeeded(settings, provider, kind)
    producer = ordercmd_producer(settings)
    submit_all(producer, [command(provider, kind, o) for o in order_ids])
    producer.store.client.close()
    wait_until(
        lambda: succeeded(settings, provider, kind) - done_before >= N,
        timeout_s=120,
        what=f"{N} {provider} {kind}",
        workers=workers,
    )
    return (requests(bench, provider) - before) / N


def main() -> None:
    header(
        "P4 provider calls per successful command, happy path (lower is better)",
        f"{N} commands per provider and kind, one worker (threads, 8); baseline 1 call "
        "(the bare task); target 1.00",
    )
    rows = []
    with stage("p4") as bench:
        settings = apply_env(bench.env())
        for latency_ms in (0, 50):
            bench.reset(latency_ms=latency_ms)
            bench.sandbox.admin.update_settings(
                shoplazza_bucket_size=100_000, shoplazza_leak_per_s=10_000
            )
            log = bench.directory / f"p4-{uuid.uuid4().hex[:6]}.log"
            workers = Workers("ordercmd", settings_env(), log, pool="threads", concurrency=8)
            workers.start()
            try:
                for provider, kinds in CASES.items():
                    for kind in kinds:
                        calls = group(bench, settings, workers, provider, kind)
                        rows.append(
                            [
                                f"{latency_ms} ms",
                                provider,
                                kind,
                                calls,
                                f"{calls:.2f}x",
                                verdict(calls <= 1.0),
                            ]
                        )
            finally:
                workers.stop()
    print(table(["latency", "provider", "kind", "calls/command", "vs bare", ""], rows))


if __name__ == "__main__":
    main()
