"""kopf wiring for every managed kind in the registry: watch it and hand each event to the
runtime, which caches the object and enqueues it when something that matters changed."""

from __future__ import annotations

from typing import Any

import kopf

from cloudinfer.api.kinds import GROUP, MANAGED_KINDS, VERSION, ManagedKind


def _register(kind: ManagedKind) -> None:
    @kopf.on.event(GROUP, VERSION, kind.info.plural, id=f"{kind.info.singular}-event")
    async def on_event(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        memo.runtime.object_event(kind, type, body)
        # Its config's user count may have crossed 0 <-> 1: handlers/usage.py.
        meta = body.get("metadata") or {}
        key = (kind.info.kind, meta.get("namespace") or "", meta.get("name") or "")
        memo.user_counts.observe(key, type == "DELETED", body)
        memo.in_use.user_event(body)


for _kind in MANAGED_KINDS:
    _register(_kind)
