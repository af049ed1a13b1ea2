"""Webhook delivery in a worker process: its sender, the pump thread, one delivery task's work."""

from __future__ import annotations

import os
from collections.abc import Callable

from config.settings import Settings, get_settings
from redisconn.client import redis_client
from redisconn.urls import store_url
from store import keys
from store.webhooks.subscriptions import Subscriptions, UnknownSubscription
from worker.webhook_pump import QUEUED_TTL_MS, WebhookPump
from worker.webhooks import Sender, delivery_client

DELIVER_TASK = "ordercmd.deliver_webhooks"

_runtimes: dict[int, tuple[Sender, Subscriptions]] = {}


def build_sender(settings: Settings) -> tuple[Sender, Subscriptions]:
    """A sender and the subscriptions, on the configured store."""
    client = redis_client(store_url(settings))
    sender = Sender(client, delivery_client(), settings.webhook_policy)
    return sender, Subscriptions(client, settings)


def webhook_runtime() -> tuple[Sender, Subscriptions]:
    """This process's sender and subscriptions, built on first use (after a fork, anew)."""
    pid = os.getpid()
    if pid not in _runtimes:
        _runtimes.clear()
        _runtimes[pid] = build_sender(get_settings())
    return _runtimes[pid]


def deliver(subscription_id: str, send_again: Callable[[str], None]) -> str:
    """One delivery task: a leased batch for the subscription; another task if more is left.

    Returns:
        What the batch did (``done``, ``more``, ``busy``, ``not_due``, ``disabled``, ``lost``)
        or ``unknown`` for a subscription that no longer exists.
    """
    sender, subscriptions = webhook_runtime()
    queued = keys.webhook_queued(subscription_id)

    def release() -> None:  # from now on, new events wake another task
        sender.client.delete(queued)

    try:
        sub = subscriptions.get(subscription_id)
    except UnknownSubscription:
        release()
        return "unknown"
    result = sender.deliver(sub, release=release)
    if result == "more" and sender.client.set(queued, 1, nx=True, px=QUEUED_TTL_MS):
        send_again(subscription_id)
    return result


def start_pump(settings: Settings, send: Callable[[str], None]) -> WebhookPump | None:
    """Start the pump thread when any subscription may exist (always: the API can add one).

    The process's sender is built here too, before any task needs it: its TLS context and
    imports cost a few hundred ms, which the first delivery would otherwise spend while
    commands run (a forked pool child builds its own, from modules already imported).
    """
    webhook_runtime()
    client = redis_client(store_url(settings))
    pump = WebhookPump(client, Subscriptions(client, settings), send)
    pump.start()
    return pump
