"""Re-pickup time after ``kill -9`` of a whole worker; overshoot of a provider call's deadline.

Part 1: a fleet of prefork workers (default settings: 20 s lease renewed by the heartbeat, 10 s
account timeout) runs FastPOD cancels that take 3 s at the provider. Every few seconds one worker
caught mid-call is killed with its whole process group and a fresh one started. For each command
the dead worker held, re-pickup is the time from the kill until another worker claims it (or it
ends). Few commands are kept unfinished, so a resumed one never queues behind a backlog: the
figure is the lease's, not the queue's. Target: p99 <= 30 s.
Part 2: calls to a server that answers at once and then trickles (or stops sending) its body;
the overshoot is how long past its 1 s deadline each call returned. Target: well under 0.1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass, field

from bench.report import header, percentile, table, verdict
from bench.runs import command, ordercmd_producer, submit_all
from bench.stage import Stage, Workers, apply_env, stage
from producer import Producer
from providers.accounts import FastpodAccount
from providers.errors import ProviderUnavailable
from providers.http import build_client, call
from schemas import CommandRecord, CommandState
from store import keys
from store.records import read_records
from tests.trickle import TrickleProxy

LATENCY_MS = 3000  # every provider request: calls are in flight most of the time
FLEET = 3  # workers alive at once (2 pool processes each)
IN_FLIGHT = 2  # commands kept running: well under the survivors' pool processes
KILL_EVERY_S = 3.0
IN_CALL_S = 0.3  # a claim this old has sent its request (a few ms after the claim)
TARGET_P99_S = 30.0
DEADLINE_S = 1.0


@dataclass
class Kill:
    """One ``kill -9`` and the commands it interrupted: ``{id: (holder, since)}``."""

    at: float
    held: dict[str, tuple[str | None, object]]
    resumed_s: dict[str, float] = field(default_factory=dict)


def holder_pids(records: list[CommandRecord]) -> dict[int, list[CommandRecord]]:
    """Running commands by the pid of the process holding them."""
    by_pid: dict[int, list[CommandRecord]] = {}
    for record in records:
        if record.state is CommandState.RUNNING and record.running_on:
            by_pid.setdefault(int(record.running_on.rsplit(":", 1)[1]), []).append(record)
    return by_pid


def watch(kills: list[Kill], client) -> bool:  # type: ignore[no-untyped-def]
    """Note each interrupted command another worker took since; whether all were."""
    pending = [(k, i) for k in kills for i in k.held if i not in k.resumed_s]
    records = read_records(client, [i for _, i in pending]) if pending else []
    for (kill, command_id), record in zip(pending, records, strict=True):
        if record is None:
            continue
        if record.terminal or (record.running_on, record.running_since) != kill.held[command_id]:
            kill.resumed_s[command_id] = time.monotonic() - kill.at
    return all(len(k.resumed_s) == len(k.held) for k in kills)


class Fleet:
    """Prefork workers on the stage, killed and replaced one at a time."""

    def __init__(self, bench: Stage, env: dict[str, str]) -> None:
        self.bench, self.env = bench, env
        self.started: list[Workers] = []
        self.alive: list[Workers] = []
        for _ in range(FLEET):
            self.add()

    def add(self) -> None:
        """Start one more worker."""
        log_path = self.bench.directory / f"w{len(self.started)}.log"
        workers = Workers("ordercmd", self.env, log_path, pool="prefork", concurrency=2)
        workers.start()
        self.started.append(workers)
        self.alive.append(workers)

    def kill_one(self, running: list[CommandRecord], cut: set[str]) -> Kill | None:
        """Kill a worker holding a command mid-call (none cut before) and start another."""
        by_pid = holder_pids(running)
        for workers in self.alive:
            held = [r for pid in workers.pids() for r in by_pid.get(pid, [])]
            if any(in_call(r) for r in held) and not {r.id for r in held} & cut:
                workers.kill9()
                self.alive.remove(workers)
                self.add()
                return Kill(time.monotonic(), {r.id: (r.running_on, r.running_since) for r in held})
        return None

    def stop(self) -> None:
        """Stop the workers still alive."""
        for workers in self.alive:
            workers.stop()


def in_call(record: CommandRecord) -> bool:
    """Whether the claim is old enough to have sent its request (a few ms after the claim)."""
    since = record.running_since
    return since is not None and time.time() - since.timestamp() > IN_CALL_S


def top_up(bench: Stage, producer: Producer, submitted: list[str], waiting: set[str]) -> None:
    """Submit cancels until ``IN_FLIGHT`` commands run (besides those waiting for re-pickup)."""
    client = producer.store.client
    recent = [i for i in submitted[-50:] if i not in waiting]
    unfinished = [r for r in read_records(client, recent) if r and not r.terminal]
    missing = IN_FLIGHT - len(unfinished)
    if missing > 0:
        orders = bench.sandbox.admin.create_orders("fastpod", "new_order", missing)
        commands = [command("fastpod", "cancel", o) for o in orders]
        submitted += [s.command_id for s in submit_all(producer, commands)]


def running_records(client) -> list[CommandRecord]:  # type: ignore[no-untyped-def]
    """The records of every command a delivery holds now."""
    ids = [str(i) for i in client.zrange(keys.running(), 0, -1)]
    return [r for r in read_records(client, ids) if r]


def run_kills(bench: Stage, kills_wanted: int) -> list[Kill]:
    """Part 1: kill workers mid-call until ``kills_wanted`` kills; wait for every re-pickup."""
    env = bench.env()
    bench.reset(latency_ms=LATENCY_MS)
    producer = ordercmd_producer(apply_env(env))
    client = producer.store.client
    fleet = Fleet(bench, env)
    submitted: list[str] = []
    kills: list[Kill] = []
    cut: set[str] = set()
    last_kill = time.monotonic()
    while not watch(kills, client) or len(kills) < kills_wanted:
        waiting = {i for k in kills for i in k.held if i not in k.resumed_s}
        top_up(bench, producer, submitted, waiting)
        if len(kills) < kills_wanted and time.monotonic() - last_kill > KILL_EVERY_S:
            kill = fleet.kill_one(running_records(client), cut)
            if kill is not None:
                kills.append(kill)
                cut |= set(kill.held)
                last_kill = kill.at
                print(f"kill {len(kills)}: {len(kill.held)} command(s) cut", flush=True)
        time.sleep(0.05)
    fleet.stop()
    client.close()
    return kills


def overshoots(calls: int) -> list[tuple[str, float]]:
    """Part 2: ``(server, seconds past the deadline)`` of trickled and stalled calls."""
    found = []
    for name, interval_s in (("1 byte / 0.3 s", 0.3), ("silent after headers", 3600.0)):
        with TrickleProxy(interval_s=interval_s) as server:
            account = FastpodAccount(
                provider="fastpod", base_url=server.url, token="t0ken", timeout_s=DEADLINE_S
            )
            with build_client(account) as client:
                for _ in range(calls):
                    began = time.monotonic()
                    with contextlib.suppress(ProviderUnavailable):
                        call(client, "POST", "/v1/x", provider="fastpod", idempotency_key="k")
                    found.append((name, time.monotonic() - began - DEADLINE_S))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--calls", type=int, default=20, help="trickled calls per server kind")
    args = parser.parse_args()
    header("re-pickup after kill -9, deadline overshoot", __doc__)
    with stage("repickup") as bench:
        kills = run_kills(bench, args.kills)
    per_kill = [max(k.resumed_s.values()) for k in kills]
    per_command = [s for k in kills for s in k.resumed_s.values()]
    groups = {"per kill (its slowest command)": per_kill, "per command": per_command}
    rows = [
        [what, len(v), f"{percentile(v, 50):.1f}", f"{percentile(v, 99):.1f}", f"{max(v):.1f}"]
        for what, v in groups.items()
    ]
    print(table(["re-pickup after kill -9 (s)", "n", "p50", "p99", "max"], rows))
    print(f"p99 per kill {percentile(per_kill, 99):.1f} s <= {TARGET_P99_S:g} s: "
          f"{verdict(percentile(per_kill, 99) <= TARGET_P99_S)}")  # fmt: skip
    found = overshoots(args.calls)
    rows = []
    for name in dict.fromkeys(n for n, _ in found):
        values = [v * 1000 for n, v in found if n == name]
        rows.append([name, len(values), f"{percentile(values, 50):.1f}", f"{max(values):.1f}"])
    print(table(["server after headers", "calls", "overshoot p50 (ms)", "max (ms)"], rows))


if __name__ == "__main__":
    main()
