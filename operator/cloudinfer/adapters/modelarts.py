"""InferenceService on Huawei Cloud ModelArts (API v1): server-named by `service_id`.

The owner marker lives in the service's `additional_properties` (keys `cloudinfer-uid` and
`cloudinfer-resource`): ModelArts documents them as attributes for the user's own
management, ListServices returns them, and unlike the description (at most 100 characters,
most punctuation refused) they cost the user nothing. After a lost create answer the
reconciler asks `find_owned`, which looks for that marker in a full listing.

ListServices has neither the models (`config`) nor the access address: the batch snapshot
gives status and progress; ShowService (one call) is asked once a service settles into a new
status (its models and their instances to read), when the spec changed since the last update
we sent, when the service has no address on record yet, or when the reconciler wants the
cloud's own word (`fresh`). Mid-change (deploying, stopping, ...) the listing is enough, and
ModelArts refuses updates then anyway.

The service's events (ShowServiceEvents) are read at each change of its status, one call,
and those newer than `status.cloudEventsSeen` are posted as Kubernetes Events."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from cloudinfer.adapters.base import (
    ABSENT,
    CallContext,
    CloudEvent,
    Drift,
    Identity,
    Lookup,
    ManagedResource,
    Observation,
    owner_labels,
    owner_of,
)
from cloudinfer.adapters.drift import compare, digest, seen_in_line
from cloudinfer.api.inferenceservice import InferenceServiceSpec
from cloudinfer.api.modelarts import ModelArtsSpec
from cloudinfer.clouds.errors import CloudError, NotFound
from cloudinfer.clouds.huawei.modelarts import ModelArtsClient, ModelArtsService
from cloudinfer.clouds.huawei.modelarts.models import ServiceEvent
from cloudinfer.observer.batch import BatchObserver

log = logging.getLogger(__name__)

# ModelArts status → the common phase. `deploying` is Creating until the service has run.
PHASES = {
    "pending": "Pending",
    "waiting": "Pending",
    "deploying": "Creating",
    "running": "Running",
    "concerning": "Running",
    "stopping": "Stopping",
    "stopped": "Stopped",
    "finished": "Stopped",
    "failed": "Failed",
    "deleting": "Deleting",
}
STARTING = frozenset({"deploying", "notReady"})  # a model's instances on their way up
TRANSITIONAL = {"Pending", "Creating", "Updating", "Stopping", "Deleting"}
STOPPED = "stopped"  # a drift path that is not service config
DEFAULT_WORKSPACE = "0"  # ModelArts' default workspace id
# Status field: the spec's configuration digest and the service's change stamp when it was
# last seen (or sent) in place; the listing's stamp moving on asks for a new look.
APPLIED = "appliedConfig"
EVENTS_SEEN = "cloudEventsSeen"  # status field: the newest cloud event posted (epoch ms)
EVENT_WINDOW = 20  # newest cloud events read at a status change; older ones are history
# A first look at these asks for events too (for others the create's own Event says enough).
NEWS_AT_FIRST_SIGHT = frozenset({"failed", "concerning"})


def modelarts_of(spec: InferenceServiceSpec) -> ModelArtsSpec:
    """The ModelArts block: the runtime hands this adapter only specs that select it."""
    if spec.modelarts is None:
        raise ValueError("not a ModelArts InferenceService: spec.modelarts is not set")
    return spec.modelarts


def external_name(spec: InferenceServiceSpec, metadata_name: str) -> str:
    """ModelArts names: letters, digits, `-` and `_`, at most 64."""
    return spec.service_name or metadata_name.replace(".", "-")[:64]


def model_envs(spec: ModelArtsSpec, index: int, secret_values: Mapping[str, str]) -> dict[str, str]:
    """A model's envs as ModelArts takes them (a map); `valueFrom` from `secret_values` by
    the path of the reference (left out while it has no value: only while deleting)."""
    envs: dict[str, str] = {}
    for j, var in enumerate(spec.models[index].envs):
        if var.value_from is None:
            envs[var.name] = var.value or ""
            continue
        path = f"spec.modelarts.models[{index}].envs[{j}].valueFrom.secretKeyRef"
        if path in secret_values:
            envs[var.name] = secret_values[path]
    return envs


def desired_models(
    spec: ModelArtsSpec, secret_values: Mapping[str, str], ctx_cluster: str | None = None
) -> list[dict[str, Any]]:
    """The `config` items the spec asks for."""
    items = []
    for i, model in enumerate(spec.models):
        item: dict[str, Any] = {
            "model_id": model.model_id,
            "specification": model.specification or "custom",
            "instance_count": model.instance_count,
            "weight": model.weight,
            "envs": model_envs(spec, i, secret_values),
        }
        if model.custom_spec is not None:
            item["custom_spec"] = model.custom_spec.model_dump(exclude_none=True)
        if spec.cluster_id or ctx_cluster:
            item["cluster_id"] = spec.cluster_id or ctx_cluster
        if spec.pool_name:
            item["pool_name"] = spec.pool_name
        items.append(item)
    return items


def desired_schedule(spec: ModelArtsSpec) -> list[dict[str, Any]]:
    if spec.schedule is None:
        return []
    return [
        {"type": "stop", "time_unit": spec.schedule.time_unit, "duration": spec.schedule.duration}
    ]


def desired_properties(resource: ManagedResource) -> dict[str, Any]:
    spec = modelarts_of(resource.spec)
    marker = owner_labels(resource.namespace, resource.name, resource.uid)
    return {**(spec.additional_properties or {}), **marker}


def create_body(resource: ManagedResource, ctx: CallContext) -> dict[str, Any]:
    """CreateService's body."""
    spec = modelarts_of(resource.spec)
    body: dict[str, Any] = {
        "service_name": resource.external_name,
        "infer_type": spec.infer_type,
        "config": desired_models(spec, resource.secret_values),
        "additional_properties": desired_properties(resource),
    }
    if spec.description is not None:
        body["description"] = spec.description
    workspace = spec.workspace_id or ctx.workspace_id
    if workspace:
        body["workspace_id"] = workspace
    if spec.cluster_id:
        body["cluster_id"] = spec.cluster_id
    if spec.pool_name:
        body["pool_name"] = spec.pool_name
    schedule = desired_schedule(spec)
    if schedule:
        body["schedule"] = schedule
    return body


def applied_fingerprint(resource: ManagedResource) -> str:
    """What the configuration the spec asks for is, in 16 hex digits (no values: env values
    may be secrets, and a digest of them is recorded in status)."""
    spec = modelarts_of(resource.spec)
    wanted = {
        "config": desired_models(spec, resource.secret_values),
        "description": spec.description,
        "schedule": desired_schedule(spec),
        "additional_properties": desired_properties(resource),
    }
    return digest(wanted)


def change_stamp(service: ModelArtsService) -> int:
    """When the service last changed status or was last operated on (updated, stopped,
    started, by anyone): both stamps are in ListServices items and in ShowService."""
    return max(service.transition_at or 0, service.operation_time or 0)


def applied_record(resource: ManagedResource, service: ModelArtsService | None) -> str:
    """`appliedConfig`: what the spec asks for (nothing under Observe) @ the service's
    change stamp (empty right after our own update: its stamp is not known yet)."""
    stamp = change_stamp(service) if service is not None else None
    return seen_in_line(resource, applied_fingerprint(resource), stamp)


def _config_view(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Config items keyed by position, so drift names `config.1.weight`, not a whole list."""
    return {str(i): item for i, item in enumerate(items)}


def actual_models(service: ModelArtsService) -> list[dict[str, Any]]:
    return [
        {
            "model_id": c.model_id,
            "specification": c.specification,
            "instance_count": c.instance_count,
            "weight": c.weight,
            "envs": dict(c.envs),
            **({"custom_spec": c.custom_spec.to_api()} if c.custom_spec else {}),
            **({"cluster_id": c.cluster_id} if c.cluster_id else {}),
            **({"pool_name": c.pool_name} if c.pool_name else {}),
        }
        for c in service.config
    ]


def config_drift(resource: ManagedResource, service: ModelArtsService) -> list[Drift]:
    """Where the service's models, description, schedule and properties differ from the
    spec (ShowService's answer: ListServices has no models)."""
    spec = modelarts_of(resource.spec)
    want = desired_models(spec, resource.secret_values)
    have = actual_models(service)
    drift = [
        Drift(f"config.{d.path}", d.have, d.want)
        for d in compare(_config_view(want), _config_view(have))
    ]
    if len(have) > len(want):
        drift.append(Drift("config", len(have), len(want)))
    if spec.description is not None and service.description != spec.description:
        drift.append(Drift("description", service.description, spec.description))
    schedule = desired_schedule(spec)
    if (
        schedule
        and [{k: s.get(k) for k in ("type", "time_unit", "duration")} for s in service.schedule]
        != schedule
    ):
        drift.append(Drift("schedule", service.schedule, schedule))
    drift += [
        Drift(f"additional_properties.{d.path}", d.have, d.want)
        for d in compare(desired_properties(resource), service.additional_properties)
    ]
    return drift


def observation_of(
    service: ModelArtsService, resource: ManagedResource, shown: bool
) -> Observation:
    """A ModelArts service → the common observation. `shown`: `service` is ShowService's
    answer (models and address included), else a ListServices item."""
    spec: InferenceServiceSpec = resource.spec
    phase = PHASES.get(service.status, "Unknown")
    if phase == "Creating" and resource.status.get("phase") in ("Running", "Updating"):
        phase = "Updating"  # redeploying a new configuration
    manage = spec.management_policy == "Manage"
    drift: list[Drift] = config_drift(resource, service) if shown and manage else []
    stopped_now = phase in ("Stopped", "Stopping")
    if manage and spec.stopped != stopped_now and phase not in ("Failed", "Deleting"):
        drift.append(Drift(STOPPED, stopped_now, spec.stopped))
    address = service.access_address or ("" if shown else str(resource.status.get("url") or ""))
    if phase == "Failed":
        progress: int | None = 0
    elif service.progress is not None:
        progress = service.progress
    else:
        progress = 100 if phase == "Running" else None
    message = service.error_msg
    if service.status == "concerning":
        message = message or "some instances are not healthy (ModelArts: concerning)"
    owner_uid, owner_namespace = owner_of(service.additional_properties)
    # Shown and in line with the spec (or observed): what is in place is recorded, so the
    # next look needs no ShowService until the spec or the service changes again.
    in_line = shown and not [d for d in drift if d.path != STOPPED]
    recorded: dict[str, Any] = {APPLIED: applied_record(resource, service)} if in_line else {}
    # A listed item has no models: the counts last read stay (None would erase them).
    instances = None if shown else resource.status.get("instances")
    if service.config:
        instances = {
            "total": service.instance_count,
            "running": sum(c.instance_count for c in service.config if c.status == "running"),
            "pending": sum(c.instance_count for c in service.config if c.status in STARTING),
        }
        recorded["models"] = [
            {
                "modelId": c.model_id,
                "status": c.status or None,
                "instanceCount": c.instance_count,
                "weight": c.weight,
            }
            for c in service.config
        ]
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
        endpoints={"internet": address} if address else {},
        endpoint=address or None,
        instances=instances,
        message=message,
        connection={k: v for k, v in (("url", address), ("serviceId", service.service_id)) if v},
        recorded=recorded,
    )


def wants_events(resource: ManagedResource, status: str) -> bool:
    """Whether to read the service's events: at each change of its status (one call per
    change, none at rest)."""
    seen = resource.status.get("cloudStatus")
    if seen == status:
        return False
    return seen is not None or status in NEWS_AT_FIRST_SIGHT


def unseen_events(
    resource: ManagedResource, page: list[ServiceEvent]
) -> tuple[tuple[CloudEvent, ...], dict[str, Any]]:
    """The events of `page` newer than the newest posted, oldest first, and the record of
    having seen them."""
    seen = resource.status.get(EVENTS_SEEN)
    since = seen if isinstance(seen, int) else -1
    fresh = sorted((e for e in page if e.occur_time > since), key=lambda e: e.occur_time)
    if not fresh:
        return (), {}
    events = tuple(CloudEvent(e.abnormal, e.event_info, e.occur_time) for e in fresh)
    return events, {EVENTS_SEEN: fresh[-1].occur_time}


def fingerprint(service: ModelArtsService) -> object:
    return (
        service.status,
        service.progress,
        service.error_msg,
        service.update_time,
        service.transition_at,
        service.operation_time,
        tuple(sorted(service.additional_properties.items())),
    )


def transition(service: ModelArtsService) -> str | None:
    phase = PHASES.get(service.status, "Unknown")
    return phase if phase in TRANSITIONAL else None


class ModelArtsInferenceServiceAdapter:
    """Server-named: the identity is the `service_id` CreateService returns."""

    identity: Identity = "server-named"

    def __init__(
        self,
        client: ModelArtsClient,
        observer: BatchObserver[ModelArtsService, Any],
        workspace: str = DEFAULT_WORKSPACE,
    ) -> None:
        """`workspace`: the one the observer lists (ListServices covers one workspace)."""
        self.client, self.observer, self.workspace = client, observer, workspace

    def _workspace_of(self, resource: ManagedResource, ctx: CallContext) -> str:
        return modelarts_of(resource.spec).workspace_id or ctx.workspace_id or DEFAULT_WORKSPACE

    def external_name(self, spec: Any, metadata_name: str) -> str:
        return external_name(spec, metadata_name)

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        service_id = resource.external_id
        if not service_id:
            return ABSENT  # nothing recorded: the reconciler creates, or looks up a lost one
        listed: ModelArtsService | None = None
        # The listing covers one workspace: absent from it proves nothing about another.
        if not fresh and self._workspace_of(resource, ctx) == self.workspace:
            self.observer.check_fresh()
            if self.observer.knows(service_id):
                listed = self.observer.get(service_id)
                if listed is None and resource.manage:
                    return ABSENT
        if listed is not None and not self._needs_show(resource, listed):
            return await self._with_events(resource, observation_of(listed, resource, False))
        try:
            shown = await self.client.show_service(service_id)
        except NotFound:
            return ABSENT
        return await self._with_events(resource, observation_of(shown, resource, shown=True))

    async def _with_events(self, resource: ManagedResource, obs: Observation) -> Observation:
        """`obs` with the service's events not posted yet, when its status changed."""
        if not wants_events(resource, obs.cloud_status):
            return obs
        try:
            page = await self.client.show_service_events(
                obs.external_id, limit=EVENT_WINDOW, sort_by="occur_time", order="desc"
            )
        except CloudError as exc:  # events are a courtesy: the next change reads them
            log.info("events of ModelArts service %s not read: %s", obs.external_id, exc)
            return obs
        events, seen = unseen_events(resource, page.events)
        return dataclasses.replace(obs, cloud_events=events, recorded={**obs.recorded, **seen})

    @staticmethod
    def _needs_show(resource: ManagedResource, listed: ModelArtsService) -> bool:
        if transition(listed) is not None:
            # Mid-change the listing's status and progress are all there is to say, and
            # ModelArts refuses updates until it settles: compare with the spec then.
            return False
        if resource.status.get(APPLIED) != applied_record(resource, listed):
            # The spec changed since the service was last seen in line, or the service
            # settled anew since (a status change, an update by anyone): its models, their
            # states and its address to read, and drift to find.
            return True
        running = PHASES.get(listed.status) == "Running"
        return running and not resource.status.get("url")

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        # A refused listing raises: the reconciler reports its cause (credentials, ...).
        services, _ = await self.client.list_all_services(
            workspace_id=self._workspace_of(resource, ctx)
        )
        for service in services:
            if owner_of(service.additional_properties)[0] == resource.uid:
                return Lookup(found=service.service_id, authoritative=True)
        return Lookup(authoritative=True)

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        # A create whose answer is lost is found again by its owner marker (find_owned);
        # there is no id to follow until then.
        service_id = await self.client.create_service(create_body(resource, ctx))
        self.observer.invalidate(service_id, created=True)
        return service_id

    async def claim(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> None:
        try:
            await self.client.update_service_config(
                resource.external_id, additional_properties=desired_properties(resource)
            )
        finally:
            self.observer.invalidate(resource.external_id)

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        spec: InferenceServiceSpec = resource.spec
        service_id = resource.external_id
        recorded: dict[str, Any] = {}
        try:
            if any(d.path != STOPPED for d in observation.drift):
                ma = modelarts_of(spec)
                await self.client.update_service_config(
                    service_id,
                    config=desired_models(ma, resource.secret_values),
                    description=ma.description,
                    schedule=desired_schedule(ma) or None,
                    additional_properties=desired_properties(resource),
                )
                recorded[APPLIED] = applied_record(resource, None)
            # Config and status never in one call: ModelArts would apply only the status.
            if spec.stopped and not observation.stopped and observation.phase != "Stopping":
                await self.client.update_service_status(service_id, "stopped")
            elif not spec.stopped and observation.phase == "Stopped":
                await self.client.update_service_status(service_id, "running")
        finally:
            self.observer.invalidate(service_id)
        return recorded

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None:
        if not resource.external_id:
            return
        try:
            with contextlib.suppress(NotFound):
                await self.client.delete_service(resource.external_id)
        finally:
            self.observer.invalidate(resource.external_id)

    def gone(self, observation: Observation) -> bool:
        return not observation.exists
