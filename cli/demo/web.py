"""The demo's web app in a thread, with a one-run operator account and producer key."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from config.web import new_key, stored_form

DEMO_OPERATOR = "demo"
DEMO_PRODUCER = "demo"
START_TIMEOUT_S = 10.0


def demo_operator_env() -> tuple[dict[str, str], str]:
    """Settings for one ``demo`` operator with a fresh password, and that password."""
    password = secrets.token_urlsafe(9)
    prefix = f"ORDERCMD_WEB__OPERATORS__{DEMO_OPERATOR.upper()}__"
    env = {
        prefix + "ROLE": "operator",
        prefix + "PASSWORD_HASH": PasswordHasher().hash(password),
        "ORDERCMD_WEB__SECURE_COOKIES": "false",  # plain HTTP on loopback
    }
    return env, password


def demo_producer_env() -> tuple[dict[str, str], str]:
    """Settings for one ``demo`` producer with a fresh API key, and that key."""
    key = new_key()
    variable = f"ORDERCMD_WEB__PRODUCERS__{DEMO_PRODUCER.upper()}__KEY_HASH"
    return {variable: stored_form(key, PasswordHasher().hash(key))}, key


def apply_operator_env(env: dict[str, str]) -> None:
    """Put the operator settings in this process's environment (the worker needs none)."""
    os.environ.update(env)


class DashboardThread:
    """uvicorn serving ``app`` on a free loopback port in a daemon thread."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> DashboardThread:
        """Serve, and return once the server is up."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.should_exit = True
        self._thread.join(START_TIMEOUT_S)
        self._socket.close()
