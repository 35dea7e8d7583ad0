"""A reverse index: a value (a provider config, a Secret, a cloud name) → the keys that
have it. Empty entries are dropped, so the index holds only what is in use."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V", bound=Hashable)
K = TypeVar("K", bound=Hashable)


class ReverseIndex(Generic[V, K]):
    def __init__(self) -> None:
        self._keys: dict[V, set[K]] = {}

    def add(self, value: V, key: K) -> None:
        self._keys.setdefault(value, set()).add(key)

    def discard(self, value: V, key: K) -> None:
        keys = self._keys.get(value)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys[value]

    def get(self, value: V) -> tuple[K, ...]:
        """The keys with `value`, as a copy: callers may change the index while they go."""
        return tuple(self._keys.get(value, ()))

    def __len__(self) -> int:
        return len(self._keys)
