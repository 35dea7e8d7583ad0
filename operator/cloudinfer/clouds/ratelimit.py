"""Client-side rate limiting per cloud account, and the server's retry-after honoured by
every call to that account.

A GCRA token bucket (the virtual-scheduling form of a token bucket): each call reserves the
next free slot and sleeps until it, so waiters are served in order without a lock. A caller
that must not hold its task for long (a reconcile worker) sets `patience`: a slot further
away than that is not taken, and `Throttled(local=True)` tells the caller how long to come
back after, so one throttled account never holds the workers other accounts need.

A reconcile may also need `admission` for each call to an account (the runtime's per-account
gate: how many of its calls may be in flight at once). Refused at its first call, the call
raises `Parked` before anything is sent and the reconcile ends there, to be run again when the
account has room. Work that needs no cloud call (writing a status the observer brought) is
never held behind a busy account, and a slot is held for a call, not for the Kubernetes
writes around it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Protocol

from cloudinfer.clouds.errors import Throttled

_patience: ContextVar[float | None] = ContextVar("cloudinfer_limiter_patience", default=None)


class Parked(Exception):
    """The call was not sent: its account has no room for this task's work now."""


class Admission(Protocol):
    def enter(self) -> bool:
        """A slot for one call; False: none now (the caller is parked)."""
        ...

    def leave(self) -> None: ...


_admission: ContextVar[Admission | None] = ContextVar("cloudinfer_admission", default=None)


@contextlib.contextmanager
def admission(gate: Admission) -> Iterator[None]:
    """Within this block, every call holds a slot of `gate` while it is in flight."""
    token = _admission.set(gate)
    try:
        yield
    finally:
        _admission.reset(token)


@contextlib.contextmanager
def admitted() -> Iterator[None]:
    """Around one call: a slot of the current admission, if any; `Parked` when refused."""
    gate = _admission.get()
    if gate is None:
        yield
        return
    if not gate.enter():
        raise Parked()
    try:
        yield
    finally:
        gate.leave()


@contextlib.contextmanager
def patience(seconds: float | None) -> Iterator[None]:
    """Within this block (this task and what it awaits), no call waits longer than `seconds`
    for the limiter; None waits as long as it takes (background listings)."""
    token = _patience.set(seconds)
    try:
        yield
    finally:
        _patience.reset(token)


class RateLimiter:
    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be > 0 and burst >= 1")
        self.qps, self.burst = qps, burst
        self._clock = clock
        self._interval = 1.0 / qps
        self._tolerance = (burst - 1) * self._interval
        self._tat = clock()  # theoretical arrival time of the next request
        self._paused_until = 0.0

    def pause_until(self, when: float) -> None:
        """No request before `when` (monotonic clock): the server asked us to wait."""
        self._paused_until = max(self._paused_until, when)

    def pause_for(self, seconds: float) -> None:
        self.pause_until(self._clock() + seconds)

    def _slot(self, now: float) -> float:
        """When the next request may leave."""
        return max(max(self._tat, now) - self._tolerance, self._paused_until, now)

    def delay(self) -> float:
        """How long the next acquire would wait now."""
        now = self._clock()
        return self._slot(now) - now

    async def acquire(self) -> None:
        now = self._clock()
        slot = self._slot(now)
        wait = slot - now
        limit = _patience.get()
        if limit is not None and wait > limit:
            raise Throttled(
                f"client-side rate limit: next slot in {wait:.1f}s", retry_after=wait, local=True
            )
        # Reserve before sleeping: later callers queue behind this one.
        self._tat = max(self._tat, now, slot - self._tolerance) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)
