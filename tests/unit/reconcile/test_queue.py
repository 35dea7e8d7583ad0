import asyncio

from cloudinfer.runtime.queue import URGENT_LEAD, WorkQueue, waited
from tests.support import async_wait_for


async def test_dedupes_and_never_runs_a_key_twice_at_once() -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    done: list[str] = []
    release = asyncio.Event()

    async def work(key: str) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        await release.wait()
        running.discard(key)
        done.append(key)

    queue: WorkQueue[str] = WorkQueue(work, workers=4)
    queue.start()
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    await async_wait_for(lambda: running == {"a", "b"}, 5, "both running")
    queue.add("a")  # while a runs: once more afterwards, not concurrently
    queue.add("a")
    release.set()
    await async_wait_for(lambda: sorted(done) == ["a", "a", "b"], 5, "a twice, b once")
    assert not overlaps
    await queue.stop()


async def test_requeue_after_delay_and_errors_retry() -> None:
    seen: list[str] = []

    async def work(key: str) -> float | None:
        seen.append(key)
        if key == "boom" and seen.count("boom") == 1:
            raise RuntimeError("first attempt fails")
        return 0.05 if seen.count(key) < 3 and key == "poll" else None

    queue: WorkQueue[str] = WorkQueue(work, workers=2, error_delay=0.05)
    queue.start()
    queue.add("boom")
    await async_wait_for(lambda: seen.count("boom") == 2, 5, "boom retried after its error")
    queue.add("poll")
    await async_wait_for(lambda: seen.count("poll") == 3, 5, "three polls")
    queue.add("later", delay=0.2)
    assert "later" not in seen
    await async_wait_for(lambda: "later" in seen, 5, "the delayed key")
    await queue.stop()


async def test_urgent_keys_go_before_a_backlog() -> None:
    """News from the cloud is not queued behind 100 keys waiting their turn."""
    seen: list[str] = []
    gate = asyncio.Event()

    async def work(key: str) -> None:
        await gate.wait()
        seen.append(key)

    queue: WorkQueue[str] = WorkQueue(work, workers=1)
    for i in range(100):
        queue.add(f"backlog-{i}")
    queue.add("news", urgent=True)
    queue.add("backlog-5", urgent=True)  # a waiting key made urgent moves up too
    queue.start()
    gate.set()
    await async_wait_for(lambda: len(seen) == 101, 5, "all done")
    assert set(seen[:2]) == {"news", "backlog-5"}
    assert len(seen) == len(set(seen))
    await queue.stop()


def test_the_wait_counts_from_when_a_key_was_due_urgent_or_not() -> None:
    assert waited(100.0, 103.5) == 3.5
    assert waited(110.0, 103.5) == 0.0  # not due yet: no wait
    # An urgent key added at t=100 sorts URGENT_LEAD earlier; it has still waited 3.5 s.
    assert waited(100.0 - URGENT_LEAD, 103.5) == 3.5
