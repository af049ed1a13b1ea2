"""A real HTTP webhook receiver on loopback for tests: records every request, answers as told."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    at_s: float = 0.0  # epoch seconds it arrived
    path: str = ""


@dataclass
class Receiver:
    """``url`` takes POSTs; ``status`` is what it answers (set it to 503 to fail them)."""

    status: int = 200
    requests: list[Received] = field(default_factory=list)  # the ones it accepted (2xx)
    refused: list[Received] = field(default_factory=list)  # the ones it answered otherwise
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to send webhooks."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self) -> Self:
        """Serve in a daemon thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.status
                seen = Received(dict(self.headers.items()), body, time.time(), self.path)
                (receiver.requests if status < 300 else receiver.refused).append(seen)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                # for a reader in another process (bench/receiver_process.py): how many it
                # accepted (polled), or each one's arrival time and body (read once)
                accepted = list(receiver.requests)
                found: object = None
                if self.path.endswith("/count"):
                    found = len(accepted)
                elif self.path.endswith("/arrivals"):
                    found = [(r.at_s, r.body.decode()) for r in accepted]
                reply = json.dumps(found).encode()
                self.send_response(404 if found is None else 200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
