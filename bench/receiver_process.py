"""A webhook receiver in a process of its own, for the webhook benchmark.

The benchmark's process runs the sandbox providers: a receiver there (``tests.webhook_receiver``,
a thread) would take their GIL for every delivery and slow the provider calls P1 times, charging
the receiver's work to ordercmd. Here it runs apart, as a real receiver would (on the same two
cores still). ``RemoteReceiver`` starts it; the arrivals are read back with ``arrivals``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from typing import Any, Self

from tests.webhook_receiver import Receiver


class RemoteReceiver:
    """``url`` takes POSTs (answered 200) in another process; ``arrivals`` reads them back."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> Self:
        """Start the process and wait for its URL."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver_process"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        return self

    def arrivals(self) -> list[tuple[float, bytes]]:
        """Each POST received so far: when (epoch s) and its body."""
        return [(at_s, body.encode()) for at_s, body in self._get("arrivals")]

    def count(self) -> int:
        """How many POSTs it received (polled: the bodies stay where they are)."""
        return int(self._get("count"))

    def _get(self, what: str) -> Any:
        with urllib.request.urlopen(self.url.rsplit("/", 1)[0] + "/" + what, timeout=30) as reply:
            return json.load(reply)

    def stop(self) -> None:
        """End the process."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def main() -> None:
    """Serve until terminated; print the hook URL first."""
    receiver = Receiver().start()
    print(receiver.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
