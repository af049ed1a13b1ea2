"""What several test files build alike: a Runtime on fake Redis, and ``ordercmd`` run in-process."""

from __future__ import annotations

import random
from typing import Any

import fakeredis
from click.testing import CliRunner, Result

from cli.main import cli
from config.settings import Settings
from providers.base import OrderProvider
from store.command_store import CommandStore, StoreLimits
from store.flow import FlowControl
from worker.runtime import Runtime

LIMITS = StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=60_000)


def make_runtime(provider: OrderProvider, *, secret_key: str = "sk", **settings: Any) -> Runtime:
    """A Runtime on fakeredis whose one account, Backd ``acme``, is served by ``provider``.

    ``settings`` are further `Settings` fields (``retry=...``); published ids are dropped.
    """
    account = {
        "provider": "backd",
        "base_url": "http://fake.invalid",
        "public_key": "pk",
        "secret_key": secret_key,
    }
    store = CommandStore(fakeredis.FakeRedis(decode_responses=True), LIMITS)
    return Runtime(
        Settings(accounts={"acme": account}, **settings),
        store,
        lambda command_ids: None,
        lambda account: provider,
        FlowControl(store.client),
        random.Random(7),
    )


def invoke_cli(*args: object, input: str | bytes | None = None) -> Result:
    """``ordercmd ARGS...`` in this process, with the settings the test's environment gives."""
    return CliRunner().invoke(cli, [str(arg) for arg in args], input=input)
