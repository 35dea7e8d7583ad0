"""The runtime wakes exactly the resources that take a value from a Secret when that Secret
changes, and forgets them when they go."""

from __future__ import annotations

from typing import Any

from tests.unit.runtime.bare import bare_runtime

A = ("InferenceService", "ns", "a")
B = ("InferenceService", "ns", "b")


class Queue:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, key: Any, delay: float = 0.0, urgent: bool = False, source: str = "") -> None:
        self.added.append(key)

    def forget(self, key: Any) -> None:
        pass


def secret(namespace: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "data": {"k": "dg=="}}


def test_a_secret_wakes_its_users_only_until_they_stop_using_it() -> None:
    runtime = bare_runtime()
    queue = Queue()
    runtime.queue = queue  # type: ignore[assignment]
    runtime._record_secret_uses(A, frozenset({("ns", "keys"), ("ns", "more")}))
    runtime._record_secret_uses(B, frozenset({("ns", "keys")}))
    runtime.secret_event("MODIFIED", secret("ns", "keys"))
    assert sorted(queue.added) == [A, B]
    queue.added.clear()
    runtime.secret_event("ADDED", secret("other", "keys"))  # same name, another namespace
    runtime.secret_event("ADDED", secret("ns", "unrelated"))
    assert queue.added == []
    runtime._record_secret_uses(A, frozenset({("ns", "more")}))  # A's spec dropped "keys"
    runtime.forget(B)
    runtime.secret_event("DELETED", secret("ns", "keys"))
    runtime.secret_event("MODIFIED", secret("ns", "more"))
    assert queue.added == [A]
