"""The batch observer: notifies only resources whose item changed; two speeds; stale reads."""

from __future__ import annotations

from dataclasses import dataclass

from cloudinfer.observer.batch import BatchObserver, Intervals, ListResult


@dataclass(frozen=True)
class Item:
    name: str
    state: str


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def make(items: list[Item]) -> tuple[BatchObserver[Item, str], list[str], Clock]:
    notified: list[str] = []
    clock = Clock()

    async def lister() -> ListResult[Item]:
        return ListResult(list(items), calls=1)

    observer: BatchObserver[Item, str] = BatchObserver(
        "test",
        lister,
        lambda i: i.name,
        lambda i: i.state,
        lambda i: i.state == "busy",
        notified.append,
        Intervals(2, 60),
        clock=clock,
    )
    return observer, notified, clock


async def test_notifies_only_changed_items() -> None:
    items = [Item("a", "ok"), Item("b", "ok")]
    observer, notified, _ = make(items)
    observer.watch("a", "key-a")
    observer.watch("b", "key-b")
    observer.watch("c", "key-c")
    await observer.refresh()
    assert sorted(notified) == ["key-a", "key-b", "key-c"]  # first listing: everyone
    notified.clear()
    items[0] = Item("a", "busy")
    await observer.refresh()
    assert notified == ["key-a"]
    notified.clear()
    items.append(Item("c", "ok"))
    del items[1]
    await observer.refresh()
    assert sorted(notified) == ["key-b", "key-c"]  # b vanished, c appeared
    assert observer.list_calls == 3


async def test_two_speeds_and_per_resource_intervals() -> None:
    items = [Item("a", "ok")]
    observer, _, _ = make(items)
    observer.watch("a", "key-a")
    await observer.refresh()
    assert 48 <= observer.next_interval() <= 72  # stable, jittered
    items[0] = Item("a", "busy")
    await observer.refresh()
    assert observer.next_interval() == 2
    observer.watch("a", "key-a2", Intervals(1, 30))
    assert observer.next_interval() == 1


async def test_writes_make_the_snapshot_stale_until_the_next_listing() -> None:
    items = [Item("a", "ok")]
    observer, _, clock = make(items)
    await observer.refresh()
    assert observer.get("a") == Item("a", "ok")
    clock.now += 1
    observer.invalidate("a")
    assert observer.get("a") is None  # caller must ask the cloud directly
    assert observer.next_interval() == 2  # and polling is fast for a while
    clock.now += 1
    await observer.refresh()
    assert observer.get("a") == Item("a", "ok")
