"""When each emulated service next changes status by itself, soonest first: a store moves on
only the services that are due, so no request or mutation costs O(all services)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar


class Timed(Protocol):
    def next_change(self) -> float | None:
        """When its status next changes by itself (None: it is settled)."""
        ...


S = TypeVar("S", bound=Timed)


class Timeline(Generic[S]):
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, S]] = []  # (when it changes, tie-break, service)
        self._seq = itertools.count()

    def schedule(self, svc: S) -> None:
        due = svc.next_change()
        if due is not None:
            heapq.heappush(self._heap, (due, next(self._seq), svc))

    def due(self, now: float, current: Callable[[S], bool]) -> Iterator[S]:
        """The services due by `now`, soonest first, skipping entries that were superseded
        (the service is no longer `current`, or a later operation began a new phase). A
        service scheduled again while this runs comes out again if it is due by `now`."""
        while self._heap and self._heap[0][0] <= now:
            when, _, svc = heapq.heappop(self._heap)
            if current(svc) and svc.next_change() == when:
                yield svc

    def clear(self) -> None:
        self._heap.clear()
