"""Admission: a call refused by the caller's gate is not sent and reserves nothing."""

from __future__ import annotations

import pytest

from cloudinfer.clouds.ratelimit import Parked, RateLimiter, admission


async def test_a_refused_admission_parks_before_taking_a_slot() -> None:
    now = [0.0]
    limiter = RateLimiter(1, 1, clock=lambda: now[0])
    asked: list[bool] = []

    def refuse() -> bool:
        asked.append(False)
        return False

    with admission(refuse), pytest.raises(Parked):
        await limiter.acquire()
    assert asked == [False] and limiter.delay() == 0  # no slot was reserved
    with admission(lambda: True):
        await limiter.acquire()
    assert limiter.delay() == 1.0
