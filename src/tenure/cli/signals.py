"""Ctrl-C and the processes `tenure serve` starts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import resource_tracker


@contextmanager
def children_deaf_to_ctrl_c() -> Iterator[None]:
    """Processes started inside this block never receive SIGINT; this process still does.

    Ctrl-C in a terminal sends SIGINT to every process of the foreground group. With
    `serve --workers N`, uvicorn's supervisor stops its workers with SIGTERM, but a worker that
    is still starting (the spawn bootstrap, importing the app) dies of the SIGINT itself, with a
    KeyboardInterrupt traceback. A blocked signal stays blocked through fork and exec, from a
    child's very first instruction, so the main thread, which starts the workers, blocks SIGINT
    here; multiprocessing protects its resource tracker the same way (bpo-33613). A thread
    started before the block leaves SIGINT unblocked: the kernel delivers it to that thread, and
    Python runs the handler (the supervisor's) in the main thread as always.
    """
    # Started now: started later, by the first worker, it would unblock SIGINT after itself.
    resource_tracker.ensure_running()
    receiver = threading.Thread(target=threading.Event().wait, name="sigint", daemon=True)
    receiver.start()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
