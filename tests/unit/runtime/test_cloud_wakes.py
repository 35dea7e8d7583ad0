"""News from the cloud that ends a wait (Running, Failed, gone) goes before a backlog;
progress (an item still in transition) takes its turn, so in a burst the progress and the
Running of one resource are reported by one reconcile."""

from __future__ import annotations

from cloudinfer.runtime.controller import Runtime
from cloudinfer.runtime.queue import WorkQueue
from tests.unit.runtime.bare import bare_runtime

BACKLOG = [("InferenceService", "ns", f"new-{i}") for i in range(3)]
A = ("InferenceService", "ns", "a")
B = ("InferenceService", "ns", "b")


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def order(runtime: Runtime) -> list[object]:
    taken = []
    while len(runtime.queue):
        taken.append(await runtime.queue._next())
    return taken


def runtime_with_backlog() -> Runtime:
    runtime = bare_runtime()
    clock = Clock()
    runtime.queue = WorkQueue(runtime.reconcile, clock=clock)
    for key in BACKLOG:  # creates waiting for a worker
        runtime.queue.add(key, source="watch")
    clock.now += 1
    return runtime


async def test_progress_waits_its_turn_and_news_goes_first() -> None:
    runtime = runtime_with_backlog()
    runtime._wake(A, False)  # first seen Creating
    runtime._wake(B, True)  # turned Running
    assert await order(runtime) == [B, *BACKLOG, A]


async def test_news_after_progress_is_one_reconcile_at_the_front() -> None:
    runtime = runtime_with_backlog()
    runtime._wake(A, False)
    runtime._wake(A, True)
    assert await order(runtime) == [A, *BACKLOG]
