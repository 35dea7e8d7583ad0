"""At most `limit` reconciles start calling one cloud account at a time. A key that finds its
account full at its first call is parked, not held by a worker, and woken when a slot frees:
one slow account can never occupy every worker while other accounts' resources wait. A key
already past its first call is let through (parking it half-way would waste what it did), so
the count can briefly exceed `limit`, by at most the workers mid-reconcile on that account.

A woken key may no longer need the account (deleted, blocked, moved to another account):
`settle`, called after every reconcile, hands a wake-up it did not use to the next parked
key, so none is lost; the hourly resync is a safety net, not the mechanism."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class AccountGate(Generic[K]):
    def __init__(self, limit: int, wake: Callable[[K], None]) -> None:
        self.limit = max(1, limit)
        self._wake = wake
        self._inside: dict[Hashable, int] = {}
        self._parked: dict[Hashable, deque[K]] = {}
        self._is_parked: set[K] = set()  # membership in O(1): thousands may wait in a burst
        self._woken: dict[K, Hashable] = {}  # woken from a parked queue, not yet back

    def enter(self, account: Hashable, key: K, admitted_before: bool = False) -> bool:
        """A slot for `key`'s call to `account`, or False (and `key` parked). A key whose
        reconcile already made a call gets one regardless: parking it half-way would waste
        what it did, and only keys that have not started can be waiting on it."""
        self._woken.pop(key, None)
        if self._inside.get(account, 0) >= self.limit and not admitted_before:
            if key not in self._is_parked:
                self._parked.setdefault(account, deque()).append(key)
                self._is_parked.add(key)
            return False
        self._inside[account] = self._inside.get(account, 0) + 1
        return True

    def leave(self, account: Hashable) -> None:
        left = self._inside.get(account, 1) - 1
        if left <= 0:
            self._inside.pop(account, None)
        else:
            self._inside[account] = left
        self._wake_next(account)

    def settle(self, key: K) -> None:
        """`key`'s reconcile is over: a wake-up it was given and did not use goes on."""
        account = self._woken.pop(key, None)
        if account is not None:
            self._wake_next(account)

    def _wake_next(self, account: Hashable) -> None:
        parked = self._parked.get(account)
        if parked:
            key = parked.popleft()
            if not parked:
                del self._parked[account]
            self._is_parked.discard(key)
            self._woken[key] = account
            self._wake(key)
