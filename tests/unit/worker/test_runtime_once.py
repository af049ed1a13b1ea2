"""A worker process builds one runtime, even when its pool's first tasks ask at once."""

from __future__ import annotations

import threading

import pytest

from worker import app as worker_app


def test_threads_asking_at_once_share_one_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real_build = worker_app.build_store

    def slow_build(settings):  # widens the window two first tasks used to race in
        built.append(settings)
        gate.wait(0.2)
        return real_build(settings)

    gate = threading.Event()
    monkeypatch.setattr(worker_app, "build_store", slow_build)
    monkeypatch.setattr(worker_app, "_runtimes", {})
    runtimes: list[object] = []
    threads = [
        threading.Thread(target=lambda: runtimes.append(worker_app.get_runtime())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1, "one store per process"
    assert len({id(runtime) for runtime in runtimes}) == 1
