"""Events posted off the reconcile path, as client-go's recorder does: a reconcile hands an
Event over and goes on; a few posters send them. An Event is a courtesy, not part of
reconciling, so when the API server cannot keep up it is not worth a worker's time: past
`capacity` waiting, new ones are dropped and counted, as are those still waiting at shutdown.
Two posters may post one resource's Events out of order; each carries its own timestamp."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter

log = logging.getLogger(__name__)

DROPPED = Counter("cloudinfer_events_dropped_total", "Events not posted: too many waiting.")

Post = Callable[[dict[str, Any], str, str, str], Awaitable[None]]


class EventSink:
    def __init__(self, post: Post, posters: int = 2, capacity: int = 1000) -> None:
        self._post = post
        self._posters = posters
        self._queue: asyncio.Queue[tuple[dict[str, Any], str, str, str]] = asyncio.Queue(capacity)
        self._tasks: list[asyncio.Task[None]] = []

    def emit(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        try:
            self._queue.put_nowait((obj, type_, reason, message))
        except asyncio.QueueFull:
            DROPPED.inc()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._poster(), name=f"events-{i}") for i in range(self._posters)
        ]

    async def drain(self) -> None:
        """Until every Event handed over so far is posted (or failed)."""
        await self._queue.join()

    async def stop(self, grace: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), grace)
        left = self._queue.qsize()
        if left:
            DROPPED.inc(left)
            log.warning("%d events not posted before shutdown", left)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _poster(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._post(*item)
            except Exception:  # post_event logs API errors itself; anything else too
                log.exception("posting an event failed")
            finally:
                self._queue.task_done()
