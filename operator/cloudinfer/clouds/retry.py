"""Retry policy: full-jitter exponential backoff, and which failures may be retried.

A request is retried only when repeating it cannot do harm: throttling (the server refused it
before acting), connection failures before anything was sent, and 5xx/timeouts for idempotent
operations. A create whose answer was lost is *not* retried here: the reconciler finds the
service by name instead."""

from __future__ import annotations

import random
from dataclasses import dataclass

from cloudinfer.clouds.errors import Busy, CloudError, Throttled, TransportError


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base: float = 0.3
    cap: float = 8.0
    # Throttling waits longer than this are handed back to the caller (the reconciler
    # requeues) instead of holding a worker.
    max_inline_retry_after: float = 5.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return (rng or random).uniform(0, ceiling)

    def retryable(self, error: CloudError, idempotent: bool) -> bool:
        if isinstance(error, Throttled):
            # A local refusal means the caller must not wait: hand it back at once.
            return not error.local and error.retry_after <= self.max_inline_retry_after
        if isinstance(error, Busy):
            return False  # a state change takes longer than inline retries: the caller requeues
        if isinstance(error, TransportError):
            return idempotent or not error.maybe_committed
        return error.transient and idempotent
