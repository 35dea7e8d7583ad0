"""An ordered index: values kept sorted by a unique key, so a page is a slice.

Two parallel lists and `bisect`: a lookup is O(log n), a page O(page). An insert or removal
also moves the pointers after it (a memmove, microseconds at 10^5 entries; services are
mostly added in creation order, at the end, where nothing moves). That is far below the cost
of the request around it, so a balanced tree would buy nothing here."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Generic, TypeVar

V = TypeVar("V")
Key = tuple[str, ...]


class SortedIndex(Generic[V]):
    def __init__(self) -> None:
        self._keys: list[Key] = []
        self._values: list[V] = []

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[V]:
        return iter(self._values)

    def add(self, key: Key, value: V) -> None:
        at = bisect.bisect_left(self._keys, key)
        if at < len(self._keys) and self._keys[at] == key:
            raise KeyError(f"duplicate key {key!r}")
        self._keys.insert(at, key)
        self._values.insert(at, value)

    def remove(self, key: Key) -> None:
        at = bisect.bisect_left(self._keys, key)
        if at == len(self._keys) or self._keys[at] != key:
            raise KeyError(key)
        del self._keys[at]
        del self._values[at]

    def page(self, offset: int, limit: int, descending: bool = False) -> list[V]:
        """`limit` values from position `offset`, in ascending or descending key order."""
        size = len(self._values)
        if offset >= size or limit <= 0:
            return []
        if not descending:
            return self._values[offset : offset + limit]
        stop = size - offset  # position just after the first value of the page
        start = max(0, stop - limit)
        return self._values[start:stop][::-1]
