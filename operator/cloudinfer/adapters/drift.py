"""The drift algorithm, once for every adapter: compare what the spec asks for with what the
cloud has, leaf by leaf, only over the fields the spec sets (fields the cloud adds are
never drift)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cloudinfer.adapters.base import Drift


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects to dotted paths; lists and scalars are leaves."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(leaves(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def compare(
    want: Mapping[str, Any], have: Mapping[str, Any], skip: Iterable[str] = ()
) -> list[Drift]:
    """Every leaf of `want` whose value in `have` differs, in path order."""
    wanted, actual = leaves(want), leaves(have)
    skipped = set(skip)
    return [
        Drift(path, actual.get(path), value)
        for path, value in sorted(wanted.items())
        if path not in skipped and actual.get(path) != value
    ]
