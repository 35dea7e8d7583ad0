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
    release = asyncio.Event()

    async def post(obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        await release.wait()
        posted.append(reason)

    sink = EventSink(post, posters=1, capacity=3)
    sink.start()
    before = dropped()
    for reason in ("a", "b", "c", "d", "e"):
        sink.emit({}, "Normal", reason, "m")  # the API server is stuck: none blocks
    assert posted == []
    release.set()
    await asyncio.wait_for(sink.drain(), 5)
    # Nothing yielded to the poster in between: three waited, two were too many.
    assert posted == ["a", "b", "c"] and dropped() - before == 2
    await sink.stop()


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
