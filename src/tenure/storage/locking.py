"""Inter-process reader/writer lock around the embedded DuckDB file."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tenure.errors import TenureError


class WarehouseBusy(TenureError):
    """Another process held the warehouse for longer than we were willing to wait."""

    code = "warehouse_busy"
    status = 503


@contextmanager
def file_lock(path: Path, *, exclusive: bool, timeout: float) -> Iterator[None]:
    """Hold a shared or exclusive flock on `path`, waiting up to `timeout` seconds.

    DuckDB lets one process open a file for writing and then refuses every other process, even
    read-only ones. Every Tenure process therefore opens DuckDB only inside this lock and only for
    the duration of one operation, so `tenure serve` and the CLI take turns instead of failing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + timeout
    delay = 0.005
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(seconds=timeout) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
