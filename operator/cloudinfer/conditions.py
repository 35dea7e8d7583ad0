"""metav1.Condition bookkeeping: set a condition, keeping lastTransitionTime stable unless
the status actually changes (so status patches do not churn)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

READY = "Ready"
SYNCED = "Synced"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make(
    type_: str, status: bool | str, reason: str, message: str, generation: int | None
) -> dict[str, Any]:
    if isinstance(status, bool):
        status = "True" if status else "False"
    cond: dict[str, Any] = {"type": type_, "status": status, "reason": reason, "message": message}
    if generation is not None:
        cond["observedGeneration"] = generation
    return cond


def merge(
    existing: Iterable[Mapping[str, Any]] | None,
    updates: Iterable[Mapping[str, Any]],
    now: str | None = None,
) -> list[dict[str, Any]]:
    """Apply `updates` (conditions without lastTransitionTime) onto `existing`.

    A condition whose status is unchanged keeps its lastTransitionTime; conditions not
    mentioned in `updates` are kept as they are. Order: existing order, new types appended."""
    now = now or now_rfc3339()
    result = [dict(c) for c in existing or ()]
    index = {c.get("type"): i for i, c in enumerate(result)}
    for update in updates:
        new = dict(update)
        old = result[index[new["type"]]] if new["type"] in index else None
        if old is not None and old.get("status") == new["status"] and old.get("lastTransitionTime"):
            new["lastTransitionTime"] = old["lastTransitionTime"]
        else:
            new["lastTransitionTime"] = now
        if old is None:
            index[new["type"]] = len(result)
            result.append(new)
        else:
            result[index[new["type"]]] = new
    return result


def find(conditions: Iterable[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    for cond in conditions or ():
        if cond.get("type") == type_:
            return cond
    return None


def same(a: Iterable[Mapping[str, Any]] | None, b: Iterable[Mapping[str, Any]] | None) -> bool:
    """Equal ignoring order: the test for "is a status patch needed"."""

    def key(c: Mapping[str, Any]) -> str:
        return str(c.get("type"))

    return sorted(map(dict, a or ()), key=key) == sorted(map(dict, b or ()), key=key)
