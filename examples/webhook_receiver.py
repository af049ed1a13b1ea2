"""A webhook receiver for ordercmd's outcome events: verifies each signature, skips repeats.

    export ORDERCMD_WEBHOOK_SECRETS=whsec_...        # two, comma-separated, during a rotation
    python examples/webhook_receiver.py --port 8090
    ordercmd webhooks add http://127.0.0.1:8090/hooks --event succeeded --event dead

Answers 204 to a delivery it verified (and to a repeat of one it already handled: deliveries
come at least once, the ``webhook-id`` says which), 400 to one whose signature does not
verify. Prints one JSON line per new event. A real receiver keeps the handled ids in its
database, in the same transaction as what it does with the event.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from producer.webhooks import WebhookVerificationError, verify_delivery

handled: set[str] = set()  # webhook-ids already handled (in memory: a sketch)


class Handler(BaseHTTPRequestHandler):
    """One POST per delivery."""

    secrets: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        """Verify, skip a repeat, print the event, answer."""
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            event = verify_delivery(body, dict(self.headers.items()), self.secrets)
        except WebhookVerificationError as exc:
            self._answer(400, f"signature refused: {exc}")
            return
        msg_id = self.headers["webhook-id"]
        if msg_id not in handled:
            handled.add(msg_id)
            print(json.dumps({"webhook_id": msg_id, **event}), flush=True)
        self._answer(204, "")

    def _answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet: the events are the output."""


def main() -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    secrets = [s for s in os.environ.get("ORDERCMD_WEBHOOK_SECRETS", "").split(",") if s]
    if not secrets:
        print("set ORDERCMD_WEBHOOK_SECRETS to the subscription's secret", file=sys.stderr)
        return 2
    Handler.secrets = secrets
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{server.server_address[1]}/hooks", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
