"""A producer publishing order events to ordercmd's HTTP intake with httpx.

Each event is ``{"event_id": "...", "command": {...}}`` (one per line of a JSONL file); the
event id is sent as the ``Idempotency-Key``, so re-sending an event (after a timeout, a crash,
a re-run of this script) never makes a second command. Network errors and 5xx answers are
retried with backoff; 4xx answers are the event's fault and are reported, not retried.

    export ORDERCMD_API_KEY=oc_...     # the key whose stored form is web.producers.<name>.key_hash
    python examples/publish_events.py examples/order_events.jsonl --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

RETRIES = 5
BACKOFF_S = 0.5  # doubled after each failed try


def events(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a JSONL file, blank lines skipped."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def publish(client: httpx.Client, event: dict[str, Any]) -> httpx.Response:
    """POST one event's command, retrying what may be retried; the key makes that safe."""
    for attempt in range(RETRIES):
        try:
            response = client.post(
                "/v1/commands",
                json=event["command"],
                headers={"Idempotency-Key": str(event["event_id"])},
            )
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise
        else:
            if response.status_code < 500 or attempt == RETRIES - 1:
                return response
        time.sleep(BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


def describe(event: dict[str, Any], response: httpx.Response) -> str:
    """One line saying what became of the event."""
    body = response.json()
    if response.status_code in (200, 202):
        return f"{event['event_id']}: {body['status']} command {body['command_id']}"
    reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in body.get("errors", []))
    return f"{event['event_id']}: refused ({response.status_code}) {reasons}"


def main(argv: list[str] | None = None) -> int:
    """Publish every event of the file; exit 1 if any was refused."""
    parser = argparse.ArgumentParser(description="Publish order events to ordercmd.")
    parser.add_argument("events", type=Path, help="JSONL file of events")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="ordercmd web root")
    parser.add_argument("--key", default=os.environ.get("ORDERCMD_API_KEY"), help="API key")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("give --key or set ORDERCMD_API_KEY")
    refused = 0
    headers = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=10.0) as client:
        for event in events(args.events):
            response = publish(client, event)
            refused += response.status_code not in (200, 202)
            print(describe(event, response))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
