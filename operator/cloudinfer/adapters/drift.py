"""The drift algorithm, once for every adapter: compare what the spec asks for with what the
cloud has, leaf by leaf, only over the fields the spec sets (fields the cloud adds are
never drift). And the records that spare a comparison: a digest of what the spec asked,
kept in status with the cloud's change stamp when it was last seen in line."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cloudinfer.adapters.base import Drift, ManagedResource


def digest(wanted: Any) -> str:
    """16 hex digits for a JSON-able value: status records it, never the values (env
    values may be secrets)."""
    raw = json.dumps(wanted, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def seen_in_line(resource: ManagedResource, spec_digest: str, stamp: object | None) -> str:
    """`status.appliedConfig` of server-listed clouds: the spec's digest (nothing under
    Observe) @ the cloud resource's change stamp when it was seen in line (empty right after
    our own update: its stamp is not known yet). A listing whose stamp moved on, or a spec
    whose digest did, asks for a new look."""
    spec_part = spec_digest if resource.manage else "observed"
    return f"{spec_part}@{'' if stamp is None else stamp}"


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
