"""A batch observer for one account: lists everything, keeps a snapshot by name, and tells
the resources whose item changed (appeared, vanished, or differs) to reconcile.

Two speeds: the transitional interval while any watched item is transitional (or something
was just changed), the stable interval (jittered ±20%) otherwise. A resource's own poll
intervals can only make its account's polling faster, never slower."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cloudinfer.clouds.errors import CloudError, Throttled

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intervals:
    transitional: float = 5.0
    stable: float = 300.0


@dataclass
class ListResult(Generic[T]):
    items: list[T]
    calls: int  # List calls (pages) it took


class BatchObserver(Generic[T, K]):
    def __init__(
        self,
        name: str,
        lister: Callable[[], Awaitable[ListResult[T]]],
        name_of: Callable[[T], str],
        fingerprint: Callable[[T], object],
        transitional: Callable[[T], bool],
        notify: Callable[[K], None],
        intervals: Intervals = Intervals(),
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._lister, self._name_of, self._fingerprint = lister, name_of, fingerprint
        self._transitional, self._notify = transitional, notify
        self.intervals = intervals
        self._clock = clock
        self._rng = rng or random.Random()
        self.snapshot: dict[str, T] = {}
        self.listed_at: float | None = None
        self.list_calls = 0
        self.errors = 0
        self._prints: dict[str, object] = {}
        self._watchers: dict[str, dict[K, Intervals]] = {}
        self._fast_until = 0.0
        self._written_at: dict[str, float] = {}  # item name → when we last changed it
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- interest --------------------------------------------------------------------------

    def watch(self, item_name: str, key: K, intervals: Intervals | None = None) -> None:
        watchers = self._watchers.setdefault(item_name, {})
        if key not in watchers:
            self._wake.set()  # a new interest: list soon (at most at the fast rate)
        watchers[key] = intervals or self.intervals

    def unwatch(self, item_name: str, key: K) -> None:
        watchers = self._watchers.get(item_name)
        if watchers is not None:
            watchers.pop(key, None)
            if not watchers:
                del self._watchers[item_name]

    @property
    def watched(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    def get(self, item_name: str) -> T | None:
        """The item as of the last listing; None if absent, or if we changed it after that
        listing began (the caller must then ask the cloud directly)."""
        written = self._written_at.get(item_name)
        if written is not None and (self.listed_at is None or self.listed_at <= written):
            return None
        return self.snapshot.get(item_name)

    def invalidate(self, item_name: str) -> None:
        """We just changed `item_name` on the cloud: the snapshot's copy is stale, and the
        account polls at the fast rate for a while."""
        self._written_at[item_name] = self._clock()
        self.poke()

    def poke(self) -> None:
        """Something was just changed on the cloud: poll at the fast rate for a while."""
        self._fast_until = self._clock() + 3 * self._transitional_interval()
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"observer-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _transitional_interval(self) -> float:
        own = [i.transitional for w in self._watchers.values() for i in w.values()]
        return min([self.intervals.transitional, *own])

    def _stable_interval(self) -> float:
        own = [i.stable for w in self._watchers.values() for i in w.values()]
        return min([self.intervals.stable, *own])

    def next_interval(self) -> float:
        busy = self._clock() < self._fast_until or any(
            item is not None and self._transitional(item)
            for item in (self.snapshot.get(n) for n in self._watchers)
        )
        if busy:
            return self._transitional_interval()
        return self._stable_interval() * self._rng.uniform(0.8, 1.2)

    async def refresh(self) -> None:
        """List once and notify the watchers of everything that changed."""
        started = self._clock()  # the listing shows the cloud as of (at best) this moment
        result = await self._lister()
        self.list_calls += result.calls
        snapshot = {self._name_of(item): item for item in result.items}
        prints = {name: self._fingerprint(item) for name, item in snapshot.items()}
        first = self.listed_at is None
        changed = {
            n for n in set(prints) | set(self._prints) if prints.get(n) != self._prints.get(n)
        }
        self.snapshot, self._prints, self.listed_at = snapshot, prints, started
        self._written_at = {n: t for n, t in self._written_at.items() if t >= started}
        for item_name, watchers in list(self._watchers.items()):
            if first or item_name in changed:
                for key in list(watchers):
                    self._notify(key)

    async def _run(self) -> None:
        delay = 0.0
        while True:
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                    # Poked: list soon, but never more often than the fast rate.
                    since = self._clock() - (self.listed_at or 0.0)
                    await asyncio.sleep(max(0.0, self._transitional_interval() - since))
                except TimeoutError:
                    pass
            if not self._watchers and self.listed_at is not None:
                delay = self._stable_interval()  # nobody to tell: don't spend calls
                continue
            try:
                await self.refresh()
                delay = self.next_interval()
            except asyncio.CancelledError:
                raise
            except Throttled as exc:
                self.errors += 1
                delay = max(exc.retry_after, self._transitional_interval())
            except CloudError as exc:
                self.errors += 1
                log.warning("observer %s: listing failed: %s", self.name, exc)
                delay = min(60.0, self._transitional_interval() * 2 ** min(self.errors, 4))
            except Exception:
                self.errors += 1
                log.exception("observer %s: listing failed unexpectedly", self.name)
                delay = 60.0
            else:
                self.errors = 0
