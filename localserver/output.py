"""The local server's output, written so that it never holds up a request or a stop.

Every request prints an access line, and the function logs through Powertools. When
whoever started the server does not read its output (a test or script that pipes it
and never reads), a pipe fills after about 64 KiB and every write blocks: the server
stops answering, and a stop that prints "Stopped." hangs. Here writes go to a queue
that one thread drains into the real stream; while the stream cannot take them,
lines are dropped (and counted) instead.
"""

from __future__ import annotations

import io
import queue
import sys
import threading
import time
from typing import TextIO

LINES = 10_000  # queued before lines are dropped


class NeverBlocking(io.TextIOBase):
    """A text stream whose writes return at once: one thread writes them to `stream`, in order."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.dropped = 0
        self._lines: queue.Queue[str] = queue.Queue(LINES)
        threading.Thread(target=self._drain, name=f"output-{stream.name}", daemon=True).start()

    def write(self, text: str) -> int:
        try:
            self._lines.put_nowait(text)
        except queue.Full:  # nobody reads the stream: lose the line, not the request
            self.dropped += 1
        return len(text)

    def flush(self) -> None:  # the draining thread flushes after every write
        pass

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.stream.fileno()

    def finish(self, within: float) -> None:
        """Wait (at most `within` seconds) until what was written has reached the stream."""
        deadline = time.monotonic() + within
        while self._lines.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _drain(self) -> None:
        while True:
            text = self._lines.get()
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # the reader went away: nothing more can be shown
                pass
            finally:
                self._lines.task_done()


def never_block() -> list[NeverBlocking]:
    """Put stdout and stderr behind NeverBlocking streams (before anything keeps a reference to them)."""
    sys.stdout = NeverBlocking(sys.stdout)
    sys.stderr = NeverBlocking(sys.stderr)
    return [sys.stdout, sys.stderr]
