"""A thread-safe token bucket: at most `rate_per_second` on average, `burst` at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`acquire()` takes one token, sleeping until it is there.

    Each caller reserves its token under the lock (the level may go below zero) and sleeps
    outside it, so threads are served in arrival order and none holds the lock while waiting.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be positive, not {rate_per_second!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.rate = float(rate_per_second)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a token; returns the seconds slept for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def bucket_for(rate_per_second: float | None) -> TokenBucket | None:
    """The bucket a sender uses for a configured rate (one message at a time), or none."""
    return None if rate_per_second is None else TokenBucket(rate_per_second, burst=1)
