"""Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas only one
acts: the leader runs the work queue (and so the observers and cloud clients, which only a
reconcile creates); a standby keeps its watches and caches warm and takes over when the
leader's lease runs out (it died) or is released (it stopped cleanly).

The algorithm is client-go's, in a small loop of our own rather than the Kubernetes client's
`kubernetes.leaderelection`, which does not fit: its loops cannot be stopped and it never
releases the lease (a clean shutdown would leave the standby waiting a full lease), it talks
through the global default client configuration instead of the operator's kubeconfig, it
times renewals on the wall clock, and it calls `sys.exit` on a bad configuration.

- Every `retry` seconds the replica reads the Lease. Absent: it creates it naming itself.
  Naming it: it renews (replace with the resourceVersion read, so of two writers one wins).
  Released (no holder): it takes it. Naming someone else: it waits until no renewal has been
  seen for the lease's duration, judged on its own monotonic clock (clocks of different
  machines are not compared, except that a renewal counts from when its `renewTime` says it
  happened, by at most `retry` earlier than it was seen), then takes it.
- The leader gives up when no renewal succeeded for `renew_deadline` since the last one was
  sent, or at once when the Lease names someone else. Giving up means exiting the process
  (controller-runtime does the same): nothing that was started can keep acting, and the
  Deployment restarts it as a standby. `renew_deadline` < `lease - retry`, so the leader has
  stopped before any standby may take over.
- On a clean shutdown the leader, once it no longer acts, releases the lease (no holder,
  duration 1 s) so a standby takes over at its next look instead of after a full lease.

The decision (`decide`, `record_for`) is pure; `LeaderElector.step` does one look with I/O;
a daemon thread runs the steps, so renewals do not wait behind a busy event loop."""

from __future__ import annotations

import asyncio
import copy
import enum
import logging
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import kubernetes
from kubernetes.client.exceptions import ApiException
from prometheus_client import Gauge

log = logging.getLogger(__name__)

# One API request of the election never takes longer than this (a leader's renewal is also
# cut short at its renew deadline).
REQUEST_TIMEOUT = 5.0

LEADER = Gauge(
    "cloudinfer_leader",
    "1 while this replica acts (holds the leader Lease, or runs without leader election); "
    "0 while it stands by.",
)


def default_identity() -> str:
    """$POD_NAME in a pod (set from the downward API); elsewhere host name and process id."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Timing:
    lease: float = 15.0  # a lease not renewed for this long is free
    renew_deadline: float = 10.0  # the leader gives up when it could not renew for this long
    retry: float = 2.0  # between two looks (renewals, or a standby's checks)

    def __post_init__(self) -> None:
        if not 0 < self.retry < self.renew_deadline < self.lease - self.retry:
            raise ValueError(
                f"leader election needs 0 < retry < renew_deadline < lease - retry, got {self}"
            )


@dataclass(frozen=True)
class LeaseView:
    """What the election reads from the Lease."""

    holder: str  # "" when released
    duration: float  # leaseDurationSeconds as its holder wrote it
    version: str  # metadata.resourceVersion: changes with every write (every renewal)
    renew_time: datetime | None = None
    acquire_time: datetime | None = None
    transitions: int = 0


@dataclass(frozen=True)
class LeaseRecord:
    """What the election writes into the Lease's spec."""

    holder: str
    duration: int
    acquire_time: datetime
    renew_time: datetime
    transitions: int


@dataclass(frozen=True)
class Sighting:
    """Someone else's lease at `version` counts as renewed at `at` (our monotonic clock)."""

    version: str
    at: float


class Action(enum.Enum):
    CREATE = "create"  # no Lease: create it naming us
    ACQUIRE = "acquire"  # released or expired: take it over
    RENEW = "renew"  # ours: renew it
    WAIT = "wait"  # someone else holds a live lease
    LOST = "lost"  # we were leading and the Lease names someone else


@dataclass(frozen=True)
class Decision:
    action: Action
    sighting: Sighting | None = None  # what to remember about someone else's lease
    wait: float = 0.0  # for WAIT: when to look again at the latest


def decide(
    lease: LeaseView | None,
    identity: str,
    leading: bool,
    seen: Sighting | None,
    now: float,
    wall: datetime,
    timing: Timing,
) -> Decision:
    """What to do about the Lease as read at monotonic time `now` (wall-clock time `wall`),
    given whether we lead and what we last saw of someone else's lease."""
    if lease is None:
        return Decision(Action.CREATE)
    if lease.holder == identity:
        # Ours: renew it (also when we do not lead yet: a previous process of this identity,
        # which cannot act any more, held it).
        return Decision(Action.RENEW)
    if leading:
        return Decision(Action.LOST)
    if not lease.holder:
        return Decision(Action.ACQUIRE)
    if seen is None or seen.version != lease.version:
        # Renewed since we last looked: it counts from its renewTime as far as our clock
        # agrees, but never from more than one look earlier (a skewed clock gains nothing).
        age = (wall - lease.renew_time).total_seconds() if lease.renew_time else 0.0
        seen = Sighting(lease.version, now - min(max(age, 0.0), timing.retry))
    duration = lease.duration if lease.duration > 0 else timing.lease
    left = seen.at + duration - now
    if left <= 0:
        return Decision(Action.ACQUIRE)
    return Decision(Action.WAIT, seen, min(timing.retry, left))


def record_for(
    action: Action, lease: LeaseView | None, identity: str, stamp: datetime, timing: Timing
) -> LeaseRecord:
    """The Lease spec that creates, acquires or renews the lease for `identity`."""
    transitions = lease.transitions if lease is not None else 0
    acquired = stamp
    if action is Action.ACQUIRE:
        transitions += 1
    elif action is Action.RENEW and lease is not None and lease.acquire_time is not None:
        acquired = lease.acquire_time
    return LeaseRecord(identity, math.ceil(timing.lease), acquired, stamp, transitions)


def released(lease: LeaseView, stamp: datetime) -> LeaseRecord:
    """The Lease spec that gives the lease up: no holder, free one second from now."""
    return LeaseRecord("", 1, lease.acquire_time or stamp, stamp, lease.transitions)


# -- I/O -----------------------------------------------------------------------------------


class LeaseStore(Protocol):
    def read(self, timeout: float) -> LeaseView | None:
        """The Lease, or None when it does not exist."""

    def create(self, record: LeaseRecord, timeout: float) -> bool:
        """Create the Lease; False when it exists already (someone was faster)."""

    def replace(self, version: str, record: LeaseRecord, timeout: float) -> bool:
        """Replace its spec if it is still at `version`; False when it changed meanwhile."""


def _micro_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KubeLease:
    """The Lease `namespace/name` through the synchronous Kubernetes client, with a client
    of its own: its requests never queue behind the reconciles' in a connection pool, and
    urllib3 does not retry them (each is bounded by its timeout; the election retries)."""

    def __init__(
        self, configuration: kubernetes.client.Configuration, namespace: str, name: str
    ) -> None:
        own = copy.deepcopy(configuration)
        own.retries = False
        self._api = kubernetes.client.CoordinationV1Api(kubernetes.client.ApiClient(own))
        self.namespace, self.name = namespace, name
        self._kept: dict[str, Any] = {}  # labels and annotations someone else put on it

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def read(self, timeout: float) -> LeaseView | None:
        try:
            lease = self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        meta = lease.metadata or kubernetes.client.V1ObjectMeta()
        spec = lease.spec or kubernetes.client.V1LeaseSpec()
        self._kept = {"labels": meta.labels or {}, "annotations": meta.annotations or {}}
        return LeaseView(
            holder=spec.holder_identity or "",
            duration=float(spec.lease_duration_seconds or 0),
            version=str(meta.resource_version),
            renew_time=spec.renew_time,
            acquire_time=spec.acquire_time,
            transitions=int(spec.lease_transitions or 0),
        )

    def _body(self, record: LeaseRecord, version: str | None) -> Any:  # the client takes dicts
        metadata: dict[str, Any] = {**self._kept, "name": self.name, "namespace": self.namespace}
        if version is not None:
            metadata["resourceVersion"] = version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": record.holder,
                "leaseDurationSeconds": record.duration,
                "acquireTime": _micro_time(record.acquire_time),
                "renewTime": _micro_time(record.renew_time),
                "leaseTransitions": record.transitions,
            },
        }

    def create(self, record: LeaseRecord, timeout: float) -> bool:
        self._kept = {}
        try:
            self._api.create_namespaced_lease(
                self.namespace, self._body(record, None), _request_timeout=timeout
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def replace(self, version: str, record: LeaseRecord, timeout: float) -> bool:
        try:
            self._api.replace_namespaced_lease(
                self.name, self.namespace, self._body(record, version), _request_timeout=timeout
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True


def exit_process() -> None:
    """Stop acting at once: the process exits non-zero and is restarted as a standby."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    def __init__(
        self,
        store: LeaseStore,
        identity: str,
        on_started: Callable[[], None],
        on_lost: Callable[[], None] = exit_process,
        timing: Timing | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utcnow,
    ) -> None:
        """`on_started` is called (in the election's thread) when this replica becomes the
        leader; `on_lost` when it stops being the leader while running (by default the
        process exits)."""
        self.store, self.identity = store, identity
        self.timing = timing or Timing()
        self._on_started, self._on_lost = on_started, on_lost
        self._clock, self._wall = clock, wall
        self._leading = False
        self._renewed_at = 0.0  # when the last successful write was sent (monotonic)
        self._seen: Sighting | None = None
        self._holder: str | None = None  # last holder reported in the log
        self._complaint = ""  # last failure reported in the log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    # -- one look ---------------------------------------------------------------------------

    def step(self) -> float:
        """Read the Lease and act on it once. Returns the seconds until the next look."""
        now = self._clock()
        timeout = REQUEST_TIMEOUT
        if self._leading:
            timeout = max(0.1, min(timeout, self._renewed_at + self.timing.renew_deadline - now))
        wait = self.timing.retry
        try:
            lease = self.store.read(timeout)
            decision = decide(
                lease, self.identity, self._leading, self._seen, now, self._wall(), self.timing
            )
            self._seen = decision.sighting
            if decision.action is Action.LOST:
                assert lease is not None
                self._lose(f"the lease is now held by {lease.holder or 'nobody'}")
                return 0.0
            if decision.action is Action.WAIT:
                assert lease is not None
                self._standing_by(lease.holder)
                wait = decision.wait
            else:
                self._write(decision.action, lease, timeout)
            self._complaint = ""
        except Exception as exc:  # the API server may be away for a while: keep looking
            self._complain(exc)
        if self._leading:
            left = self._renewed_at + self.timing.renew_deadline - self._clock()
            if left <= 0:
                self._lose(f"could not renew the lease for {self.timing.renew_deadline:g}s")
                return 0.0
            wait = min(wait, left)
        return wait

    def _write(self, action: Action, lease: LeaseView | None, timeout: float) -> None:
        record = record_for(action, lease, self.identity, self._wall(), self.timing)
        sent = self._clock()
        if action is Action.CREATE:
            written = self.store.create(record, timeout)
        else:
            assert lease is not None
            written = self.store.replace(lease.version, record, timeout)
        if not written:
            log.debug("lease %s changed while %s tried to %s it", self.store, self.identity, action)
            return
        self._renewed_at = sent
        if not self._leading:
            self._leading = True
            LEADER.set(1)
            log.info(
                "%s is the leader now (lease %s, transitions %d)",
                self.identity,
                self.store,
                record.transitions,
            )
            self._on_started()

    def _standing_by(self, holder: str) -> None:
        if holder != self._holder:
            self._holder = holder
            log.info("standing by: lease %s is held by %s", self.store, holder)

    def _complain(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
        say = log.warning if text != self._complaint else log.debug
        self._complaint = text
        say("leader election: cannot read or write lease %s: %s", self.store, text)

    def _lose(self, why: str) -> None:
        self._leading = False
        self._stop.set()
        LEADER.set(0)
        log.error("%s lost the leadership (%s); stopping at once", self.identity, why)
        self._on_lost()

    # -- life -------------------------------------------------------------------------------

    def start(self) -> None:
        LEADER.set(0)
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.step()
            self._stop.wait(wait)

    def stop(self, release: bool = True) -> None:
        """End the election (blocking: at most one request in flight). With `release`, a
        leader gives the lease up: call it only once nothing acts any more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(REQUEST_TIMEOUT + 1)
        if self._leading and release:
            self.release()
        self._leading = False
        LEADER.set(0)

    async def close(self) -> None:
        """`stop` from the event loop, in a thread of its own (the default executor's may all
        be held by calls that cancelled reconciles left running)."""
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def stop() -> None:
            try:
                self.stop(release=True)
            finally:
                loop.call_soon_threadsafe(done.set)

        threading.Thread(target=stop, name="leader-release", daemon=True).start()
        await done.wait()

    def release(self) -> None:
        try:
            lease = self.store.read(REQUEST_TIMEOUT)
            if lease is None or lease.holder != self.identity:
                return
            if self.store.replace(lease.version, released(lease, self._wall()), REQUEST_TIMEOUT):
                log.info("released lease %s", self.store)
        except Exception as exc:  # the standby takes over when the lease runs out instead
            log.warning("could not release lease %s: %s", self.store, exc)
