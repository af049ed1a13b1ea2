"""The Celery app (``celery -A worker.app worker``): JSON only, late acks, prefetch 1, events on.

Results are ignored: the command store is the record. Long retry delays live in the store's
sorted set, sent by the scheduler step that runs in every worker's main process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import structlog
from celery import Celery, bootsteps, signals
from kombu import Queue  # type: ignore[attr-defined]

from config.settings import Settings, get_settings
from redisconn.client import per_try_timeout_s, redis_client
from redisconn.guard import check_store
from redisconn.urls import broker_url, store_url
from runs.driver import RunDriver, run_driver
from store.backlog import Backlogs
from store.command_store import CommandStore, StoreLimits
from store.deadletters import DeadLetters
from store.dispatching import Publish
from store.flow import FlowControl
from worker.broker_consumer import GuardedConsumer
from worker.folded_acks import FOLDED_ACKS
from worker.logs import configure_logging
from worker.presence import Presence
from worker.quarantining import message_screen
from worker.queues import BULK_QUEUE, LIVE_QUEUE, RESEND_QUEUE, WEBHOOK_QUEUE, queue_for
from worker.redis_transport import GuardedTransport
from worker.runtime import Runtime, account_providers
from worker.scheduler import Scheduler
from worker.store_watch import EvictionWatch
from worker.webhook_pump import WebhookPump
from worker.webhook_runtime import DELIVER_TASK, start_pump

log = structlog.get_logger("ordercmd.worker")

EXECUTE_TASK = "ordercmd.execute_command"
QUEUE = LIVE_QUEUE
QUEUES = (RESEND_QUEUE, LIVE_QUEUE, BULK_QUEUE, WEBHOOK_QUEUE)
PUBLISH_BATCH_SIZE = 1000
PUBLISH_RETRIES = 1  # a publish that fails twice is left to the scheduler (send_or_defer)

app = Celery("ordercmd", include=["tasks.commands", "tasks.webhooks"])


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings that DESIGN.md says matter, from ordercmd's settings."""
    # a paused or dead broker fails a publish within about store_timeout_s: one retry, each
    # try its share (kombu's BRPOP waits 1 s, well inside a try's share of the 3 s minimum)
    try_s = per_try_timeout_s(settings.store_timeout_s, PUBLISH_RETRIES)
    transport = {
        "visibility_timeout": settings.visibility_timeout_s,
        "socket_timeout": try_s,
        "socket_connect_timeout": try_s,
        "socket_keepalive": True,
        "health_check_interval": 30,
        # ordercmd sends no message priorities: one list per queue, so the BRPOP a worker sends
        # for every message names 4 keys, not 16 (kombu's default keeps 4 steps per queue)
        "priority_steps": [0],
    }
    return {
        "broker_url": broker_url(settings),
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": try_s,
        "task_publish_retry_policy": {
            "max_retries": PUBLISH_RETRIES,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_default_queue": LIVE_QUEUE,
        "task_queues": [Queue(name) for name in QUEUES],  # type: ignore[no-untyped-call]  # consumed by default, live first
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 10.0,
        "worker_hijack_root_logger": False,
    }


def guarded(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``config`` with the broker treated as untrusted input (DESIGN.md).

    Only `EXECUTE_TASK` with one command id executes: a consumer screens every task message
    (any transport), and on Redis a transport screens the envelope kombu would otherwise fail
    to decode in the consumer loop. Refused messages go to the store's quarantine.
    """
    screen = message_screen(settings, [EXECUTE_TASK, DELIVER_TASK])
    guard: dict[str, Any] = {"worker_consumer": GuardedConsumer, "ordercmd_screen": screen}
    if urlsplit(str(config["broker_url"])).scheme in ("redis", "rediss"):
        options = {**config["broker_transport_options"], "ordercmd_screen": screen}
        guard |= {"broker_transport": GuardedTransport, "broker_transport_options": options}
    return config | guard


app.add_defaults(lambda: guarded(celery_config(get_settings()), get_settings()))


def publisher(celery_app: Celery, *, resend: bool = False) -> Publish:
    """A function sending one execute message per command id; the command id is the task id.

    ``resend``: the messages re-send commands that had one (``worker.queues.RESEND_QUEUE``).
    """

    def publish(command_ids: Sequence[str]) -> None:
        if not command_ids:
            return
        # kombu's batch: on Redis one pipelined round trip per 1,000 broker commands (the
        # LPUSH and the task-sent event of each message); other transports publish at once.
        with celery_app.producer_or_acquire() as producer, producer.batch(PUBLISH_BATCH_SIZE):
            # Each queue is declared once per call, not per message (kombu binds a copy of the
            # queue for every declare it is asked for: a quarter of the publishing time).
            for name in {queue_for(command_id, resend=resend) for command_id in command_ids}:
                producer.maybe_declare(celery_app.amqp.queues[name])
            for command_id in command_ids:
                celery_app.send_task(
                    EXECUTE_TASK,
                    args=[command_id],
                    task_id=command_id,
                    queue=queue_for(command_id, resend=resend),
                    producer=producer,
                    serializer="json",
                    declare=[],
                )

    return publish


publish = publisher(app)
publish_resend = publisher(app, resend=True)


def build_store(settings: Settings) -> CommandStore:
    """The command store on the configured Redis."""
    limits = StoreLimits(
        retention_s=settings.key_retention_s,
        guard_ms=round(settings.dispatch_guard_s * 1000),
        lease_ms=round(settings.lease_s * 1000),
        bulk_guard_ms=round(settings.bulk_dispatch_guard_s * 1000),
        outcomes_max_len=settings.outcomes_max_len,
    )
    client = redis_client(store_url(settings), timeout_s=settings.store_timeout_s)
    return CommandStore(client, limits)


_runtimes: dict[int, Runtime] = {}
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    """This process's runtime, built on first use (after a fork, built anew).

    Built once per process even when a threads pool's first tasks ask at the same moment (two
    would mean two Redis pools, and counts in a store the process then drops).
    """
    pid = os.getpid()
    runtime = _runtimes.get(pid)
    if runtime is not None:
        return runtime
    with _runtime_lock:
        if pid not in _runtimes:
            settings = get_settings()
            _runtimes.clear()
            store = build_store(settings)
            _runtimes[pid] = Runtime(
                settings=settings,
                store=store,
                publish=publish,
                provider_factory=account_providers(settings),
                flow=FlowControl(store.client, settings.breaker),
                acks=FOLDED_ACKS if broker_url(settings) == store_url(settings) else None,
            )
        return _runtimes[pid]


class SchedulerStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Runs the scheduler and the bulk-run driver in the worker's main process."""

    def __init__(self, parent: Any, **options: Any) -> None:
        super().__init__(parent, **options)
        self.scheduler: Scheduler | None = None
        self.runs: RunDriver | None = None
        self.webhooks: WebhookPump | None = None

    def start(self, parent: Any) -> None:
        """Start the scheduler and bulk-run threads."""
        settings = get_settings()
        store = build_store(settings)
        for warning in check_store(settings, store.client, store_url(settings)):
            log.warning("redis configuration", warning=warning)
        dead_letters = DeadLetters(store)
        eviction, presence = EvictionWatch(store.client), Presence(store.client, parent)

        def watch() -> None:
            eviction()
            presence.beat()

        self.scheduler = Scheduler(
            store,
            publish,
            resend=publish_resend,
            tick_s=settings.scheduler_tick_s,
            maintain=lambda: dead_letters.trim(
                max_age_s=settings.dead_letter_max_age_s,
                max_count=settings.dead_letter_max_count,
            ),
            name=str(parent.hostname),
            backlogs=Backlogs(
                store.client,
                settings.accounts,
                tick_s=settings.scheduler_tick_s,
                share_pct=settings.bulk_share_pct,
            ),
            watch=watch,
        )
        self.scheduler.start()
        self.runs = run_driver(settings, store, publish)
        self.runs.start(tick_s=settings.scheduler_tick_s)
        self.webhooks = start_pump(settings, send_deliver)

    def stop(self, parent: Any) -> None:
        """Stop the scheduler and bulk-run threads."""
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.runs is not None:
            self.runs.stop()
        if self.scheduler is not None:
            self.scheduler.stop()


def send_deliver(subscription_id: str) -> None:
    """Queue a webhook delivery task for the subscription, on the webhook queue.

    Like a command's, its task id is its one argument: the broker screen accepts nothing else.
    """
    app.send_task(
        DELIVER_TASK, args=[subscription_id], task_id=subscription_id, queue=WEBHOOK_QUEUE
    )


app.steps["worker"].add(SchedulerStep)


@signals.worker_process_shutdown.connect  # type: ignore[untyped-decorator]
@signals.worker_shutdown.connect  # type: ignore[untyped-decorator]
def _flush_outcome_counters(**_: Any) -> None:
    # A prefork child ends with os._exit (no atexit): its counts are added here, as the main
    # process's are (threads pool) when the worker shuts down cleanly.
    runtime = _runtimes.get(os.getpid())
    if runtime is not None:
        runtime.store.tally.close()


@signals.setup_logging.connect  # type: ignore[untyped-decorator]
def _configure_worker_logging(loglevel: int | str | None = None, **_: Any) -> None:
    # A receiver here means Celery installs no handler of its own: its records, kombu's and
    # ours all go through worker.logs' one renderer, at the worker's --loglevel.
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel
    configure_logging(level or "INFO")
