"""InferenceService on PAI-EAS.

Pure parts first (name normalisation, spec → service config, drift, status mapping), then the
adapter that calls the client and reads the batch observer's snapshot."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from cloudinfer.adapters.base import (
    ABSENT,
    CallContext,
    CrossNamespace,
    Drift,
    Identity,
    Lookup,
    ManagedResource,
    Observation,
    owner_labels,
    owner_of,
)
from cloudinfer.adapters.drift import compare, digest
from cloudinfer.api.inferenceservice import (
    EasAutoscaling,
    EasContainer,
    EasSpec,
    InferenceServiceSpec,
    env_ref_path,
)
from cloudinfer.clouds.alibaba.eas import EasClient, EasService
from cloudinfer.clouds.errors import CloudError, NotFound, ServerError, TransportError
from cloudinfer.clouds.ratelimit import Parked
from cloudinfer.observer.batch import BatchObserver

PHASES = {
    "Creating": "Creating",
    "Waiting": "Creating",
    "Pending": "Pending",
    "Deploying": "Creating",
    "Cloning": "Creating",
    "Starting": "Starting",
    "Running": "Running",
    "Updating": "Updating",
    "HotUpdate": "Updating",
    "Scaling": "Updating",
    "Committing": "Updating",
    "Stopping": "Stopping",
    "Stopped": "Stopped",
    "Failed": "Failed",
    "Deleting": "Deleting",
    "DeleteFailed": "Failed",
    "Complete": "Running",
}
TRANSITIONAL = {"Creating", "Pending", "Starting", "Updating", "Stopping", "Deleting"}
STOPPED, AUTOSCALING = "stopped", "autoscaling"  # drift paths that are not service config


# -- pure mapping ----------------------------------------------------------------------------


def eas_of(spec: InferenceServiceSpec) -> EasSpec:
    """The PAI-EAS block: the runtime hands this adapter only specs that select it."""
    if spec.eas is None:
        raise ValueError("not a PAI-EAS InferenceService: spec.eas is not set")
    return spec.eas


def normalize_name(name: str) -> str:
    """metadata.name → an EAS service name: lower-case letters, digits, underscores."""
    out = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not out or not out[0].isalpha():
        out = "s_" + out
    return out[:64]


def external_name(spec: InferenceServiceSpec, metadata_name: str) -> str:
    return spec.service_name or normalize_name(metadata_name)


def container_env(
    container: EasContainer, index: int, secret_values: Mapping[str, str]
) -> list[dict[str, str]]:
    """A container's env as EAS takes it, in the spec's order; `valueFrom` takes its value
    from `secret_values` (by the path of the reference). A reference without a value (only
    while deleting, when no Secret is required) is left out."""
    env = []
    for j, var in enumerate(container.env):
        if var.value_from is None:
            env.append({"name": var.name, "value": var.value or ""})
        elif (value := secret_values.get(env_ref_path(index, j))) is not None:
            env.append({"name": var.name, "value": value})
    return env


def desired_config(
    spec: InferenceServiceSpec, name: str, secret_values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The EAS service config (CreateService body) the spec asks for. Typed fields win over
    the passthrough `config`. `secret_values` are the values of the Secret keys the spec
    references, by the path of the reference (ManagedResource.secret_values)."""
    secret_values = secret_values or {}
    eas = eas_of(spec)
    config: dict[str, Any] = copy.deepcopy(eas.config or {})
    config["name"] = name
    if eas.processor:
        config["processor"] = eas.processor
    if eas.model_path:
        config["model_path"] = eas.model_path
    if eas.containers:
        config["containers"] = [
            {
                k: v
                for k, v in {
                    "image": c.image,
                    "script": c.command,
                    "port": c.port,
                    "env": container_env(c, i, secret_values) or None,
                }.items()
                if v is not None
            }
            for i, c in enumerate(eas.containers)
        ]
    meta = config.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta["instance"] = eas.instances
    for key, value in (
        ("cpu", eas.cpu),
        ("memory", eas.memory),
        ("gpu", eas.gpu),
        ("resource", eas.resource_group),
    ):
        if value is not None:
            meta[key] = value
    config["metadata"] = meta
    return config


def config_drift(desired: dict[str, Any], actual: dict[str, Any], autoscaled: bool) -> list[Drift]:
    """Fields the spec sets whose cloud value differs; with autoscaling the instance count
    belongs to the autoscaler."""
    skip = {"name"} | ({"metadata.instance"} if autoscaled else set())
    return compare(desired, actual, skip)


def autoscaling_fingerprint(autoscaling: EasAutoscaling | None) -> str | None:
    if autoscaling is None:
        return None
    return digest(autoscaling.model_dump(mode="json"))


def autoscaler_request(autoscaling: EasAutoscaling) -> tuple[int, int, list[dict[str, Any]]]:
    return (
        autoscaling.min,
        autoscaling.max,
        [{"metricName": autoscaling.metric, "threshold": autoscaling.threshold}],
    )


def desired_labels(resource: ManagedResource) -> dict[str, str]:
    spec: InferenceServiceSpec = resource.spec
    return {**spec.labels, **owner_labels(resource.namespace, resource.name, resource.uid)}


def observation_of(service: EasService, resource: ManagedResource) -> Observation:
    """EAS Service → the common observation, including drift against the spec."""
    spec: InferenceServiceSpec = resource.spec
    manage = spec.management_policy == "Manage"
    phase = PHASES.get(service.status, "Unknown")
    total, running = service.total_instances, service.running_instances
    if phase in ("Stopped", "Failed"):
        progress = 0 if phase == "Failed" else None
    elif total > 0:
        progress = min(100, running * 100 // total)
    else:
        progress = 100 if phase == "Running" else 0
    # Observe mode adopts: only what the spec explicitly asks for is compared.
    values = resource.secret_values
    want = (
        desired_config(spec, service.name, values)
        if manage
        else _explicit_config(spec, service.name, values)
    )
    drift = config_drift(want, service.config, eas_of(spec).autoscaling is not None)
    stopped_now = phase in ("Stopped", "Stopping")
    if manage and spec.stopped != stopped_now and phase not in ("Failed", "Deleting"):
        drift.append(Drift(STOPPED, stopped_now, spec.stopped))
    applied = resource.status.get("appliedAutoscaling")
    wanted = autoscaling_fingerprint(eas_of(spec).autoscaling)
    if manage and wanted not in (None, applied):
        drift.append(Drift(AUTOSCALING, applied, wanted))
    endpoints = {
        k: v
        for k, v in (
            ("internet", service.internet_endpoint),
            ("intranet", service.intranet_endpoint),
        )
        if v
    }
    connection = {
        "internetEndpoint": service.internet_endpoint,
        "intranetEndpoint": service.intranet_endpoint,
        "token": service.access_token.get_secret_value(),
        "serviceName": service.name,
    }
    message = service.message or service.reason
    owner_uid, owner_namespace = owner_of(service.labels)
    return Observation(
        exists=True,
        owner_uid=owner_uid,
        owner_namespace=owner_namespace,
        drift=tuple(drift),
        phase=phase,
        cloud_status=service.status,
        transitional=phase in TRANSITIONAL,
        failed=phase == "Failed",
        deleting=phase == "Deleting",
        stopped=phase == "Stopped",
        progress=progress,
        external_id=service.service_id,
        endpoints=endpoints,
        endpoint=endpoints.get("internet") or endpoints.get("intranet"),
        instances={"total": total, "running": running, "pending": service.pending_instances},
        message=message,
        connection={k: v for k, v in connection.items() if v},
    )


def _explicit_config(
    spec: InferenceServiceSpec, name: str, secret_values: Mapping[str, str]
) -> dict[str, Any]:
    """Observe mode: the fields the user wrote (defaults such as instances=1 excluded)."""
    full = desired_config(spec, name, secret_values)
    explicit = eas_of(spec).model_fields_set
    meta = {
        k: v
        for k, v in full.get("metadata", {}).items()
        if {"instance": "instances", "resource": "resource_group"}.get(k, k) in explicit
    }
    out = {k: v for k, v in full.items() if k not in ("metadata",)}
    if meta:
        out["metadata"] = meta
    return out


def transition(service: EasService) -> str | None:
    """The common transitional phase the service is in, or None when it is settled."""
    phase = PHASES.get(service.status, "Unknown")
    return phase if phase in TRANSITIONAL else None


def fingerprint(service: EasService) -> object:
    return (
        service.status,
        service.reason,
        service.message,
        service.total_instances,
        service.running_instances,
        service.pending_instances,
        service.update_time,
        json.dumps(service.config, sort_keys=True),
        tuple(sorted(service.labels.items())),
        service.internet_endpoint,
        service.intranet_endpoint,
    )


# -- the adapter -----------------------------------------------------------------------------


def _may_have_acted(exc: CloudError) -> bool:
    """Whether the cloud may have changed something although the call failed: only then is
    the snapshot's copy stale (a refusal or our own limiter changed nothing)."""
    return isinstance(exc, TransportError | ServerError)


class EasInferenceServiceAdapter:
    """Client-named: the service name is the identity, fixed before the first create."""

    identity: Identity = "client-named"

    def __init__(self, client: EasClient, observer: BatchObserver[EasService, Any]) -> None:
        self.client, self.observer = client, observer

    def external_name(self, spec: Any, metadata_name: str) -> str:
        return external_name(spec, metadata_name)

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        name = resource.external_name
        if not fresh:
            self.observer.check_fresh()
            if self.observer.knows(name):
                service = self.observer.get(name)
                if service is not None:
                    return observation_of(service, resource)
                if resource.manage:
                    # Absent from a listing newer than our last change: a create is safe
                    # (a name taken meanwhile answers Conflict, handled by the reconciler).
                    return ABSENT
        # Asked for, changed by us since the listing, or an Observe target the listing
        # did not have yet: ask the cloud.
        try:
            service = await self.client.describe_service(name)
        except NotFound:
            return ABSENT
        return observation_of(service, resource)

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        return Lookup(found=resource.external_name, authoritative=True)

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        spec: InferenceServiceSpec = resource.spec
        config = desired_config(spec, resource.external_name, resource.secret_values)
        labels = desired_labels(resource)
        if spec.clone_from is not None:
            await self._check_clone_source(resource, spec.clone_from.service_name, ctx)
        try:
            if spec.clone_from is not None:
                # The source's config, overridden by what the spec sets explicitly.
                overrides = _explicit_config(spec, resource.external_name, resource.secret_values)
                await self.client.clone_service(spec.clone_from.service_name, overrides, labels)
            else:
                workspace = eas_of(spec).workspace_id or ctx.workspace_id
                await self.client.create_service(config, labels, workspace)
        except CloudError as exc:
            if _may_have_acted(exc):  # a create whose answer was lost may have made it
                self.observer.invalidate(resource.external_name, created=True)
            raise
        self.observer.invalidate(resource.external_name, created=True)
        return resource.external_name

    async def _check_clone_source(
        self, resource: ManagedResource, source: str, ctx: CallContext
    ) -> None:
        """A service another namespace's resource made is cloned only where the provider
        config allows it (its config, and maybe secrets in it, would be copied here)."""
        if ctx.cross_namespace:
            return
        service = self.observer.get(source) if self.observer.knows(source) else None
        if service is None:
            try:
                service = await self.client.describe_service(source)
            except NotFound:
                return  # CloneService answers that, in the cloud's words
        owner_uid, namespace = owner_of(service.labels)
        if owner_uid is not None and namespace != resource.namespace:
            raise CrossNamespace(
                f'clone source "{source}" (spec.cloneFrom) belongs to a resource in namespace '
                f'"{namespace}"; clone it there, or set spec.allowCrossNamespaceAdoption on the '
                "provider config",
                code="CrossNamespaceAdoption",
            )

    async def claim(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> None:
        labels = owner_labels(resource.namespace, resource.name, resource.uid)
        try:
            await self.client.update_service_labels(resource.external_name, labels)
        finally:
            self.observer.invalidate(resource.external_name)

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        recorded: dict[str, Any] = {}
        try:
            await self._update(resource, observation, recorded)
        except Parked:  # only a reconcile's first call is refused: nothing was sent
            raise
        except BaseException:  # an update is several calls: a failure may follow a change
            self.observer.invalidate(resource.external_name)
            raise
        self.observer.invalidate(resource.external_name)
        return recorded

    async def _update(
        self, resource: ManagedResource, observation: Observation, recorded: dict[str, Any]
    ) -> None:
        spec: InferenceServiceSpec = resource.spec
        name = resource.external_name
        if any(d.path not in (STOPPED, AUTOSCALING) for d in observation.drift):
            patch = desired_config(spec, name, resource.secret_values)
            patch.pop("name", None)
            if eas_of(spec).autoscaling is not None:
                patch.get("metadata", {}).pop("instance", None)
            await self.client.update_service(name, patch)
        if spec.stopped and not observation.stopped and observation.phase != "Stopping":
            await self.client.stop_service(name)
        elif not spec.stopped and observation.phase == "Stopped":
            await self.client.start_service(name)
        autoscaling = eas_of(spec).autoscaling
        applied = autoscaling_fingerprint(autoscaling)
        if autoscaling is not None and applied != resource.status.get("appliedAutoscaling"):
            await self.client.update_autoscaler(name, *autoscaler_request(autoscaling))
            recorded["appliedAutoscaling"] = applied

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None:
        try:
            with contextlib.suppress(NotFound):  # already gone is what we wanted
                await self.client.delete_service(resource.external_name)
        except CloudError as exc:
            if _may_have_acted(exc):
                self.observer.invalidate(resource.external_name)
            raise
        self.observer.invalidate(resource.external_name)

    def gone(self, observation: Observation) -> bool:
        return not observation.exists
