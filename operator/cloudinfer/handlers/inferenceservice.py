"""InferenceService wiring: kopf watches and enqueues; a work queue runs the generic
reconciler with the EAS adapter. Long cloud operations are followed by the batch observer,
never by kopf handler retries, so polling costs no API-server writes."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from cloudinfer import conditions
from cloudinfer.adapters.base import ManagedResource
from cloudinfer.adapters.eas import external_name
from cloudinfer.api.inferenceservice import InferenceServiceSpec
from cloudinfer.api.kinds import (
    CLUSTER_PROVIDER_CONFIG,
    GROUP,
    INFERENCE_SERVICE,
    PROVIDER_CONFIG,
    VERSION,
)
from cloudinfer.api.providerconfig import ProviderConfigSpec
from cloudinfer.credentials import CredentialsError, credentials_from_secret, decode_secret_data
from cloudinfer.handlers.accounts import Accounts, Key
from cloudinfer.handlers.options import RunOptions
from cloudinfer.handlers.writer import KubeWriter
from cloudinfer.kube import Kube
from cloudinfer.observer.batch import BatchObserver, Intervals
from cloudinfer.reconcile.managed import (
    EXTERNAL_NAME,
    FINALIZER,
    Reconciler,
    Verdict,
    release,
    release_reason,
    report,
)
from cloudinfer.reconcile.queue import WorkQueue

log = logging.getLogger(__name__)
PROBLEM_REQUEUE = 30.0  # provider config or credentials missing: look again


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"spec.{where}: {err['msg']}")
    return "; ".join(parts)


class Runtime:
    """Everything the InferenceService controller keeps across reconciles."""

    def __init__(self, kube: Kube, options: RunOptions, workers: int = 8) -> None:
        self.kube, self.options = kube, options
        self.queue: WorkQueue[Key] = WorkQueue(self.reconcile, workers=workers)
        self.accounts = Accounts(self.queue.add)
        self.failures: dict[Key, int] = {}
        self._watching: dict[Key, tuple[BatchObserver[Any, Key], str]] = {}
        # Which resources use which provider config (kind, namespace or "", name), learnt
        # while reconciling, so a provider config that changes wakes exactly its users.
        self._users: dict[tuple[str, str, str], set[Key]] = {}
        self._uses: dict[Key, tuple[str, str, str]] = {}

    def requeue_users(self, kind: str, namespace: str | None, name: str) -> None:
        for key in self._users.get((kind, namespace or "", name), set()):
            self.queue.add(key)

    def _record_use(self, key: Key, ref: tuple[str, str, str]) -> None:
        old = self._uses.get(key)
        if old == ref:
            return
        if old is not None:
            self._users.get(old, set()).discard(key)
        self._users.setdefault(ref, set()).add(key)
        self._uses[key] = ref

    def start(self) -> None:
        self.queue.start()

    async def stop(self) -> None:
        await self.queue.stop()
        await self.accounts.close()

    def forget(self, key: Key) -> None:
        self.queue.forget(key)
        self.failures.pop(key, None)
        watching = self._watching.pop(key, None)
        if watching:
            watching[0].unwatch(watching[1], key)
        used = self._uses.pop(key, None)
        if used is not None:
            self._users.get(used, set()).discard(key)

    async def reconcile(self, key: Key) -> float | None:
        try:
            return await self._reconcile(key)
        except ApiException as exc:
            if exc.status == 409:  # our patch raced another writer: look again at once
                return 0.2
            raise

    async def _reconcile(self, key: Key) -> float | None:
        namespace, name = key
        body = await self.kube.get(INFERENCE_SERVICE, namespace, name)
        if body is None:
            self.forget(key)
            return None
        meta = body["metadata"]
        status: dict[str, Any] = dict(body.get("status") or {})
        writer = KubeWriter(self.kube, INFERENCE_SERVICE, body)
        try:
            spec = InferenceServiceSpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            unparsed = ManagedResource(
                namespace,
                name,
                meta["uid"],
                int(meta.get("generation", 0)),
                None,
                (meta.get("annotations") or {}).get(EXTERNAL_NAME, ""),
                status,
            )
            await _report_problem(writer, unparsed, "InvalidSpec", _validation_message(exc))
            return None
        resource = ManagedResource(
            namespace=namespace,
            name=name,
            uid=meta["uid"],
            generation=int(meta.get("generation", 0)),
            spec=spec,
            external_name=(meta.get("annotations") or {}).get(EXTERNAL_NAME)
            or external_name(spec, name),
            status=status,
            annotations=dict(meta.get("annotations") or {}),
            finalizers=tuple(meta.get("finalizers") or ()),
            deleting=bool(meta.get("deletionTimestamp")),
        )
        if resource.deleting and FINALIZER not in resource.finalizers:
            self.forget(key)
            return None

        ref = spec.provider_config_ref
        pc_info = PROVIDER_CONFIG if ref.kind == "ProviderConfig" else CLUSTER_PROVIDER_CONFIG
        pc_ns = namespace if pc_info is PROVIDER_CONFIG else None
        self._record_use(key, (pc_info.kind, pc_ns or "", ref.name))
        pc = await self.kube.get(pc_info, pc_ns, ref.name)
        where = f'{ref.kind} "{ref.name}"' + (f' in namespace "{namespace}"' if pc_ns else "")
        if pc is None:
            return await self._blocked(
                resource,
                writer,
                "ProviderConfigNotFound",
                f"{where} (spec.providerConfigRef) not found",
            )
        pc_spec = ProviderConfigSpec.model_validate(pc.get("spec") or {})
        if pc_spec.cloud != "alibaba-eas":
            return await self._blocked(
                resource,
                writer,
                "ProviderConfigMismatch",
                f"{where} is for cloud {pc_spec.cloud}; spec.eas needs alibaba-eas",
            )
        secret_ns = namespace if pc_ns else self.options.operator_namespace
        secret_name = pc_spec.credentials_secret_ref.name
        data = await self.kube.read_secret_data(secret_ns, secret_name)
        if data is None:
            return await self._blocked(
                resource,
                writer,
                "CredentialsUnavailable",
                f'Secret "{secret_ns}/{secret_name}" of {where} not found',
            )
        try:
            creds = credentials_from_secret(
                pc_spec.cloud, f"{secret_ns}/{secret_name}", decode_secret_data(data)
            )
        except CredentialsError as exc:
            return await self._blocked(resource, writer, "CredentialsUnavailable", exc.message)

        account = self.accounts.eas(pc_spec, creds)
        own = spec.poll_intervals or pc_spec.poll_intervals
        intervals = Intervals(float(own.transitional_seconds), float(own.stable_seconds))
        self._watch(key, account.observer, resource.external_name, intervals)
        reconciler = Reconciler(account.adapter, writer, intervals, self.failures)
        return await reconciler.reconcile(resource)

    def _watch(
        self, key: Key, observer: BatchObserver[Any, Key], name: str, intervals: Intervals
    ) -> None:
        old = self._watching.get(key)
        if old is not None and (old[0] is not observer or old[1] != name):
            old[0].unwatch(old[1], key)
        observer.watch(name, key, intervals)
        self._watching[key] = (observer, name)

    async def _blocked(
        self, resource: ManagedResource, writer: KubeWriter, reason: str, message: str
    ) -> float | None:
        """The provider config or credentials are not usable: nothing can reach the cloud."""
        if resource.deleting:
            why = release_reason(resource.spec)
            if why is not None:
                await release(writer, resource, why)  # nothing to do on the cloud anyway
                return None
            message = f"cannot delete the cloud service until this is fixed: {message}"
        await _report_problem(writer, resource, reason, message)
        return PROBLEM_REQUEUE


async def _report_problem(
    writer: KubeWriter, resource: ManagedResource, reason: str, message: str
) -> None:
    """Ready=False and Synced=False for `reason`; a Warning Event when the reason is new."""
    old = conditions.find(resource.status.get("conditions"), conditions.READY)
    event = ("Warning", reason, message) if old is None or old.get("reason") != reason else None
    verdict = Verdict(ready=(False, reason, message), synced=(False, reason, message))
    await report(writer, resource, verdict, event=event)


@kopf.on.event(GROUP, VERSION, INFERENCE_SERVICE.plural)
async def inferenceservice_event(
    type: str | None, namespace: str | None, name: str, memo: kopf.Memo, **_: Any
) -> None:
    runtime: Runtime = memo.runtime
    key = (namespace or "", name)
    if type == "DELETED":
        runtime.forget(key)
    else:
        runtime.queue.add(key)
