"""Batch observation for one account and kind: a paged listing feeds a snapshot every
resource reads, and the resources whose item changed (appeared, vanished, differs) are told.

Cost follows the listing, not the resources:
- at rest, one full listing per stable interval (jittered);
- while items are changing (ones we wrote, or ones the listing shows transitional), only
  those are polled, one Describe each; when there are more of them than the listing has
  pages (a burst), the account is listed instead, and where the source can list only what
  changed since its last listing (newest first, by the cloud's update time), only that is
  read. Such a listing cannot show an item that vanished, so followed items that stay
  unexplained well past their expected completion are settled by a full listing (or a
  Describe each, when they are few);
- an item is polled rarely early in its transition and often near the time transitions of
  that kind have been taking (learnt per phase), so completion is seen soon after it happens.

A snapshot that cannot be refreshed for `max_age` is reported stale, and everyone watching
is told, so resources surface it instead of serving an old Ready forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast, runtime_checkable

from cloudinfer.clouds.errors import CloudError, Throttled

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intervals:
    transitional: float = 5.0
    stable: float = 300.0

    def clamp(self, floor: Intervals) -> Intervals:
        """Never faster than `floor` (a resource cannot out-poll its provider config)."""
        return Intervals(max(self.transitional, floor.transitional), max(self.stable, floor.stable))


@dataclass
class ListResult(Generic[T]):
    items: list[T]
    calls: int  # List calls (pages) it took
    # For a listing of changes: where the next one may start (the source's own notion, e.g.
    # the newest update time seen).
    mark: object = None


class Source(Protocol[T]):
    """What one account offers the observer for one kind."""

    async def list_all(self) -> ListResult[T]: ...

    async def describe(self, key: str) -> T | None:
        """The item now, or None when it does not exist."""
        ...

    def key_of(self, item: T) -> str: ...

    def owner_of(self, item: T) -> str | None:
        """The owner marker (a CR uid) stamped on the item, if any."""
        ...

    def fingerprint(self, item: T) -> object: ...

    def transition(self, item: T) -> str | None:
        """The transitional phase the item is in (Creating, Updating...), or None."""
        ...


@runtime_checkable
class ChangeSource(Source[T], Protocol[T]):
    """A source that can also list only the items changed since a listing's mark."""

    async def newest_mark(self) -> object:
        """The mark of the newest change now (one call). Taken before a full listing: a
        mark read off the listing's own pages would skip what changed on early pages while
        later ones were read."""
        ...

    async def list_changed(self, mark: object) -> ListResult[T]:
        """Every item changed since `mark` (and maybe some before), with the next mark.
        Items that vanished are not in it."""
        ...


class StaleSnapshot(CloudError):
    """The listing has been failing for longer than the snapshot may be trusted."""

    transient = True


class BatchObserver(Generic[T, K]):
    def __init__(
        self,
        name: str,
        source: Source[T],
        notify: Callable[[K, bool], None],
        intervals: Intervals = Intervals(),
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_age: float | None = None,
        list_rate: float | None = None,
    ) -> None:
        """`notify(watcher, settled)` wakes a watcher of an item that changed; `settled` is
        False for progress (the item is still in transition), which may wait its turn behind
        other work, and True for news that ends a wait (it settled, vanished, or the adapter
        says so). `list_rate`: List pages per second a burst's listings may spend (a share
        of the account's rate limit, so they never starve the creates they are following)."""
        self.name = name
        self.list_rate = list_rate
        self._source = source
        self._notify = notify
        self.intervals = intervals
        self._clock = clock
        self._rng = rng or random.Random()
        self.max_age = max_age if max_age is not None else 3 * intervals.stable + 60
        self.snapshot: dict[str, T] = {}
        self._prints: dict[str, object] = {}
        self._owners: dict[str, str] = {}  # owner uid → item key
        self.listed_at: float | None = None  # start of the last full listing that succeeded
        self.errors = 0
        self.last_error = ""
        self._last_exception: CloudError | None = None
        self._stale_told = False
        self._watchers: dict[str, dict[K, Intervals]] = {}
        # Items being followed closely: since when, when to look next, and at what.
        self._since: dict[str, float] = {}
        self._due: dict[str, float] = {}
        self._phase: dict[str, str] = {}
        self._written: dict[str, float] = {}  # item → when we last changed it
        self._looked: dict[str, float] = {}  # item → start of the last look at it alone
        self._expected: dict[str, float] = {}  # phase → learnt transition duration
        self._creating: set[str] = set()  # created by us, not seen yet
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_full = clock()
        self.pages = 1  # pages the last full listing took
        self._changes_listable = isinstance(source, ChangeSource)
        self._mark: object = None  # where the next changes-only listing starts
        self._busy_listed = 0.0  # start of the last listing (full or of changes) in a burst
        self._busy_pages = 1  # pages that listing took
        self._failures = 0  # consecutive failed steps
        self._retry_at = 0.0  # after a failure, no listing before this

    # -- what resources ask ----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Listed at least once: absence from the snapshot means something."""
        return self.listed_at is not None

    def check_fresh(self) -> None:
        """Raise when there is nothing to act on: the error of a first listing that failed
        (bad credentials surface as themselves), or StaleSnapshot when it is too old."""
        if self.listed_at is None:
            if self._last_exception is not None:
                raise self._last_exception
            return
        age = self._clock() - self.listed_at
        if age > self.max_age:
            self._stale_told = True  # the next good listing tells everyone it is over
            raise StaleSnapshot(  # no age in the text: a stable message, no status churn
                f"no successful cloud listing for over {self.max_age:.0f}s; "
                f"last error: {self.last_error}",
                cloud=self.name,
                operation="observe",
            )

    def knows(self, key: str) -> bool:
        """Whether the snapshot's view of `key` (present or absent) postdates our last
        change to it."""
        if self.listed_at is None:
            return False
        written = self._written.get(key)
        if written is None:
            return True
        return max(self.listed_at, self._looked.get(key, -1.0)) > written

    def get(self, key: str) -> T | None:
        return self.snapshot.get(key)

    def owned_by(self, uid: str) -> str | None:
        """The key of the item stamped with owner `uid`, as of the snapshot."""
        return self._owners.get(uid)

    def watch(self, key: str, watcher: K, intervals: Intervals | None = None) -> None:
        watchers = self._watchers.setdefault(key, {})
        if watcher not in watchers and self.listed_at is None:
            self._wake.set()  # someone waits for the first listing
        watchers[watcher] = (intervals or self.intervals).clamp(self.intervals)

    def tell(self, watcher: K) -> None:
        """Wake one watcher for a reason of the adapter's own (e.g. room freed on a Fabric
        endpoint it waits for), not a change of an item it watches."""
        self._notify(watcher, True)

    def unwatch(self, key: str, watcher: K) -> None:
        watchers = self._watchers.get(key)
        if watchers is not None:
            watchers.pop(watcher, None)
            if not watchers:
                del self._watchers[key]
                self._forget_follow(key)
                self._written.pop(key, None)
                self._looked.pop(key, None)
                self._creating.discard(key)

    def invalidate(self, key: str, created: bool = False) -> None:
        """We just changed `key` on the cloud (`created`: it should appear): its snapshot
        copy is stale; follow it."""
        now = self._clock()
        if created:
            self._creating.add(key)
        self._written[key] = now
        self._since[key] = now
        self._due[key] = now + self._next_delay(key, now)
        self._wake.set()

    # -- scheduling --------------------------------------------------------------------------

    def _item_intervals(self, key: str) -> Intervals:
        own = self._watchers.get(key)
        if not own:
            return self.intervals
        return Intervals(
            min(i.transitional for i in own.values()), min(i.stable for i in own.values())
        )

    def _next_delay(self, key: str, now: float) -> float:
        """Poll rarely early in a transition, often near when such transitions end."""
        base = self._item_intervals(key).transitional
        fast = max(0.5, base / 5)
        phase = self._phase.get(key, "")
        expected = self._expected.get(phase) or self._expected.get("") or base
        elapsed = now - self._since.get(key, now)
        remaining = 0.8 * expected - elapsed
        if remaining > fast:
            return min(base, remaining)
        if elapsed < 2 * expected:
            return fast
        return base

    def _learn(self, phase: str, seconds: float) -> None:
        for key in (phase, ""):
            old = self._expected.get(key)
            self._expected[key] = seconds if old is None else 0.7 * old + 0.3 * seconds

    def _overdue(self, key: str, now: float) -> bool:
        """Followed for well past when its transition should have ended, with nothing seen:
        it may have vanished, which only a full listing or a Describe can show."""
        since = self._since.get(key)
        if since is None:
            return False
        expected = self._expected.get(self._phase.get(key, "")) or self._expected.get("")
        base = self._item_intervals(key).transitional
        return now - since > 2 * (expected or base) + base

    def _forget_follow(self, key: str) -> None:
        self._since.pop(key, None)
        self._due.pop(key, None)
        self._phase.pop(key, None)

    def _full_due(self) -> float:
        if self.listed_at is None:
            return self._clock()
        return self._next_full

    # -- applying what was seen -------------------------------------------------------------

    def _set(self, key: str, item: T | None) -> bool:
        """Record the item (None: absent); True when it changed."""
        old_print = self._prints.get(key)
        old_owner = None
        if key in self.snapshot:
            old_owner = self._source.owner_of(self.snapshot[key])
        if old_owner is not None and self._owners.get(old_owner) == key:
            del self._owners[old_owner]
        if item is None:
            self.snapshot.pop(key, None)
            self._prints.pop(key, None)
            return old_print is not None
        self.snapshot[key] = item
        new_print = self._source.fingerprint(item)
        self._prints[key] = new_print
        owner = self._source.owner_of(item)
        if owner:
            self._owners[owner] = key
        return new_print != old_print

    def _follow(self, key: str, now: float) -> None:
        """After a look at `key`: keep following it while it is in transition (or while
        our change is not visible yet), learn how long the transition took when it ends."""
        item = self.snapshot.get(key)
        phase = self._source.transition(item) if item is not None else None
        written = self._written.get(key)
        if key in self.snapshot:
            self._creating.discard(key)
        unseen_write = written is not None and key in self._creating and now - written < 60
        if phase is not None or unseen_write:
            if key not in self._since:
                self._since[key] = now
            if phase is not None:
                self._phase.setdefault(key, phase)
            self._due[key] = now + self._next_delay(key, now)
            return
        if key in self._since and key in self._phase:
            self._learn(self._phase[key], now - self._since[key])
        self._forget_follow(key)
        self._written.pop(key, None)
        self._creating.discard(key)
        self._looked.pop(key, None)

    def _tell(self, key: str) -> None:
        item = self.snapshot.get(key)
        settled = item is None or self._source.transition(item) is None
        for watcher in list(self._watchers.get(key, ())):
            self._notify(watcher, settled)

    async def refresh(self) -> None:
        """List everything once; tell the watchers of what changed."""
        started = self._clock()
        mark = None
        if self._changes_listable:
            mark = await cast(ChangeSource[T], self._source).newest_mark()
        result = await self._source.list_all()
        first = self.listed_at is None
        seen: dict[str, T] = {self._source.key_of(item): item for item in result.items}
        changed = [k for k in list(self.snapshot) if k not in seen and self._set(k, None)]
        changed += [k for k, item in seen.items() if self._set(k, item)]
        self.listed_at = started
        self.pages = result.calls
        self._mark = mark
        recovered = self._stale_told
        self._stale_told = False
        for key in set(self._watchers) | set(self._since):
            self._follow(key, started)
        tell = self._watchers if first or recovered else changed
        for key in list(tell):
            self._tell(key)

    async def changes(self, source: ChangeSource[T]) -> None:
        """List what changed since the last listing; tell the watchers of what changed.
        What is not in it has not changed (or vanished: see `_overdue`)."""
        started = self._clock()
        result = await source.list_changed(self._mark)
        self._mark = result.mark
        self._busy_pages = result.calls
        for item in result.items:
            key = self._source.key_of(item)
            if self._set(key, item):
                self._tell(key)
            if key in self._watchers or key in self._since:
                self._looked[key] = started  # as good as a look at it alone
                self._follow(key, started)

    async def look(self, keys: list[str]) -> None:
        """Describe just these items; tell the watchers of what changed."""

        async def one(key: str) -> None:
            started = self._clock()
            item = await self._source.describe(key)
            self._looked[key] = started
            if self._set(key, item):
                self._tell(key)
            self._follow(key, started)

        results = await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                log.warning("observer %s: describing %s failed: %s", self.name, key, result)
                self._due[key] = self._clock() + self._item_intervals(key).transitional

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._next_full = self._clock()
            self._task = asyncio.create_task(self._run(), name=f"observer-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _stable_delay(self) -> float:
        return self.intervals.stable * self._rng.uniform(0.8, 1.2)

    async def _wait(self, until: float) -> None:
        delay = until - self._clock()
        if delay <= 0:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def _many(self) -> bool:
        """More items followed than the listing has pages: listing (what changed, or all)
        is cheaper than a Describe each (a burst of creates)."""
        return len(self._due) > self.pages

    def _next_busy_listing(self) -> float:
        """A listing for many followed items: a transitional interval after the last one, or
        every second or so when only changes are listed (completions are seen soon); never
        sooner than the last one's calls fit the list rate, and never before a failed one's
        backoff is over."""
        last = max(self.listed_at or 0.0, self._busy_listed)
        gap = self.intervals.transitional
        if self.list_rate:
            fast = max(0.5, gap / 5)
            cheap = self._mark is not None and self._changes_listable
            gap = max(fast if cheap else gap, self._busy_pages / self.list_rate)
        return max(last + gap, self._retry_at)

    def _busy_plan(self, now: float) -> tuple[bool, list[str]]:
        """In a burst: list in full, or list what changed and Describe the few overdue."""
        if self._mark is None or not self._changes_listable:
            return True, []
        # Overdue and due again: a Describe each, at most one per item per its own interval.
        overdue = [k for k, t in self._due.items() if t <= now and self._overdue(k, now)]
        if len(overdue) > self.pages:
            return True, []
        return False, overdue

    def next_wake(self) -> float:
        """When something is due: the next full listing or the earliest item to look at."""
        if self._many():
            return min(self._full_due(), self._next_busy_listing())
        return min([self._full_due(), *self._due.values()])

    async def step(self) -> str:
        """Do what is due now: a full listing ("list"), a listing of changes and Describes
        of overdue items ("changes"), Describe the due items ("look"), or nothing ("idle").
        Failures are recorded and reported, never raised."""
        now = self._clock()
        full = self.listed_at is None or now >= self._next_full
        changes = False
        due: list[str] = []
        if not full and self._many():
            # The items wait for the next burst listing (its cadence: _next_busy_listing).
            if now >= self._next_busy_listing():
                full, due = self._busy_plan(now)
                changes = not full
                self._busy_listed = now
        elif not full:
            due = [k for k, t in self._due.items() if t <= now]  # a few: at most pages
        if not full and not changes and not due:
            return "idle"
        try:
            if full:
                await self.refresh()
                self._busy_pages = self.pages
                self._next_full = self._clock() + self._stable_delay()
            else:
                if changes:
                    await self.changes(cast(ChangeSource[T], self._source))
                    self._busy_pages += len(due)  # the list rate pays for those too
                if due:
                    await self.look(due)
            self._failures = 0
            self._last_exception = None
            return "list" if full else "changes" if changes else "look"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a listing that fails must not end the observer
            self._failures += 1
            self.errors += 1
            self.last_error = str(exc)
            if isinstance(exc, CloudError):
                self._last_exception = exc
            if isinstance(exc, Throttled):
                delay = max(exc.retry_after, self.intervals.transitional)
            else:
                if isinstance(exc, CloudError):
                    log.warning("observer %s: listing failed: %s", self.name, exc)
                else:
                    log.exception("observer %s: listing failed unexpectedly", self.name)
                delay = min(60.0, self.intervals.transitional * 2 ** min(self._failures, 4))
            self._retry_at = self._clock() + delay
            if full:
                self._next_full = self._retry_at
            for key in due:  # the backoff holds for them too: no retry storm
                self._due[key] = max(self._due[key], self._retry_at)
            self._tell_if_stale()
            return "failed"

    async def _run(self) -> None:
        while True:
            if self.listed_at is None and not self._watchers:
                await self._wait(self._clock() + self.intervals.stable)
                continue
            # A floor on the wait: a schedule bug must cost latency, never a spinning core.
            await self._wait(max(self.next_wake(), self._clock() + 0.05))
            await self.step()

    def _tell_if_stale(self) -> None:
        if self.listed_at is None:
            # Never listed: whoever waits for the first listing should say why it fails.
            for key in list(self._watchers):
                self._tell(key)
            return
        stale = self._clock() - self.listed_at > self.max_age
        if stale and not self._stale_told:
            self._stale_told = True
            for key in list(self._watchers):
                self._tell(key)
