"""Operator start-up: kopf settings chosen for GitOps and for long-running cloud operations."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, GROUP, MANAGED_KINDS
from cloudinfer.handlers.indexes import first
from cloudinfer.handlers.options import RunOptions
from cloudinfer.handlers.providerconfig import evaluate_all
from cloudinfer.runtime.controller import Runtime
from cloudinfer.runtime.leader import LEADER, LeaderElector, default_identity

# kopf's own finalizer (kinds with kopf deletion handlers); the reconciler uses
# cloudinfer.reconcile.managed.FINALIZER for the cloud-backed kinds.
KOPF_FINALIZER = "cloudinfer.io/kopf-finalizer"
_tasks: set[asyncio.Task[None]] = set()  # started on taking over, referenced until done
_MANAGED = frozenset(kind.info.kind for kind in MANAGED_KINDS)


class DiffBaseOfConfigsOnly(kopf.AnnotationsDiffBaseStorage):
    """kopf builds a diff base (a deep copy of the body) and parses the stored one for every
    watch event of every kind, though only kinds with create/update handlers use them. The
    managed kinds have none (the runtime decides what changed), and a burst brings several
    events per resource: no diff base for them (about a tenth of the operator's CPU in a
    burst, profiled)."""

    def _skip(self, body: Any) -> bool:
        return (
            str(body.get("apiVersion", "")).startswith(f"{GROUP}/") and body.get("kind") in _MANAGED
        )

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        return None if self._skip(body) else super().build(body=body, extra_fields=extra_fields)

    def fetch(self, *, body: Any) -> Any:
        return None if self._skip(body) else super().fetch(body=body)


def apply_settings(settings: kopf.OperatorSettings, options: RunOptions) -> None:
    persistence = settings.persistence
    persistence.finalizer = KOPF_FINALIZER
    # Handler progress lives in status (status.kopf), which Argo CD ignores; the diff base is
    # one stable annotation rewritten only when the spec changes. Nothing is written per poll.
    persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    persistence.diffbase_storage = DiffBaseOfConfigsOnly(
        prefix="cloudinfer.io", key="last-handled-configuration", v1=False
    )

    # kopf keeps a worker task per object until it has seen no event for this long. Ours
    # only hands the event to the cache and queue, so a worker need not linger: at kopf's
    # 5 s, a burst keeps one alive for every object at once (measured: a burst of 1,000
    # peaked at 131.8 MiB RSS, 119.9 MiB with 0.5 s). Events that come together are still
    # taken as one (batching waits 0.1 s).
    settings.queueing.idle_timeout = 0.5

    # Explicit watch timeouts: a silently stalled watch reconnects instead of freezing.
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.watching.connect_timeout = 30
    settings.watching.inactivity_timeout = 330
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 15

    # Only warnings and errors of handlers become Events; the operator posts its own
    # transition Events explicitly.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = "cloudinfer"
    settings.posting.reporting_instance = socket.gethostname()

    # No kopf peering: it pauses a replica's watches (no warm caches) but not the work queue,
    # and equal priorities pause every replica. Replicas coordinate by leader election.
    settings.peering.standalone = True


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    options: RunOptions = memo.options
    apply_settings(settings, options)
    # The Kubernetes client is synchronous and runs in threads: half as many as workers and
    # a few for the event posters and the rest. More threads only queue more writes at a
    # loaded API server (measured: a burst of 1,000 was slower with workers + 4).
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=options.workers // 2 + 4, thread_name_prefix="kube")
    )
    pcs, cpcs, secrets = (
        kwargs["providerconfigs"],
        kwargs["clusterproviderconfigs"],
        kwargs["secrets"],
    )

    def configs(ref: tuple[str, str, str]) -> Any:
        return first(cpcs if ref[0] == CLUSTER_PROVIDER_CONFIG.kind else pcs, ref)

    def secret(namespace: str, name: str) -> Any:
        return first(secrets, (namespace, name))

    def labels(namespace: str) -> Any:
        return first(kwargs["namespaces"], namespace)

    # Created here so the work queue's tasks run inside kopf's context (Events can be posted).
    memo.runtime = Runtime(
        memo.kube,
        configs,
        secret,
        options.operator_namespace,
        workers=options.workers,
        resync=options.resync_seconds,
        namespace_labels=labels,
    )
    lease = getattr(memo, "lease", None)
    if lease is None:
        LEADER.set(1)
        memo.runtime.start()
        return
    # The election calls back from its own thread; the work queue's tasks are created in
    # this (kopf's) context all the same.
    loop, context = asyncio.get_running_loop(), contextvars.copy_context()

    def take_over() -> None:
        runtime: Runtime = memo.runtime
        runtime.start()
        for key in runtime.objects.all_keys():  # the queue has them already; nothing is missed
            runtime.queue.add(key, source="startup")
        refs = [*pcs, *cpcs]  # what a standby let pass; kopf's resume may not come again
        _tasks.add(task := asyncio.create_task(evaluate_all(memo, refs)))
        task.add_done_callback(_tasks.discard)

    def elected() -> None:  # in the election's thread
        loop.call_soon_threadsafe(take_over, context=context)

    memo.elector = LeaderElector(lease, default_identity(), on_started=elected)
    memo.elector.start()


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    runtime = getattr(memo, "runtime", None)
    if runtime is not None:
        await runtime.stop()
    elector: LeaderElector | None = getattr(memo, "elector", None)
    if elector is not None:
        await elector.close()  # nothing acts any more: the lease is released


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod: the service account; elsewhere: the kubeconfig (read now, not at import)."""
    info: kopf.ConnectionInfo | None = kopf.login_with_service_account(**kwargs)
    return info or kopf.login_with_kubeconfig(**kwargs)
