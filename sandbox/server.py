"""``SandboxServer``: the sandbox served by uvicorn in a thread on a free loopback port."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from sandbox.admin_client import SandboxAdmin
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.state import SandboxState

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
# Held (timeout-fault) requests are cancelled this long after a stop is asked for.
GRACEFUL_SHUTDOWN_S = 1


class DroppedReplyFilter(logging.Filter):
    """Hide uvicorn's error line for the replies the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except "returned without completing response"."""
        return "without completing response" not in record.getMessage()


def quiet_dropped_replies() -> None:
    """Install ``DroppedReplyFilter`` on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DroppedReplyFilter) for f in logger.filters):
        logger.addFilter(DroppedReplyFilter())


class SandboxServer:
    """Run the sandbox on real HTTP; use as a context manager.

    Example:
        >>> with SandboxServer() as sandbox:  # doctest: +SKIP
        ...     url = f"{sandbox.backd_url}/find_order/BO-000001"
        ...     httpx.get(url, auth=("pk_sandbox", "sk_sandbox"))
        ...     sandbox.admin.mutations(order_id="BO-000001")
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state: SandboxState | None = None,
    ) -> None:
        self.state = state or SandboxState(config)
        self.host = host
        self._requested_port = port
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._admin: SandboxAdmin | None = None

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def backd_url(self) -> str:
        """Backd base URL (endpoints are appended: ``/find_order/{id}``)."""
        return f"{self.url}/backd"

    def shoplazza_url(self, store: str = "sandbox") -> str:
        """Base URL of one Shoplazza store (paths start ``/openapi/2022-01/``)."""
        return f"{self.url}/shoplazza/{store}"

    @property
    def fastpod_url(self) -> str:
        """FastPOD base URL (paths start ``/v1/``)."""
        return f"{self.url}/fastpod"

    @property
    def admin(self) -> SandboxAdmin:
        """An admin client bound to this server."""
        if self._admin is None:
            self._admin = SandboxAdmin(self.url)
        return self._admin

    def start(self) -> SandboxServer:
        """Bind the socket, start serving in a daemon thread and wait until it accepts.

        Raises:
            RuntimeError: uvicorn did not start within ``START_TIMEOUT_S``.
        """
        self.state.stopping = False
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(state=self.state),
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        quiet_dropped_replies()
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread (idempotent)."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is not None and self._thread is not None:
            self.state.stopping = True
            self._server.should_exit = True
            self._thread.join(STOP_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
