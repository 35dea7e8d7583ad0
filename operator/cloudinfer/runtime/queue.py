"""A work queue in the manner of controller-runtime's: keys are deduplicated, one key is
never worked on by two workers at once, and a worker can ask for its key again after a delay.
Everything that wants a resource looked at (watch events, the observer, retries, resyncs)
goes through `add`, so a burst of triggers costs one reconcile."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram

K = TypeVar("K", bound=Hashable)
log = logging.getLogger(__name__)

RECONCILES = Counter("cloudinfer_reconciles_total", "Reconciles run, by outcome.", ["outcome"])
RECONCILE_SECONDS = Histogram(
    "cloudinfer_reconcile_duration_seconds",
    "Time spent in one reconcile.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
URGENT_LEAD = 1e9  # seconds: an urgent key sorts before any key due in normal time
# Why keys were queued: a burst's reconciles per resource, told apart by what asked for them.
QUEUE_ADDS = Counter(
    "cloudinfer_workqueue_adds_total",
    "Requests to work on a key, by what asked (watch, cloud, progress, retry, slot, config, "
    "secret, namespace, startup).",
    ["source"],
)
QUEUE_DEPTH = Gauge(
    "cloudinfer_workqueue_depth",
    "Keys scheduled in the work queue, due now or later (resyncs included).",
)
# The backlog signal (controller-runtime's workqueue_queue_duration_seconds): the depth counts
# every resource waiting for its resync, so only the wait past the due time says "behind".
QUEUE_WAIT = Histogram(
    "cloudinfer_workqueue_queue_duration_seconds",
    "How long a key waited after it was due before a worker took it.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900),
)


def waited(when: float, now: float) -> float:
    """Seconds a key due at `when` (urgent keys: moved URGENT_LEAD earlier) has waited."""
    if when < now - URGENT_LEAD / 2:
        when += URGENT_LEAD
    return max(0.0, now - when)


class WorkQueue(Generic[K]):
    def __init__(
        self,
        work: Callable[[K], Awaitable[float | None]],
        workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
        error_delay: float = 30.0,
    ) -> None:
        """`work(key)` returns seconds until the key should be worked on again, or None.
        A key whose work raises is tried again after `error_delay`."""
        self._work = work
        self._error_delay = error_delay
        self._workers = workers
        self._clock = clock
        self._heap: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}  # key → when it is due (earliest request wins)
        self._active: set[K] = set()
        self._again: dict[K, float] = {}  # added while active: requeue when done
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0

    def add(self, key: K, delay: float = 0.0, urgent: bool = False, source: str = "retry") -> None:
        """Work on `key` after `delay`. `urgent` keys go before every key due normally:
        news from the cloud (a service turned Running) must not wait behind a backlog of
        creates. They are bounded by how fast the cloud changes, so they cannot starve it."""
        when = self._clock() + max(0.0, delay) - (URGENT_LEAD if urgent else 0.0)
        QUEUE_ADDS.labels(source).inc()
        self._push(key, when)

    def _push(self, key: K, when: float) -> None:
        if key in self._active:
            self._again[key] = min(when, self._again.get(key, when))
            return
        if key in self._due and self._due[key] <= when:
            return
        self._due[key] = when
        heapq.heappush(self._heap, (when, next(self._seq), key))
        self._wake.set()

    def forget(self, key: K) -> None:
        self._due.pop(key, None)  # stale heap entries are skipped when popped
        self._again.pop(key, None)

    def __len__(self) -> int:
        return len(self._due)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"workqueue-{i}") for i in range(self._workers)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _next(self) -> K:
        while True:
            now = self._clock()
            while self._heap:
                when, _, key = self._heap[0]
                if self._due.get(key) != when or key in self._active:
                    heapq.heappop(self._heap)  # superseded, forgotten, or being worked on
                    if key in self._active and self._due.get(key) == when:
                        self._again[key] = min(when, self._again.get(key, when))
                        del self._due[key]
                    continue
                if when > now:
                    break
                heapq.heappop(self._heap)
                del self._due[key]
                QUEUE_WAIT.observe(waited(when, now))
                return key
            self._wake.clear()
            timeout = self._heap[0][0] - now if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _worker(self) -> None:
        while True:
            key = await self._next()
            self._active.add(key)
            QUEUE_DEPTH.set(len(self._due))
            delay: float | None = None
            started = time.monotonic()
            try:
                delay = await self._work(key)
                RECONCILES.labels("ok").inc()
            except asyncio.CancelledError:
                raise
            except Exception:
                RECONCILES.labels("error").inc()
                log.exception(
                    "reconciling %s failed unexpectedly; retrying in %ss", key, self._error_delay
                )
                delay = self._error_delay
            finally:
                RECONCILE_SECONDS.observe(time.monotonic() - started)
                self._active.discard(key)
                self.processed += 1
            again = self._again.pop(key, None)
            if again is not None:
                self._push(key, again)
            if delay is not None:
                self.add(key, delay)
