"""`tenure serve --workers N`: uvicorn's worker supervisor, with a stop that never waits on a
health check.

uvicorn's supervisor checks each worker in turn, waiting up to `timeout_worker_healthcheck`
(5 s) for an answer, and handles a SIGINT or SIGTERM only between rounds. A worker that is
still starting (on a busy machine, importing takes seconds) can hold a Ctrl-C for 5 s per
worker, past the 10 s in which `tenure serve` promises to stop. Here each check waits in
slices of a quarter second and gives way as soon as a stop signal is queued.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger(__name__)
SLICE = 0.25  # seconds a health check waits before looking for a stop again


class Supervisor(Multiprocess):
    """uvicorn's Multiprocess, whose health checks yield to a waiting stop."""

    def keep_subprocess_alive(self) -> None:
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set() or self.signal_queue:
                return  # the loop handles the stop before any more checks
            if self._answers(process):
                continue
            process.kill()  # hung: replace it, as uvicorn does
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker %s failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set() or self.signal_queue:
                return
            log.info("worker %s died; starting another", process.pid)
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement

    def _answers(self, process: Process) -> bool:
        """Whether the worker answers within the health-check time (a waiting stop counts as
        an answer: the worker is about to be stopped anyway)."""
        if not process.process.is_alive():
            return False
        deadline = time.monotonic() + self.config.timeout_worker_healthcheck
        while time.monotonic() < deadline:
            if self.signal_queue or self.should_exit.is_set():
                return True
            if process.ping(timeout=SLICE):
                return True
        return False


def run_workers(app: str, **options: Any) -> None:
    """Serve `app` (an import string) from `options["workers"]` processes."""
    config = uvicorn.Config(app, **options)
    sock = config.bind_socket()
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: a Ctrl-C during the stop
        Supervisor(config, sockets=[sock]).run()
