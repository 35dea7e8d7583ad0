"""A log of the cloud API calls the emulator answered: what tests and benchmarks count.

Bounded: the oldest calls fall off once `limit` is reached (a deque, so that is O(1))."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Call:
    time: float
    cloud: str
    operation: str
    status: int
    code: str = ""
    target: str = ""
    account: str = ""  # the account whose key signed the call; "" if the signature failed


@dataclass
class CallLog:
    limit: int = 100_000
    calls: deque[Call] = field(init=False)
    # Written on the event loop, read by tests from other threads.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.calls = deque(maxlen=self.limit)

    def record(
        self,
        cloud: str,
        operation: str,
        status: int,
        code: str = "",
        target: str = "",
        account: str = "",
    ) -> None:
        call = Call(time.time(), cloud, operation, status, code, target, account)
        with self._lock:
            self.calls.append(call)

    def query(
        self,
        operation: str | None = None,
        since: float = 0.0,
        account: str | None = None,
        cloud: str | None = None,
    ) -> list[dict[str, Any]]:
        with self._lock:
            snapshot = list(self.calls)
        return [
            asdict(c)
            for c in snapshot
            if c.time >= since
            and operation in (None, c.operation)
            and account in (None, c.account)
            and cloud in (None, c.cloud)
        ]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
