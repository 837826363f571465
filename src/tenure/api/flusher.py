"""The inbox flusher: a process beside each `tenure serve` worker that moves the tracking inbox
into the warehouse every few seconds.

A process, not a thread: parsing and writing a flush would otherwise hold the GIL that the
request path needs, and the server would accept fewer events per second than it stores.

It runs as `python -m tenure.api.flusher`, not through multiprocessing. A multiprocessing child
re-imports the parent's `__main__` (the whole CLI, the API and the model libraries): more than
10 s on a busy machine before the first flush, after every start. This module imports only the
flush path. The protocol is the child's stdin:

- the parent writes one JSON line (the settings and the log level) and keeps stdin open;
- end of file on stdin, when the parent closes it or dies (even by SIGKILL), means "stop";
- SIGTERM means "stop" too; either way the child flushes once more, briefly, and exits.

The child has a process group of its own, so Ctrl-C in a terminal (SIGINT to the foreground
group) and `kill -TERM -<group>` reach only the server, which then stops the flusher: no
traceback, and never a flusher left behind. A flush the parent has to cut short (SIGKILL after
`STOP_SECONDS`) loses nothing: the inbox rows are deleted only after the warehouse commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
from types import FrameType
from typing import IO, Any

from tenure.config import Settings
from tenure.ingest.tracking.flush import flush_inbox
from tenure.storage.database import Database
from tenure.storage.locking import WarehouseBusy, file_lock
from tenure.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
# How long a stopping server waits for the last flush before it kills the flusher.
STOP_SECONDS = 4.0
# How long that last flush waits for another worker's flusher to finish.
LAST_FLUSH_LOCK_SECONDS = 2.0


def flush_once(settings: Settings, database: Database, warehouse: Warehouse, wait: float) -> None:
    """One flush; errors are logged and retried next time (the inbox keeps the data)."""
    try:
        # With `serve --workers N` every worker has a flusher: one flushes, the others skip.
        with file_lock(settings.home / "flusher.lock", exclusive=True, timeout=wait):
            flush_inbox(settings, database, warehouse)
    except WarehouseBusy:
        log.debug("another flusher is flushing; skipping this cycle")
    except Exception:
        log.exception("inbox flush failed; will retry")


class _StopRequest:
    """Waits for the flush interval, or less when the parent closes stdin or SIGTERM arrives."""

    def __init__(self, control: int) -> None:
        self._control = control
        self._wake, self._poke = os.pipe()
        os.set_blocking(self._poke, False)
        self.requested = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.requested = True
        with contextlib.suppress(BlockingIOError):  # the pipe already holds a wake-up
            os.write(self._poke, b"\0")  # wakes a select() that is waiting

    def wait(self, seconds: float) -> bool:
        """True once a stop was asked for; otherwise after `seconds`."""
        if not self.requested:
            ready, _, _ = select.select([self._control, self._wake], [], [], seconds)
            # Anything on stdin is its end (the parent sends nothing after the first line).
            self.requested = self._control in ready or self.requested
        return self.requested


def _read_line(fd: int) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def main() -> None:
    """The flusher process: flush at once (what a crash left behind), then every few seconds
    until told to stop, then once more."""
    control = sys.stdin.fileno()
    stop = _StopRequest(control)
    header = _read_line(control)
    if not header:
        return
    message = json.loads(header)
    logging.basicConfig(
        level=message["log_level"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings(**message["settings"])
    database, warehouse = Database(settings.sqlalchemy_url), Warehouse(settings)
    wait = settings.inbox_flush_seconds
    # A server stopped while it was still starting has closed stdin already: the last flush is
    # then the only one, so that it ends within the parent's STOP_SECONDS.
    if not stop.wait(0):
        flush_once(settings, database, warehouse, wait=0)
    while not stop.wait(wait):
        flush_once(settings, database, warehouse, wait=0)
    flush_once(settings, database, warehouse, wait=LAST_FLUSH_LOCK_SECONDS)


class Flusher:
    """The parent's handle on one flusher process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process and hand it the settings."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tenure.api.flusher"],
            stdin=subprocess.PIPE,
            process_group=0,
        )
        message = {
            "settings": self._settings.model_dump(mode="json"),
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        stdin: IO[bytes] = self._process.stdin  # type: ignore[assignment]
        try:
            stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            stdin.flush()
        except BrokenPipeError:  # pragma: no cover - it died at start; stop() reaps it
            log.error("the inbox flusher did not start")

    def stop(self) -> None:
        """Ask the process to flush what is left and exit; kill it after `STOP_SECONDS`."""
        process = self._process
        if process is None:
            return
        _close(process.stdin)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # Cut short: the warehouse transaction is not committed, the inbox keeps the rows.
            log.warning("the last inbox flush took too long; the inbox keeps what it did not move")
            process.kill()
            process.wait()


def _close(stream: Any) -> None:
    with contextlib.suppress(OSError):  # the child is gone already
        stream.close()


if __name__ == "__main__":
    main()
