"""``ordercmd health``: a container's health check (store reachable, this worker ticking, a URL)."""

from __future__ import annotations

import socket
import time

import click
import httpx
import redis

from config.settings import load_settings
from redisconn.client import redact_url, redis_client
from store import keys
from store.summary import WORKER_SEEN_S

PROBE_TIMEOUT_S = 3.0


@click.command()
@click.option(
    "--worker",
    "worker_name",
    flag_value="ordercmd@" + socket.gethostname(),
    help="Also need this host's worker (ordercmd@<host>) to have ticked within --within-s.",
)
@click.option(
    "--within-s", default=float(WORKER_SEEN_S), show_default=True, type=click.FloatRange(1)
)
@click.option("--http", "url", help="Also need this URL to answer 200 (e.g. the web's /health).")
def health(worker_name: str | None, within_s: float, url: str | None) -> None:
    """Exit 0 when the store's Redis (ORDERCMD_REDIS_URL) answers and the other checks pass.

    It never starts a Redis of its own: a health check must not change what it checks.
    """
    redis_url = load_settings().redis_url
    if not redis_url:
        raise click.ClickException("ORDERCMD_REDIS_URL is not set")
    client = redis_client(redis_url, timeout_s=PROBE_TIMEOUT_S, retries=0)
    try:
        client.ping()
        if worker_name is not None:
            _check_worker(client, worker_name, within_s)
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis at {redact_url(redis_url)}: {exc}") from None
    finally:
        client.close()
    if url is not None:
        _check_url(url)
    click.echo("ok")


def _check_worker(client: redis.Redis, name: str, within_s: float) -> None:
    seen_ms = client.zscore(keys.workers_seen(), name)
    if seen_ms is None:
        raise click.ClickException(f"worker {name} has not been seen")
    age_s = time.time() - float(seen_ms) / 1000
    if age_s > within_s:
        raise click.ClickException(f"worker {name} last seen {age_s:.0f} s ago")


def _check_url(url: str) -> None:
    try:
        reply = httpx.get(url, timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"{url}: {type(exc).__name__}") from None
    if reply.status_code != httpx.codes.OK:
        raise click.ClickException(f"{url}: HTTP {reply.status_code}")
