"""A log of the cloud API calls the emulator answered: what tests and benchmarks count."""

from __future__ import annotations

import threading
import time
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


@dataclass
class CallLog:
    limit: int = 100_000
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, cloud: str, operation: str, status: int, code: str = "", target: str = ""
    ) -> None:
        with self._lock:
            self.calls.append(Call(time.time(), cloud, operation, status, code, target))
            if len(self.calls) > self.limit:
                del self.calls[: len(self.calls) - self.limit]

    def query(self, operation: str | None = None, since: float = 0.0) -> list[dict[str, Any]]:
        with self._lock:
            return [
                asdict(c)
                for c in self.calls
                if c.time >= since and operation in (None, c.operation)
            ]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
