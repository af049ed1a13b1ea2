"""What ``ordercmd demo`` runs: Redis, sandboxes with faults, a worker and a batch, watched live.

Everything the demo starts (its embedded Redis, the sandbox thread, the worker process group)
is stopped on the way out, whether the batch finished, failed or was interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import click
import redis
from celery import Celery

from cli.demo.env import (
    DemoRedis,
    apply_env,
    close_redis,
    demo_dir,
    demo_env,
    open_redis,
    write_env_file,
)
from cli.demo.mix import add_faults, arrange, plan
from cli.demo.procs import DemoWorker, Interrupts, interrupt_when_gone
from cli.demo.report import ordercmd_program, print_inspect, python_program, summary_table
from cli.demo.track import Tracker, watch
from cli.demo.web import (
    DEMO_OPERATOR,
    DashboardThread,
    apply_operator_env,
    demo_operator_env,
    demo_producer_env,
)
from cli.output import console
from config.settings import load_settings
from producer import Producer
from sandbox import SandboxConfig, SandboxServer
from web import create_app
from worker.app import build_store, publisher

INTERRUPTED_EXIT = 130  # the shell's convention for SIGINT
TIMEOUT_BASE_S = 60.0  # the batch must finish within this plus a little per command
TIMEOUT_PER_COMMAND_S = 0.2
KEEP_RUNNING_POLL_S = 0.5


@dataclass
class Run:
    """What one demo run has started so far."""

    count: int
    seed: int
    tag: str  # in order ids and the worker's name: unique to this run
    redis: DemoRedis | None = None
    sandbox: SandboxServer | None = None
    worker: DemoWorker | None = None
    password: str = ""  # the demo operator's, for the dashboard
    api_key: str = ""  # the demo producer's, for the HTTP intake
    dashboard_url: str = ""
    web_url: str = ""  # the web app's root: dashboard, operator API and HTTP intake


def run_demo(
    count: int, *, keep_running: bool, seed: int | None, stop_file: Path | None = None
) -> int:
    """Run the demo, stopping everything it started on the way out.

    Args:
        count: How many commands to submit.
        keep_running: Leave everything up after the summary, until interrupted.
        seed: Seed of the command mix and the faults (random when None).
        stop_file: When given, its deletion interrupts the demo as Ctrl-C does.

    Returns:
        The exit code: 0 when every command finished, 1 when not, 130 on Ctrl-C.
    """
    run = Run(count, seed if seed is not None else random.randrange(10_000), secrets.token_hex(3))
    interrupts = Interrupts().install()
    if stop_file is not None:
        interrupt_when_gone(stop_file)
    stack = ExitStack()
    try:
        return _run(run, stack, interrupts, keep_running=keep_running)
    except KeyboardInterrupt:
        console.print("\n[yellow]interrupted[/]: stopping everything the demo started")
        return INTERRUPTED_EXIT
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis: {exc}") from None
    finally:
        interrupts.shield()
        stack.close()
        interrupts.restore()


def _run(run: Run, stack: ExitStack, interrupts: Interrupts, *, keep_running: bool) -> int:
    directory = demo_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    console.print(f"[bold]ordercmd demo[/]: {run.count} commands, seed {run.seed}, run {run.tag}")
    _start_services(run, stack, interrupts, directory)
    assert run.redis is not None
    assert run.sandbox is not None
    rng = random.Random(run.seed)
    commands = arrange(run.sandbox.admin, plan(run.count, rng), tag=run.tag, rng=rng)
    add_faults(run.sandbox.admin)
    settings = load_settings()
    store = build_store(settings)
    stack.callback(store.client.close)
    celery_app = Celery("ordercmd-demo", broker=run.redis.url, set_as_current=False)
    stack.callback(celery_app.close)
    producer = Producer(settings, store, publisher(celery_app))
    dashboard = DashboardThread(create_app(settings, store, producer.publish))
    with interrupts.deferred():
        dashboard.start()
        stack.callback(dashboard.stop)
    run.web_url = dashboard.url.rstrip("/")
    run.dashboard_url = f"{dashboard.url} (sign in as {DEMO_OPERATOR} / {run.password})"
    console.print(f"dashboard: {run.dashboard_url}")
    submissions = producer.submit_many(commands, source=f"bulk:demo-{run.tag}")
    console.print(f"submitted {len(submissions)} commands (cancel, update, refund)")
    tracker = Tracker(store.client, [s.command_id for s in submissions])
    timeout_s = TIMEOUT_BASE_S + TIMEOUT_PER_COMMAND_S * run.count
    finished = watch(tracker, console, check=lambda: _check_worker(run.worker), timeout_s=timeout_s)
    records = [tracker.records[i] for i in tracker.ids if i in tracker.records]
    console.print(summary_table(records, len(tracker.ids)))
    print_inspect(console, records, run.redis, keep_running=keep_running)
    if not finished:
        console.print(f"[red]not every command finished in {timeout_s:.0f} s[/]")
    if keep_running:
        _keep_running(run, directory)
    return 0 if finished else 1


def _start_services(run: Run, stack: ExitStack, interrupts: Interrupts, directory: Path) -> None:
    """Start Redis, the sandbox and the worker, each stopped by ``stack`` when it closes."""
    with interrupts.deferred():
        run.redis = open_redis(os.environ.get("ORDERCMD_REDIS_URL"), directory)
        stack.callback(_stop_redis, run.redis)
    console.print(f"Redis: {run.redis.describe()}")
    sandbox = SandboxServer(SandboxConfig(seed=run.seed))  # seeded orders: the examples' ids
    with interrupts.deferred():
        run.sandbox = sandbox.start()
        stack.callback(_stop_sandbox, sandbox)
    console.print(f"sandboxes: Backd, Shoplazza and FastPOD at {sandbox.url}")
    env = demo_env(run.redis.url, sandbox)
    apply_env(env)
    write_env_file(directory / "demo.env", env)
    operator_env, run.password = demo_operator_env()
    producer_env, run.api_key = demo_producer_env()
    apply_operator_env(operator_env | producer_env)
    worker = DemoWorker(directory / "worker.log", hostname=f"demo-{run.tag}@%h")
    with interrupts.deferred():
        run.worker = worker.start()
        stack.callback(_stop_worker, worker)
    console.print(f"worker: pid {worker.pid}, 8 threads, log in {worker.log_path}")


def _check_worker(worker: DemoWorker | None) -> None:
    if worker is not None and not worker.alive():
        tail = worker.log_tail()
        raise click.ClickException(f"the worker exited; see {worker.log_path}:\n{tail}")


def _keep_running(run: Run, directory: Path) -> None:
    assert run.sandbox is not None
    order_id = f"BO-{run.tag}-play"
    run.sandbox.admin.clear_faults()  # the faults were for the batch: what you try now is plain
    run.sandbox.admin.create_order("backd", "order_placed", order_id=order_id)
    console.print(
        f"\n[bold]Still running[/] (Ctrl-C stops everything). Dashboard: {run.dashboard_url}\n"
        "The sandbox's faults are off now, so what you submit runs as at a healthy provider.\n"
        "To submit more commands:\n"
        f"  source {directory / 'demo.env'}\n"
        f"  {ordercmd_program()} submit cancel --provider backd --account acme --order {order_id}\n"
        "The examples (README: what each ends in) run against the demo the same way:\n"
        f"  {ordercmd_program()} bulk examples/bulk_orders.csv\n"
        f"  ORDERCMD_API_KEY={run.api_key} {python_program()} examples/publish_events.py "
        f"examples/order_events.jsonl --url {run.web_url}",
        soft_wrap=True,
    )
    try:
        while True:
            _check_worker(run.worker)
            time.sleep(KEEP_RUNNING_POLL_S)
    except KeyboardInterrupt:  # the way out of --keep-running, not a failure
        console.print("\nstopping everything the demo started")


def _stop_worker(worker: DemoWorker) -> None:
    console.print("stopping the worker…")
    worker.stop()


def _stop_sandbox(sandbox: SandboxServer) -> None:
    sandbox.stop()
    console.print("stopped the sandboxes")


def _stop_redis(demo_redis: DemoRedis) -> None:
    if close_redis(demo_redis):
        console.print("stopped the demo's Redis")
