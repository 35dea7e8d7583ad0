"""Helpers for the emulator's unit tests: a clock the test moves, a store on it."""

from __future__ import annotations

from typing import Any

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.eas.store import EasStore

ACCOUNT = "acct"
TIMING = Timing(deploy_seconds=4, update_seconds=2, stop_seconds=2, delete_seconds=2)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def store(clock: Clock | None = None) -> tuple[EasStore, Clock]:
    clock = clock or Clock()
    return EasStore(Timing(**TIMING.__dict__), clock=clock), clock


def config(name: str = "svc", instances: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "processor": "p",
        "metadata": {"instance": instances, "cpu": 1, "memory": 1000},
        **extra,
    }


def fill(s: EasStore, count: int, account: str = ACCOUNT, prefix: str = "s") -> list[str]:
    """`count` services created one per tick of the store's clock; their names, oldest first."""
    clock = s.clock
    assert isinstance(clock, Clock)
    names = []
    for i in range(count):
        name = f"{prefix}{i:05d}"
        s.create(account, "r", config(name, instances=1), {}, "")
        clock.now += 0.25  # four per second: the order within a second falls back to names
        names.append(name)
    return names
