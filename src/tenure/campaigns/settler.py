"""Recording sent messages in group commits, on a thread of its own.

Each send is recorded (the message marked sent, its decision and its warehouse event) in the
next commit after it, a few milliseconds later, while the sending threads go on: the commit's
cost (an fsync on SQLite) is paid once per group rather than once per message. A worker killed
between a send and that commit leaves those few messages leased; they are sent again with the
same Message-ID (and webhook Idempotency-Key) when the lease runs out, which is how a mailbox
or provider recognises the repeat.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from types import TracebackType

from sqlalchemy.orm import Session

from tenure.campaigns.channels.base import Outcome
from tenure.campaigns.service import delivery
from tenure.kit.time import utc_now
from tenure.storage.database import Database

log = logging.getLogger(__name__)
GROUP = 500  # at most this many records per commit
_STOP = object()


class Settler:
    """Takes (message, outcome) pairs and commits them in groups until closed."""

    def __init__(self, database: Database, worker: str) -> None:
        self.database = database
        self.worker = worker
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="settle", daemon=True)
        self._thread.start()

    def put(self, message: delivery.Claimed, outcome: Outcome) -> None:
        """Record this outcome in the next group."""
        self._queue.put((message, outcome))

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            while len(group) < GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                group.append(item)
            self._commit(group)  # type: ignore[arg-type]
            if stop:
                return

    def _commit(self, group: list[tuple[delivery.Claimed, Outcome]]) -> None:
        for attempt in range(3):
            try:
                self.database.write(lambda s: self._record(s, group))
                return
            except Exception:  # the database restarting: try again, then leave it to the lease
                log.exception("recording %d sent messages failed (try %d)", len(group), attempt + 1)
                time.sleep(0.5 * (attempt + 1))

    def _record(self, session: Session, group: list[tuple[delivery.Claimed, Outcome]]) -> None:
        delivery.record_many(session, group, utc_now(), self.worker)

    def close(self) -> None:
        """Commit what is queued and stop."""
        self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> Settler:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
