"""`tenure worker`: claim due jobs one at a time, run them under a renewed lease, record them."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.jobs import service
from tenure.jobs.registry import JobContext, JobRegistry
from tenure.jobs.service import Claim
from tenure.kit.time import utc_now

log = logging.getLogger(__name__)
LEASE_SECONDS = 600.0


class Interrupted(KeyboardInterrupt):
    """Raised into a running job when its worker is told to stop (SIGTERM, Ctrl-C)."""


@dataclass(frozen=True)
class RunResult:
    """How one job run ended."""

    name: str
    status: str  # "ok" or "failed"
    seconds: float
    result: dict[str, Any] | str


def worker_id() -> str:
    """host:pid:random, unique per worker object."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs registered jobs from the database schedule; many workers may share one database."""

    def __init__(
        self,
        ctx: JobContext,
        registry: JobRegistry,
        *,
        name: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], Any] = utc_now,
    ) -> None:
        self.ctx, self.registry = ctx, registry
        self.name = name or worker_id()
        self.lease = lease_seconds
        self.clock = clock
        self.busy = False  # a job is running in this worker's thread now

    def sync(self) -> int:
        """Create schedule rows for registered jobs that have none."""
        return self.ctx.database.write(lambda s: service.sync(s, self.registry, self.clock()))

    def _heartbeat(self, claim: Claim, stop: threading.Event) -> None:
        while not stop.wait(self.lease / 3):
            try:
                self.ctx.database.write(
                    lambda s: service.extend(s, claim, self.clock(), self.lease)
                )
            except Exception:  # the lease simply runs out if the database is gone
                log.exception("could not extend the lease of %s", claim.name)

    def execute(self, claim: Claim) -> RunResult:
        """Run a claimed job, keep its lease alive meanwhile, then release it with the outcome."""
        spec = self.registry.get(claim.name)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, stop), daemon=True)
        beat.start()
        started = time.monotonic()
        status = "ok"
        outcome: dict[str, Any] | str
        try:
            self.busy = True
            try:
                outcome = spec.run(self.ctx)
            finally:
                self.busy = False
        except KeyboardInterrupt:  # told to stop: hand the job back, due again at once
            stop.set()
            beat.join()
            self.ctx.database.write(lambda s: self._give_back(s, claim))
            raise
        except TenureError as exc:  # a known condition (no data yet): one line, no traceback
            log.warning("job %s failed: %s", claim.name, exc.message)
            status, outcome = "failed", f"{exc.code}: {exc.message}"
        except Exception as exc:
            log.exception("job %s failed", claim.name)
            status, outcome = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            stop.set()
            beat.join()
        self.ctx.database.write(lambda s: service.finish(s, claim, self.clock(), status, outcome))
        return RunResult(claim.name, status, round(time.monotonic() - started, 3), outcome)

    def _give_back(self, session: Session, claim: Claim) -> None:
        now = self.clock()
        service.finish(session, claim, now, "interrupted", "the worker was stopped")
        service.set_schedule(session, self.registry, claim.name, run_at=now)

    def run_next(self) -> RunResult | None:
        """Claim and run the most overdue job; None when nothing is due."""
        claim = self.ctx.database.write(
            lambda s: service.claim_due(s, self.registry, self.name, self.clock(), self.lease)
        )
        return None if claim is None else self.execute(claim)

    def run_due(self, stop: threading.Event | None = None) -> list[RunResult]:
        """Run due jobs until none is left, or until `stop` is set."""
        results = []
        while not (stop and stop.is_set()) and (result := self.run_next()) is not None:
            results.append(result)
        return results

    def run_named(self, name: str) -> RunResult:
        """Run one job now, due or not (JobRunning if another worker holds it)."""
        claim = self.ctx.database.write(
            lambda s: service.claim_named(
                s, self.registry, name, self.name, self.clock(), self.lease
            )
        )
        return self.execute(claim)

    def loop(self, poll_seconds: float, stop: threading.Event | None = None) -> None:
        """Sync the schedule, then run due jobs every `poll_seconds` until `stop` is set."""
        stop = stop or threading.Event()
        self.sync()
        while not stop.is_set():
            try:
                for result in self.run_due(stop):
                    log.info("job %s %s in %.1f s", result.name, result.status, result.seconds)
            except Exception:  # a database outage must not end the worker
                log.exception("worker iteration failed; retrying")
            stop.wait(poll_seconds)
