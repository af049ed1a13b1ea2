"""Integration fixtures: the sandbox over real HTTP, real worker processes, a real producer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from config.settings import Settings
from producer import Producer
from sandbox import SandboxConfig, SandboxServer
from schemas import CommandRecord
from store.command_store import CommandStore
from store.records import read_record
from tests.integration.harness import WorkerProcess, wait_for
from worker.app import build_store, publisher

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(orders_per_provider=0)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, emptied and without faults."""
    sandbox_server.admin.reset(orders_per_provider=0)
    sandbox_server.admin.clear_faults()
    return sandbox_server


@pytest.fixture
def ordercmd_env(redis_url: str, sandbox: SandboxServer) -> dict[str, str]:
    """Settings for workers and producer: the sandbox accounts and fast retries."""
    env = {
        "ORDERCMD_REDIS_URL": redis_url,
        "ORDERCMD_LEASE_S": "6",
        "ORDERCMD_SCHEDULER_TICK_S": "0.05",
        "ORDERCMD_DISPATCH_GUARD_S": "5",
        "ORDERCMD_ACCOUNTS__ACME__PROVIDER": "backd",
        "ORDERCMD_ACCOUNTS__ACME__BASE_URL": sandbox.backd_url,
        "ORDERCMD_ACCOUNTS__ACME__PUBLIC_KEY": "pk_sandbox",
        "ORDERCMD_ACCOUNTS__ACME__SECRET_KEY": "sk_sandbox",
        "ORDERCMD_ACCOUNTS__ACME__TIMEOUT_S": "1.5",
        "ORDERCMD_ACCOUNTS__STORE__PROVIDER": "shoplazza",
        "ORDERCMD_ACCOUNTS__STORE__BASE_URL": sandbox.shoplazza_url("store1"),
        "ORDERCMD_ACCOUNTS__STORE__ACCESS_TOKEN": "shoplazza-sandbox-token",
        "ORDERCMD_ACCOUNTS__STORE__TIMEOUT_S": "1.5",
        "ORDERCMD_ACCOUNTS__POD__PROVIDER": "fastpod",
        "ORDERCMD_ACCOUNTS__POD__BASE_URL": sandbox.fastpod_url,
        "ORDERCMD_ACCOUNTS__POD__TOKEN": "fastpod-sandbox-token",
        "ORDERCMD_ACCOUNTS__POD__TIMEOUT_S": "1.5",
    }
    for provider in ("BACKD", "SHOPLAZZA", "FASTPOD"):
        env |= {
            f"ORDERCMD_RETRY__{provider}__BASE_S": "0.05",
            f"ORDERCMD_RETRY__{provider}__CAP_S": "0.2",
            f"ORDERCMD_RETRY__{provider}__MAX_ATTEMPTS": "4",
            f"ORDERCMD_RETRY__{provider}__MAX_UNPROCESSABLE": "3",
        }
    return env


@pytest.fixture
def settings(ordercmd_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in ordercmd_env.items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[CommandStore]:
    store = build_store(settings)
    yield store
    store.client.close()


@pytest.fixture
def producer(settings: Settings, store: CommandStore, redis_url: str) -> Iterator[Producer]:
    celery_app = Celery("ordercmd-test-producer", broker=redis_url, set_as_current=False)
    yield Producer(settings, store, publisher(celery_app))
    celery_app.close()


@pytest.fixture
def start_worker(
    ordercmd_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; all are stopped (their logs shown on failure) at the end."""
    started: list[WorkerProcess] = []

    def start(**options: object) -> WorkerProcess:
        name = f"w{len(started) + 1}"
        worker = WorkerProcess(ordercmd_env, tmp_path / f"{name}.log", name=name, **options)  # type: ignore[arg-type]
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.log_path.name} ---\n{worker.log()[-4000:]}")


@pytest.fixture
def settled(store: CommandStore) -> Callable[..., CommandRecord]:
    """Wait until a command rests in an end state and return its record."""

    def wait(command_id: str, *, timeout_s: float = 30.0) -> CommandRecord:
        def terminal() -> CommandRecord | None:
            record = read_record(store.client, command_id)
            return record if record is not None and record.terminal else None

        return wait_for(terminal, timeout_s=timeout_s, what=f"command {command_id} to finish")

    return wait
