"""Events leave the reconcile path: handing one over never waits for the API server, and
past the capacity they are dropped and counted, never queued without bound."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from cloudinfer.runtime.events import EventSink


def dropped() -> float:
    return REGISTRY.get_sample_value("cloudinfer_events_dropped_total") or 0.0


async def test_emit_returns_at_once_and_posts_later() -> None:
    posted: list[str] = []
    entered = asyncio.Event()
    release = asyncio.Event()

    async def post(obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        entered.set()
        await release.wait()  # the API server is stuck
        posted.append(reason)

    sink = EventSink(post, posters=1, capacity=3)
    sink.start()
    before = dropped()
    sink.emit({}, "Normal", "a", "m")
    await asyncio.wait_for(entered.wait(), 5)  # the poster holds "a" and is stuck
    for reason in ("b", "c", "d", "e"):
        sink.emit({}, "Normal", reason, "m")  # none of these blocks
    assert posted == []
    release.set()
    await asyncio.wait_for(sink.drain(), 5)
    # One in the poster's hands, three waiting, one too many.
    assert posted == ["a", "b", "c", "d"] and dropped() - before == 1
    await sink.stop()


async def test_events_left_at_shutdown_are_counted() -> None:
    async def post(obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        await asyncio.Event().wait()  # never answers

    sink = EventSink(post, posters=1, capacity=5)
    sink.start()
    before = dropped()
    for reason in ("a", "b", "c"):
        sink.emit({}, "Normal", reason, "m")
    await sink.stop(grace=0.05)
    assert dropped() - before >= 2  # the two still queued (the third was in the poster's hands)


async def test_a_failing_post_does_not_stop_the_poster() -> None:
    posted: list[str] = []

    async def post(obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        if reason == "bad":
            raise RuntimeError("boom")
        posted.append(reason)

    sink = EventSink(post, posters=1)
    sink.start()
    sink.emit({}, "Normal", "bad", "m")
    sink.emit({}, "Normal", "good", "m")
    await asyncio.wait_for(sink.drain(), 5)
    assert posted == ["good"]
    await sink.stop()
