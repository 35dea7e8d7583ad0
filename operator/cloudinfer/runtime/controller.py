"""One controller for every managed kind and cloud.

Watch events feed the object cache and, when someone changed something that matters, the
work queue. A worker takes a key, reads the object from the cache, resolves its provider
config and credentials (from watch-fed indexes) to an account of the provider its spec
selects, and runs the generic reconciler with that kind's adapter. No GET on the way.

When a reconcile has nothing left to wait for, the key is looked at again only when told
(the account's observer saw its cloud resource change; its provider config or Secret
changed) and after a long jittered resync."""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
from collections.abc import Hashable, Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException
from prometheus_client import Counter
from pydantic import ValidationError

from cloudinfer import conditions
from cloudinfer.adapters.base import EXTERNAL_NAME, CreatePending, Holder, ManagedResource
from cloudinfer.api.common import ManagedSpec
from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, GROUP, ManagedKind, managed_kind
from cloudinfer.clouds.ratelimit import Parked, admission, patience
from cloudinfer.kube import Kube
from cloudinfer.observer.batch import BatchObserver, Intervals
from cloudinfer.providers.accounts import AccountPool
from cloudinfer.reconcile.managed import (
    ACCOUNT,
    CREATE_PENDING,
    FINALIZER,
    Reconciler,
    Verdict,
    release,
    release_reason,
    report,
)
from cloudinfer.runtime.cache import Key, ObjectCache, secret_facts
from cloudinfer.runtime.events import EventSink
from cloudinfer.runtime.gate import AccountGate
from cloudinfer.runtime.queue import WorkQueue
from cloudinfer.runtime.resolve import (
    Blocked,
    ConfigLookup,
    ConfigRef,
    LabelsLookup,
    SecretLookup,
    config_ref,
    place_of,
    resolve,
)
from cloudinfer.runtime.reverse import ReverseIndex
from cloudinfer.runtime.secretrefs import SecretName, referenced_secrets, secret_values
from cloudinfer.runtime.writer import KubeWriter

log = logging.getLogger(__name__)

WATCH_EVENTS = Counter(
    "cloudinfer_watch_events_total",
    "Watch events of managed objects, by what they caused: a reconcile (someone changed "
    "what matters), ignored (the echo of the operator's own writes, or stale), deleted.",
    ["kind", "outcome"],
)

# A worker waits at most this long for its account's rate limiter; beyond it (a server's
# long retry-after, a tiny qps) the key is requeued for when its slot comes. Waiting in the
# limiter's queue is cheaper than requeueing: at most half the workers can be on one account
# (the gate), so other accounts are served meanwhile.
LIMITER_PATIENCE = 15.0
# Annotations the operator writes itself: their echo is not someone else's change.
OWN_ANNOTATIONS = frozenset({EXTERNAL_NAME, CREATE_PENDING, ACCOUNT})


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"spec.{where}: {err['msg']}")
    return "; ".join(parts)


class Runtime:
    def __init__(
        self,
        kube: Kube,
        configs: ConfigLookup,
        secrets: SecretLookup,
        operator_namespace: str,
        workers: int = 16,
        resync: float = 3600.0,
        rng: random.Random | None = None,
        namespace_labels: LabelsLookup = lambda _: {},
    ) -> None:
        self.kube = kube
        self._configs, self._secrets = configs, secrets
        self._namespace_labels = namespace_labels
        self.operator_namespace = operator_namespace
        self.resync = resync
        self._rng = rng or random.Random()
        self.queue: WorkQueue[Key] = WorkQueue(self.reconcile, workers=workers)
        self.events = EventSink(kube.post_event)
        self.objects = ObjectCache(OWN_ANNOTATIONS, name_annotation=EXTERNAL_NAME)
        self.accounts = AccountPool(self._wake)
        self.gate: AccountGate[Key] = AccountGate(
            max(1, workers // 2), functools.partial(self.queue.add, source="slot")
        )
        self.failures: dict[Key, int] = {}
        self.unsent: dict[Key, str] = {}  # see Reconciler: creates this process never sent
        self._watching: dict[Key, tuple[BatchObserver[Any, Hashable], str]] = {}
        # Who uses which provider config, learnt while reconciling, so a config (or its
        # Secret) that changes wakes exactly its users.
        self._users: ReverseIndex[ConfigRef, Key] = ReverseIndex()
        self._uses: dict[Key, ConfigRef] = {}
        self._written_secrets: dict[tuple[str, str], str] = {}  # (ns, name) → digest
        # Who takes values from which Secret (env secretKeyRef), so a Secret that appears or
        # changes wakes exactly the resources that reference it.
        self._secret_users: ReverseIndex[SecretName, Key] = ReverseIndex()
        self._secret_uses: dict[Key, frozenset[SecretName]] = {}
        # (Kind, cloud name) → the resources that want that name and do not hold it yet
        # (client-named): woken when a resource recording it is deleted, so one refused as
        # a NameConflict goes on at once, not at its next edit or resync.
        self._wanting: ReverseIndex[tuple[str, str], Key] = ReverseIndex()
        self._wants: dict[Key, str] = {}

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        self.events.start()
        self.queue.start()

    async def stop(self) -> None:
        await self.queue.stop()
        await self.events.stop()
        await self.accounts.close()

    def _wake(self, key: Hashable, settled: bool = True) -> None:
        """The observer saw this resource's cloud item change. News that ends a wait (Running,
        Failed, gone) goes before any backlog; progress (first seen Creating, still
        Updating) takes its turn behind a backlog: in a burst it is often still queued
        when the same resource's Running comes, and one reconcile and one status write then
        report both."""
        source = "cloud" if settled else "progress"
        self.queue.add(key, urgent=settled, source=source)  # type: ignore[arg-type]

    # -- what the watches say ----------------------------------------------------------------

    def object_event(self, kind: ManagedKind, event: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        key: Key = (kind.info.kind, meta.get("namespace") or "", meta.get("name") or "")
        if event == "DELETED":
            self.forget(key)
            WATCH_EVENTS.labels(kind.info.kind, "deleted").inc()
            return
        if self.objects.put(key, body):
            self.queue.add(key, source="watch")
            WATCH_EVENTS.labels(kind.info.kind, "reconcile").inc()
        else:
            WATCH_EVENTS.labels(kind.info.kind, "ignored").inc()

    def secret_event(self, event: str | None, body: Mapping[str, Any]) -> None:
        """A connection Secret the operator wrote was deleted or changed by someone else:
        its owner puts it back."""
        meta = body.get("metadata") or {}
        where = (meta.get("namespace") or "", meta.get("name") or "")
        for key in self._secret_users.get(where):
            self.queue.add(key, source="secret")  # it takes a value from this Secret
        facts = secret_facts(body)
        if not facts.owner_refs:
            return
        if event == "DELETED":
            self._written_secrets.pop(where, None)
        elif self._written_secrets.get(where) == facts.digest:
            return  # the echo of our own write
        for api_version, kind_name, name in facts.owner_refs:
            if api_version.split("/")[0] != GROUP:
                continue
            try:
                kind = managed_kind(kind_name)
            except KeyError:
                continue
            self.queue.add((kind.info.kind, where[0], name), source="secret")

    def namespace_event(self, name: str) -> None:
        """A namespace's labels changed: whether a cluster provider config's
        namespaceSelector allows its resources may have too."""
        for key, ref in list(self._uses.items()):
            if key[1] == name and ref[0] == CLUSTER_PROVIDER_CONFIG.kind:
                self.queue.add(key, source="namespace")

    def requeue_users(self, kind: str, namespace: str | None, name: str) -> None:
        """A provider config (or its credentials Secret) changed or went: wake its users."""
        for key in self._users.get((kind, namespace or "", name)):
            self.queue.add(key, source="config")

    def _held_name(self, key: Key) -> str:
        body = self.objects.get(key) or {}
        return str(((body.get("metadata") or {}).get("annotations") or {}).get(EXTERNAL_NAME, ""))

    def _want(self, key: Key, name: str) -> None:
        """`key` wants cloud name `name` and has not recorded it ("": nothing to wait for)."""
        old = self._wants.pop(key, None)
        if old is not None:
            self._wanting.discard((key[0], old), key)
        if name:
            self._wants[key] = name
            self._wanting.add((key[0], name), key)

    def forget(self, key: Key) -> None:
        """`key` is gone (or going, its finalizer removed): drop what is kept for it, and
        wake the resources that wait for the cloud name it held."""
        held = self._held_name(key)
        self._want(key, "")
        self.queue.forget(key)
        self.objects.drop(key)
        self.failures.pop(key, None)
        self.unsent.pop(key, None)
        watching = self._watching.pop(key, None)
        if watching:
            watching[0].unwatch(watching[1], key)
        used = self._uses.pop(key, None)
        if used is not None:
            self._users.discard(used, key)
        self._record_secret_uses(key, frozenset())
        self.accounts.release(key)
        for waiting in self._wanting.get((key[0], held)) if held else ():
            self.queue.add(waiting)

    def _record_use(self, key: Key, ref: ConfigRef) -> None:
        old = self._uses.get(key)
        if old == ref:
            return
        if old is not None:
            self._users.discard(old, key)
        self._users.add(ref, key)
        self._uses[key] = ref

    def _record_secret_uses(self, key: Key, secrets: frozenset[SecretName]) -> None:
        old = self._secret_uses.get(key, frozenset())
        for where in old - secrets:
            self._secret_users.discard(where, key)
        for where in secrets - old:
            self._secret_users.add(where, key)
        if secrets:
            self._secret_uses[key] = secrets
        else:
            self._secret_uses.pop(key, None)

    def _watch(
        self,
        key: Key,
        observer: BatchObserver[Any, Hashable] | None,
        item: str,
        intervals: Intervals,
    ) -> None:
        old = self._watching.get(key)
        if old is not None and (old[0] is not observer or old[1] != item):
            old[0].unwatch(old[1], key)
        if observer is not None:  # "" (no id yet): told of the first listing only
            observer.watch(item, key, intervals)
            self._watching[key] = (observer, item)
        else:
            self._watching.pop(key, None)

    def _wrote_secret(self, namespace: str, name: str, digest: str) -> None:
        self._written_secrets[(namespace, name)] = digest

    # -- one reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: Key) -> float | None:
        before = self.objects.get(key)
        try:
            after = await self._reconcile(key)
        except ApiException as exc:
            if exc.status == 409:  # our write raced another writer: look again at once
                return 0.2
            raise
        finally:
            self.gate.settle(key)
        now = self.objects.get(key)
        if now is None:
            return None
        if before is not None and self.objects.relevant(before, now, key):
            # Someone changed the object while we worked; the answer to our write carried
            # it into the cache, so its own watch event will look stale: look again now.
            return 0.0
        if after is None:
            return self.resync * self._rng.uniform(0.8, 1.2)
        return after

    async def _reconcile(self, key: Key) -> float | None:
        kind_name, namespace, name = key
        kind = managed_kind(kind_name)
        body = self.objects.get(key)
        if body is None:
            self.forget(key)
            return None
        meta = body["metadata"]
        annotations: dict[str, str] = dict(meta.get("annotations") or {})
        writer = KubeWriter(
            self.kube,
            kind.info,
            key,
            body,
            self.objects,
            self._secrets,
            self._wrote_secret,
            self.events,
        )
        base = ManagedResource(
            kind=kind_name,
            namespace=namespace,
            name=name,
            uid=meta["uid"],
            generation=int(meta.get("generation", 0)),
            spec=None,
            external_name=annotations.get(EXTERNAL_NAME, ""),
            status=dict(body.get("status") or {}),
            annotations=annotations,
            finalizers=tuple(meta.get("finalizers") or ()),
            deleting=bool(meta.get("deletionTimestamp")),
        )
        if base.deleting and FINALIZER not in base.finalizers:
            self.forget(key)  # nothing left for us; its DELETED event may never come
            return None
        try:
            spec = kind.info.spec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            await self._report_problem(kind, writer, base, "InvalidSpec", validation_message(exc))
            return None
        ref = config_ref(spec, namespace)  # type: ignore[arg-type]
        self._record_use(key, ref)
        resolved = resolve(
            kind,
            spec,  # type: ignore[arg-type]
            namespace,
            self._configs,
            self._secrets,
            self.operator_namespace,
            self._namespace_labels,
        )
        if isinstance(resolved, Blocked):
            # No account until it is fixed: the one used before may close (its credentials
            # may be the very thing that was withdrawn).
            self._watch(key, None, "", Intervals())
            self.accounts.release(key)
            return await self._blocked(kind, writer, _with_spec(base, spec), resolved)
        # Values the spec takes from Secrets, from the Secret index; a missing one stops the
        # resource before any cloud call (not its deletion: nothing is sent then).
        managed: ManagedSpec = spec  # type: ignore[assignment]
        self._record_secret_uses(key, referenced_secrets(managed, namespace))
        values = secret_values(managed, namespace, self._secrets, lenient=base.deleting)
        if isinstance(values, Blocked):
            resource = _with_spec(base, spec)
            await self._report_problem(kind, writer, resource, values.reason, values.message)
            return None
        base = dataclasses.replace(base, secret_values=values)
        account = self.accounts.use(key, resolved.provider, resolved.config, resolved.credentials)
        adapter = account.adapters[kind_name]
        observer = account.observers[kind_name]
        server_named = adapter.identity == "server-named"
        resource = _with_spec(
            base,
            spec,
            external_name=(
                adapter.external_name(spec, name)
                if server_named
                else annotations.get(EXTERNAL_NAME) or adapter.external_name(spec, name)
            ),
            external_id=(
                managed.existing_id() or annotations.get(EXTERNAL_NAME, "") if server_named else ""
            ),
            create_pending=CreatePending.parse(annotations.get(CREATE_PENDING)),
        )
        own = spec.poll_intervals  # type: ignore[attr-defined]
        intervals = (
            Intervals(float(own.transitional_seconds), float(own.stable_seconds))
            if own is not None
            else account.key.intervals
        )
        item = resource.external_id if server_named else resource.external_name
        self._watch(key, observer, item, intervals)
        if not server_named:
            self._want(key, "" if annotations.get(EXTERNAL_NAME) else resource.external_name)
        if not observer.ready and not observer.errors:
            return None  # the account's first listing wakes every resource waiting on it
        slot = _Slot(self.gate, account.key, key)
        ctx = dataclasses.replace(
            resolved.provider.context(resolved.config, resolved.credentials),
            holders=functools.partial(
                self._holders, kind_name, resolved.provider.place(resolved.config)
            ),
        )
        reconciler = Reconciler(
            kind,
            adapter,
            writer,
            ctx,
            retry_base=intervals.transitional,
            failures=self.failures,
            rng=self._rng,
            unsent=self.unsent,
        )
        try:
            with patience(LIMITER_PATIENCE), admission(slot):
                return await reconciler.reconcile(resource)
        except Parked:
            return None  # woken when a slot of this account frees

    def _holders(self, kind: str, place: str, name: str) -> tuple[Holder, ...]:
        """The resources of `kind` that recorded cloud name `name` in `place`, in any
        namespace, oldest first. One whose provider config cannot be read counts as there:
        it may be, and two resources must never both take one name."""
        found = []
        for body in self.objects.names_held(kind, name):
            meta = body["metadata"]
            if meta.get("deletionTimestamp") and FINALIZER not in (meta.get("finalizers") or ()):
                continue  # released: it holds nothing any more
            where = place_of(body.get("spec") or {}, meta.get("namespace", ""), self._configs)
            if where is None or where == place:
                found.append(
                    Holder(
                        meta.get("namespace", ""),
                        meta["name"],
                        meta["uid"],
                        str(meta.get("creationTimestamp") or ""),
                    )
                )
        return tuple(sorted(found, key=lambda h: (h.created, h.namespace, h.name)))

    async def _blocked(
        self, kind: ManagedKind, writer: KubeWriter, resource: ManagedResource, blocked: Blocked
    ) -> float | None:
        """The provider config or credentials are not usable: nothing can reach the cloud.
        Their watches wake this resource when they change: no polling."""
        message = blocked.message
        if resource.deleting:
            why = release_reason(resource.spec)
            if why is not None:
                await release(writer, resource, why)  # nothing to do on the cloud anyway
                return None
            message = f"cannot delete the cloud resource until this is fixed: {message}"
        await self._report_problem(kind, writer, resource, blocked.reason, message)
        return None

    async def _report_problem(
        self,
        kind: ManagedKind,
        writer: KubeWriter,
        resource: ManagedResource,
        reason: str,
        message: str,
    ) -> None:
        """Ready=False and Synced=False for `reason`; a Warning Event when the reason is new."""
        old = conditions.find(resource.status.get("conditions"), conditions.READY)
        new_reason = old is None or old.get("reason") != reason
        event = ("Warning", reason, message) if new_reason else None
        verdict = Verdict(ready=(False, reason, message), synced=(False, reason, message))
        await report(kind, writer, resource, verdict, event=event)


class _Slot:
    """One reconcile's admission to its account's gate, for each cloud call it makes."""

    def __init__(self, gate: AccountGate[Key], account: Hashable, key: Key) -> None:
        self.gate, self.account, self.key = gate, account, key
        self.used = False

    def enter(self) -> bool:
        entered = self.gate.enter(self.account, self.key, admitted_before=self.used)
        self.used = self.used or entered
        return entered

    def leave(self) -> None:
        self.gate.leave(self.account)


def _with_spec(base: ManagedResource, spec: Any, **changes: Any) -> ManagedResource:
    return dataclasses.replace(base, spec=spec, **changes)
