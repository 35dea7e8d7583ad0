"""Keeps the in-use finalizer of provider configs and their credentials Secrets in step with
their users (the rule and the decision: runtime/usage.py).

Told of every watch event of a managed object, provider config and credentials Secret, it
looks at the few targets the event concerns and writes only when the decision, made from the
indexes, says so: when a config's user count crosses 0 <-> 1 (or the Secret's count of in-use
configs does), or the config or Secret itself changed (created, finalizer removed by hand,
Secret reference changed). A user count that goes 5 -> 6 costs no API call, so 10,000
resources on one config cost one patch, not 10,000. At most one write per target runs at a
time; a write that fails is retried with backoff for as long as it is still wanted. With
leader election only the leader writes; a standby that takes over writes what it let pass."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, MANAGED_KINDS, PROVIDER_CONFIG, KindInfo
from cloudinfer.kube import FinalizerChange, FinalizerState
from cloudinfer.runtime.usage import (
    IN_USE_FINALIZER,
    SECRET,
    Action,
    Meta,
    Target,
    changed,
    config_of,
    decide,
)

log = logging.getLogger(__name__)
KINDS: Mapping[str, KindInfo] = {
    PROVIDER_CONFIG.kind: PROVIDER_CONFIG,
    CLUSTER_PROVIDER_CONFIG.kind: CLUSTER_PROVIDER_CONFIG,
}


class FinalizerWriter(Protocol):
    async def change_finalizers(
        self,
        info: KindInfo | None,
        namespace: str,
        name: str,
        change: FinalizerChange,
        known: FinalizerState | None = None,
        attempts: int = 5,
    ) -> FinalizerState | None: ...

    async def exists_any(
        self, info: KindInfo, namespace: str | None, field_selector: str
    ) -> bool: ...


class InUseFinalizers:
    def __init__(
        self,
        writer: FinalizerWriter,
        users: Callable[[Target], int],
        meta: Callable[[Target], Meta | None],
        configs_of_secret: Callable[[Target], Iterable[Target]],
        cluster_wide: bool = True,
        acting: Callable[[], bool] = lambda: True,
        retry: float = 1.0,
        max_retry: float = 60.0,
    ) -> None:
        """`users`: how many managed objects use a config (an index); `meta`: a config's or
        Secret's metadata as its watch saw it (an index; None: it does not exist);
        `configs_of_secret`: the configs that reference a Secret (an index). With
        `cluster_wide` False (the operator watches some namespaces only) ClusterProviderConfigs
        and their Secrets are left alone: users in other namespaces cannot be counted.
        `acting`: whether this replica acts (leads, with leader election); a standby only
        notes what it would write, and writes it if and when it takes over."""
        self._writer = writer
        self._users, self._meta, self._configs_of_secret = users, meta, configs_of_secret
        self._cluster_wide, self._acting = cluster_wide, acting
        self._deferred: set[Target] = set()  # wanted a write while standing by
        self._waiter: asyncio.Task[None] | None = None
        self._retry, self._max_retry = retry, max_retry
        self._tasks: dict[Target, asyncio.Task[None]] = {}
        self._again: set[Target] = set()
        # A config's credentials Secret as last seen, so a reference that moves to another
        # Secret also looks at the one it left. Only says where to look, never decides.
        self._secret_of: dict[Target, Target] = {}
        # Our last write per target: (the resourceVersion it replaced, what it wrote). Until
        # the watch shows a newer version, the index still holds the replaced one, and the
        # write stands in for it (no second patch from the stale view during a burst).
        self._written: dict[Target, tuple[str, Meta]] = {}

    # -- what the watches say ----------------------------------------------------------------

    def user_event(self, body: Mapping[str, Any]) -> None:
        """A managed object was created, changed or deleted: its config's user count (already
        in the index) may have crossed 0 <-> 1, and with it the count of its Secret."""
        ref = config_of(body)
        if ref is not None:
            self.check(ref)
            meta = self._meta(ref)
            if meta is not None and meta.secret is not None:
                self.check(meta.secret)

    def config_event(self, ref: Target, deleted: bool, secret: Target | None) -> None:
        """A provider config changed or is gone; `secret` is the one its spec references."""
        before = self._secret_of.pop(ref, None)
        if not deleted:
            if secret is not None:
                self._secret_of[ref] = secret
            self.check(ref)
        for target in {t for t in (before, secret) if t is not None}:
            self.check(target)

    def secret_event(self, namespace: str, name: str) -> None:
        self.check((SECRET, namespace, name))

    # -- deciding ----------------------------------------------------------------------------

    def users(self, target: Target) -> int:
        """A config's users: managed objects that use it. A Secret's: configs in use that
        reference it."""
        if target[0] == SECRET:
            return sum(1 for ref in self._configs_of_secret(target) if self._users(ref) > 0)
        return self._users(target)

    def check(self, target: Target) -> None:
        """Start a write for `target` if the decision wants one (no API call otherwise)."""
        if not self._manages(target):
            return
        meta = self._current(target)
        if meta is None:
            return
        if decide(self.users(target), meta.finalizers, meta.deleting) is Action.NOTHING:
            return
        if not self._acting():
            # Two replicas deciding from watches that lag differently could undo each other's
            # writes: only the leader writes. A standby keeps what it would have written.
            self._deferred.add(target)
            if self._waiter is None:
                self._waiter = asyncio.create_task(self._take_over())
            return
        if target in self._tasks:
            self._again.add(target)  # the running write looks again when it is done
        else:
            self._tasks[target] = asyncio.create_task(self._settle(target))

    def _manages(self, target: Target) -> bool:
        if self._cluster_wide:
            return True
        if target[0] == SECRET:
            refs = self._configs_of_secret(target)
            return not any(ref[0] == CLUSTER_PROVIDER_CONFIG.kind for ref in refs)
        return target[0] != CLUSTER_PROVIDER_CONFIG.kind

    def _current(self, target: Target) -> Meta | None:
        meta = self._meta(target)
        written = self._written.get(target)
        if written is None:
            return meta
        if meta is not None and meta.resource_version == written[0]:
            return written[1]  # the watch has not shown our write yet
        del self._written[target]  # it has (or something newer)
        return meta

    async def _take_over(self) -> None:
        """Wait (on an in-memory flag, no API call) until this replica leads, then decide
        again for everything it let pass: what changed since was noted too."""
        # The flag is the elector's, set in its own thread: there is no event to await.
        while not self._acting():  # noqa: ASYNC110
            await asyncio.sleep(1.0)
        deferred, self._deferred = self._deferred, set()
        self._waiter = None
        for target in deferred:
            self.check(target)

    # -- writing -----------------------------------------------------------------------------

    async def _settle(self, target: Target) -> None:
        delay = self._retry
        try:
            while True:
                self._again.discard(target)
                meta = self._current(target)
                if meta is None:
                    return  # gone
                try:
                    await self._write(target, meta)
                except Exception as exc:  # an API error or outage: retried while wanted
                    log.warning(
                        "in-use finalizer of %s not updated (retrying in %.0fs): %s",
                        _describe(target),
                        delay,
                        exc,
                    )
                    self._again.add(target)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._max_retry)
                    continue
                if target not in self._again:
                    return
        finally:
            del self._tasks[target]

    async def _still_used(self, target: Target) -> bool:
        """Asked of the API server before a release: the watch-fed counts may not have
        seen every user yet (just after a start)."""
        configs = list(self._configs_of_secret(target)) if target[0] == SECRET else [target]
        for kind, namespace, name in configs:
            selector = f"spec.providerConfigRef.name={name},spec.providerConfigRef.kind={kind}"
            where = namespace if kind == PROVIDER_CONFIG.kind else None
            for managed in MANAGED_KINDS:
                if await self._writer.exists_any(managed.info, where, selector):
                    return True
        return False

    async def _write(self, target: Target, meta: Meta) -> None:
        kind, namespace, name = target
        users = self.users(target)
        if decide(users, meta.finalizers, meta.deleting) is Action.REMOVE and (
            await self._still_used(target)
        ):
            # Their events will come and count; a release waits for the last one's.
            log.info("in-use finalizer of %s kept: users not seen yet", _describe(target))
            return

        def change(finalizers: tuple[str, ...], deleting: bool) -> list[str] | None:
            # Counted at the moment of writing (also after a 409 and a fresh read).
            return changed(self.users(target), finalizers, deleting)

        known = FinalizerState(meta.finalizers, meta.deleting, meta.resource_version)
        info = None if kind == SECRET else KINDS[kind]
        written = await self._writer.change_finalizers(info, namespace, name, change, known)
        if written is not None:
            held = IN_USE_FINALIZER in written.finalizers
            log.info(
                "in-use finalizer of %s %s", _describe(target), "added" if held else "released"
            )
            self._written[target] = (
                meta.resource_version,
                Meta(written.finalizers, written.deleting, written.resource_version, meta.secret),
            )

    @property
    def busy(self) -> bool:
        """Whether a write is running or waiting to retry."""
        return bool(self._tasks)

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *([self._waiter] if self._waiter else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _describe(target: Target) -> str:
    kind, namespace, name = target
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
