"""The batch observer: tells only resources whose item changed; polls only what is changing,
and near when such changes end; lists when that is cheaper; reports a stale snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cloudinfer.clouds.errors import ServerError
from cloudinfer.observer.batch import BatchObserver, Intervals, ListResult, StaleSnapshot


@dataclass(frozen=True)
class Item:
    name: str
    state: str
    owner: str | None = None


@dataclass
class FakeSource:
    items: dict[str, Item] = field(default_factory=dict)
    per_page: int = 100
    listings: int = 0
    pages: int = 0
    describes: list[str] = field(default_factory=list)
    fail: bool = False

    async def list_all(self) -> ListResult[Item]:
        if self.fail:
            raise ServerError("listing broke")
        self.listings += 1
        calls = max(1, -(-len(self.items) // self.per_page))
        self.pages += calls
        return ListResult(list(self.items.values()), calls)

    async def describe(self, key: str) -> Item | None:
        self.describes.append(key)
        return self.items.get(key)

    def key_of(self, item: Item) -> str:
        return item.name

    def owner_of(self, item: Item) -> str | None:
        return item.owner

    def fingerprint(self, item: Item) -> object:
        return item.state

    def transition(self, item: Item) -> str | None:
        return item.state if item.state in ("Creating", "Updating") else None


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def make(
    source: FakeSource, intervals: Intervals | None = None
) -> tuple[BatchObserver[Item, str], list[str], Clock]:
    notified: list[str] = []
    clock = Clock()
    observer: BatchObserver[Item, str] = BatchObserver(
        "test",
        source,
        lambda w, _settled: notified.append(w),
        intervals or Intervals(5, 300),
        clock=clock,
    )
    return observer, notified, clock


async def run_until(observer: BatchObserver[Item, str], clock: Clock, until: float) -> list[str]:
    """Advance the fake clock from wake-up to wake-up, doing what is due each time."""
    done = []
    while (wake := observer.next_wake()) <= until:
        clock.now = max(clock.now, wake)
        done.append(await observer.step())
    clock.now = until
    return done


async def test_progress_is_told_apart_from_news_that_ends_a_wait() -> None:
    """A change to an item still in transition is progress (settled=False), which the
    runtime lets wait behind a backlog; settling or vanishing ends a wait (settled=True)."""
    source = FakeSource({"a": Item("a", "ok")})
    told: list[tuple[str, bool]] = []
    observer: BatchObserver[Item, str] = BatchObserver(
        "test", source, lambda w, settled: told.append((w, settled)), Intervals(5, 300)
    )
    observer.watch("a", "key-a")
    observer.watch("n", "key-n")
    await observer.refresh()
    assert sorted(told) == [("key-a", True), ("key-n", True)]  # ok, and absent
    for state, settled in (("Creating", False), ("Updating", False), ("ok", True)):
        told.clear()
        source.items["n"] = Item("n", state)
        await observer.refresh()
        assert told == [("key-n", settled)], state
    told.clear()
    del source.items["n"]
    await observer.refresh()
    assert told == [("key-n", True)]
    told.clear()
    observer.tell("key-a")  # the adapter's own reason: always news
    assert told == [("key-a", True)]


async def test_notifies_only_changed_items() -> None:
    source = FakeSource({"a": Item("a", "ok"), "b": Item("b", "ok")})
    observer, notified, _ = make(source)
    for key in "abc":
        observer.watch(key, f"key-{key}")
    assert not observer.ready
    await observer.refresh()
    assert observer.ready and sorted(notified) == ["key-a", "key-b", "key-c"]  # first: all
    notified.clear()
    source.items["a"] = Item("a", "Updating")
    await observer.refresh()
    assert notified == ["key-a"]
    notified.clear()
    source.items["c"] = Item("c", "ok", owner="uid-c")
    del source.items["b"]
    await observer.refresh()
    assert sorted(notified) == ["key-b", "key-c"]  # b vanished, c appeared
    assert observer.owned_by("uid-c") == "c" and observer.owned_by("uid-b") is None


async def test_our_writes_are_unknown_until_looked_at_again() -> None:
    source = FakeSource({"a": Item("a", "ok")})
    observer, _, clock = make(source)
    await observer.refresh()
    assert observer.knows("a") and observer.knows("never-seen")
    clock.now += 1
    observer.invalidate("a")
    assert not observer.knows("a")  # the caller must ask the cloud directly
    clock.now += 1
    await observer.look(["a"])
    assert observer.knows("a")


async def test_at_scale_only_changing_items_are_polled() -> None:
    """1,000 services, one of them created by us: it is Described, the account is not
    re-listed (10 pages) while it deploys; at rest one listing per stable interval."""
    source = FakeSource({f"s{i}": Item(f"s{i}", "ok") for i in range(1000)})
    observer, notified, clock = make(source)
    observer.watch("new", "key-new")
    assert await observer.step() == "list" and source.pages == 10
    start = clock.now
    source.items["new"] = Item("new", "Creating")
    observer.invalidate("new")
    # It deploys for 12 s, then runs.
    done = await run_until(observer, clock, start + 12)
    assert set(done) == {"look"} and source.listings == 1
    source.items["new"] = Item("new", "ok")
    notified.clear()
    await run_until(observer, clock, start + 30)
    assert notified == ["key-new"] and source.listings == 1
    looks_while_deploying = len(source.describes)
    # Describes only, a handful: one per second near the assumed end, then one per 5 s.
    assert looks_while_deploying <= 10
    # At rest: nothing until the stable interval (300 s ± 20%), then one listing.
    await run_until(observer, clock, start + 230)
    assert source.listings == 1 and len(source.describes) == looks_while_deploying
    await run_until(observer, clock, start + 400)
    assert source.listings == 2


async def test_polls_often_near_the_learnt_completion_time() -> None:
    source = FakeSource()
    observer, notified, clock = make(source, Intervals(5, 300))
    await observer.refresh()

    async def deploy(name: str, seconds: float) -> float:
        """Create `name`, let it finish after `seconds`; return when we were told."""
        observer.watch(name, name)
        source.items[name] = Item(name, "Creating")
        started = clock.now
        observer.invalidate(name)
        notified.clear()
        while True:
            wake = observer.next_wake()
            if wake >= started + seconds and source.items[name].state == "Creating":
                clock.now = started + seconds
                source.items[name] = Item(name, "ok")
            clock.now = max(clock.now, wake)
            await observer.step()
            if name in notified and source.items[name].state == "ok":
                return clock.now - started

    first = await deploy("one", 7.0)
    assert first <= 7.0 + 5.0  # unknown duration: within one transitional interval
    later = await deploy("two", 7.0)
    assert later <= 7.0 + 1.0 + 1e-6  # learnt: polls every second near the end


async def test_many_due_items_are_listed_not_described() -> None:
    source = FakeSource({f"s{i}": Item(f"s{i}", "ok") for i in range(150)})  # 2 pages
    observer, _, clock = make(source)
    await observer.refresh()
    for i in range(5):
        source.items[f"n{i}"] = Item(f"n{i}", "Creating")
        observer.watch(f"n{i}", f"n{i}")
        observer.invalidate(f"n{i}")
    clock.now += 6
    assert await observer.step() == "list" and not source.describes


async def test_a_listing_that_keeps_failing_makes_the_snapshot_stale() -> None:
    source = FakeSource({"a": Item("a", "ok")})
    observer, notified, clock = make(source, Intervals(5, 60))
    observer.watch("a", "key-a")
    await observer.refresh()
    notified.clear()
    source.fail = True
    clock.now += observer.max_age - 1
    assert await observer.step() == "failed"
    observer.check_fresh()  # not stale yet
    assert notified == []
    clock.now = observer.next_wake()  # the retry, after max_age
    assert await observer.step() == "failed"
    with pytest.raises(StaleSnapshot):
        observer.check_fresh()
    assert notified == ["key-a"]  # told once, so it can say so
    clock.now = observer.next_wake()
    await observer.step()
    assert notified == ["key-a"]
    source.fail = False
    clock.now = observer.next_wake()
    assert await observer.step() == "list"
    observer.check_fresh()
    assert notified == ["key-a", "key-a"]  # told again when it works


async def test_a_failing_listing_backs_off_for_the_items_waiting_on_it() -> None:
    source = FakeSource({"a": Item("a", "ok")})
    observer, _, clock = make(source)
    await observer.refresh()
    for i in range(3):  # more due items than pages: they would be listed
        observer.watch(f"n{i}", f"n{i}")
        observer.invalidate(f"n{i}", created=True)
    source.fail = True
    steps = await run_until(observer, clock, clock.now + 60)
    assert steps.count("failed") <= 8, steps  # backing off, not one listing per wake-up


@dataclass
class ChangeSource(FakeSource):
    """A source that can also list only what changed since a mark (a sequence number, as a
    cloud's UpdateTime would be), newest first, `per_page` to a page."""

    seq: int = 0
    changed_at: dict[str, int] = field(default_factory=dict)
    changes_passes: int = 0

    def put(self, item: Item) -> None:
        self.seq += 1
        self.items[item.name] = item
        self.changed_at[item.name] = self.seq

    def remove(self, name: str) -> None:
        self.items.pop(name, None)
        self.changed_at.pop(name, None)

    during_listing: list[Item] = field(default_factory=list)  # changes between its pages

    async def newest_mark(self) -> object:
        self.pages += 1
        return self.seq

    async def list_all(self) -> ListResult[Item]:
        result = await super().list_all()  # what the pages showed...
        for item in self.during_listing:  # ...while these changed after their page was read
            self.put(item)
        self.during_listing.clear()
        return result

    async def list_changed(self, mark: object) -> ListResult[Item]:
        assert isinstance(mark, int)
        self.changes_passes += 1
        fresh = [self.items[n] for n, s in self.changed_at.items() if s > mark]
        calls = max(1, -(-len(fresh) // self.per_page))
        self.pages += calls
        return ListResult(fresh, calls, mark=self.seq)


async def test_a_burst_is_followed_by_listing_what_changed_not_everything() -> None:
    """2,000 services at rest (20 pages), then 500 created by us: while they deploy the
    account is never listed in full again; each pass reads only what changed."""
    source = ChangeSource()
    for i in range(2000):
        source.put(Item(f"s{i}", "ok"))
    observer, notified, clock = make(source)
    assert await observer.step() == "list" and source.pages == 21  # the mark's probe + 20
    start = clock.now
    for i in range(500):
        observer.watch(f"n{i}", f"n{i}")
        source.put(Item(f"n{i}", "Creating"))
        observer.invalidate(f"n{i}", created=True)
    await run_until(observer, clock, start + 6)
    for i in range(500):
        source.put(Item(f"n{i}", "ok"))
    notified.clear()
    await run_until(observer, clock, start + 20)
    assert sorted(set(notified)) == sorted(f"n{i}" for i in range(500))
    assert source.listings == 1 and source.changes_passes >= 2
    assert source.pages <= 20 + 16, source.pages  # 5 pages created, 5 Running, probe, empty
    assert not source.describes
    assert all(observer.knows(f"n{i}") for i in range(500))


async def test_items_that_vanish_during_a_burst_are_found_by_a_full_listing() -> None:
    """Deletions leave no trace in a changes-only listing: once the followed items are
    overdue, a full listing settles them."""
    source = ChangeSource()
    for i in range(300):
        source.put(Item(f"s{i}", "ok"))
    observer, notified, clock = make(source)
    await observer.step()
    for i in range(300):
        observer.watch(f"s{i}", f"s{i}")
        source.put(Item(f"s{i}", "Updating"))
        observer.invalidate(f"s{i}")
    await run_until(observer, clock, clock.now + 6)
    for i in range(300):
        source.remove(f"s{i}")
    notified.clear()
    await run_until(observer, clock, clock.now + 60)
    assert source.listings == 2  # the first, and one that saw them gone
    assert sorted(set(notified)) == sorted(f"s{i}" for i in range(300))
    assert not observer.snapshot


async def test_a_burst_never_spends_more_than_the_list_rate_on_full_listings() -> None:
    """10,000 services (100 pages) and a burst to follow, without a changes-only listing:
    at 5 pages a second, the account is listed every 20 s, not every transitional 5 s."""
    source = FakeSource({f"s{i}": Item(f"s{i}", "ok") for i in range(10_000)})
    notified: list[str] = []
    clock = Clock()
    observer: BatchObserver[Item, str] = BatchObserver(
        "test",
        source,
        lambda w, _settled: notified.append(w),
        Intervals(5, 300),
        clock=clock,
        list_rate=5.0,
    )
    await observer.step()
    for i in range(200):
        observer.watch(f"n{i}", f"n{i}")
        source.items[f"n{i}"] = Item(f"n{i}", "Creating")
        observer.invalidate(f"n{i}", created=True)
    await run_until(observer, clock, clock.now + 60)
    assert 2 <= source.listings - 1 <= 3, source.listings  # every 5 s would be 11


async def test_a_change_made_while_a_full_listing_pages_is_not_lost() -> None:
    """The mark a changes-only listing starts from is taken before the full listing: an item
    that changed after its page was read is in the next listing of changes."""
    source = ChangeSource(per_page=2)
    for name in "abcde":
        source.put(Item(name, "Creating"))
    observer, notified, clock = make(source)
    for name in "abcde":
        observer.watch(name, name)
        observer.invalidate(name, created=True)
    source.during_listing = [Item("a", "ok")]
    assert await observer.step() == "list"
    assert observer.get("a") == Item("a", "Creating")  # what its page said
    notified.clear()
    await run_until(observer, clock, clock.now + 6)  # the next burst listing: 5 s later
    assert source.listings == 1 and source.changes_passes >= 1
    assert observer.get("a") == Item("a", "ok") and "a" in notified
