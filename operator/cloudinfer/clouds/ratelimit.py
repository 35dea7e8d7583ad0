"""Client-side rate limiting per cloud account: a token bucket that also honours the
server's retry-after, so after a throttling answer no call to that account leaves early."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be > 0 and burst >= 1")
        self.qps, self.burst = qps, burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause_until(self, when: float) -> None:
        """No request before `when` (monotonic clock): the server asked us to wait."""
        self._paused_until = max(self._paused_until, when)

    def pause_for(self, seconds: float) -> None:
        self.pause_until(self._clock() + seconds)

    def delay(self) -> float:
        """How long the next acquire would wait now (for tests and metrics)."""
        now = self._clock()
        tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        return max(self._paused_until - now, 0.0 if tokens >= 1 else (1 - tokens) / self.qps)

    async def acquire(self) -> None:
        async with self._lock:  # FIFO-ish: one waiter computes its slot at a time
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.qps)
