"""Test helpers: waiting on conditions (never sleeping as synchronisation)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None],
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.2,
) -> T:
    """Poll `probe` until it returns a truthy value; fail naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; last value: {last!r}"
            )
        time.sleep(interval)


async def async_wait_for(
    probe: Callable[[], T | None],
    within: float = 30.0,
    what: str = "condition",
    interval: float = 0.01,
) -> T:
    """`wait_for` for async tests: yields to the event loop between probes."""
    import asyncio

    deadline = time.monotonic() + within
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {within}s waiting for {what}; last value: {last!r}"
            )
        await asyncio.sleep(interval)
