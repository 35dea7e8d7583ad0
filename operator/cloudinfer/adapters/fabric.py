"""ServiceInstance on Huawei DataArts Fabric: server-named by the instance `id`.

The owner marker is a suffix of the instance's description, `[cloudinfer-uid: <uid> ns:
<namespace>]`: the description is the only free text an instance has, ListServicesInstances
returns it, and its charset refuses `=` (so no `key=value`) but takes brackets and colons.
It costs the user at most 128 of the description's 1,024 characters (the spec allows 896).
After a lost deploy answer the reconciler asks `find_owned`, which looks for it in a
listing of the workspace.

The capacity rule of an inference endpoint (the `max` of its instances summed may not
exceed the endpoint's `reserved_resource.mu.max`) is checked before DeployService and
before an update that raises `max`: the endpoint is read (ShowEndpoint, kept ENDPOINT_TTL
seconds: a burst of deploys onto one endpoint reads it twice a minute, not once per deploy,
and the cloud's own refusal drops the copy); the instances on it
come from the account's snapshot (plus our deploys since), and each one's `max` from what we
sent or last read, read again only for an instance someone else changed since (the listing
has no resources). A check between two listings can miss another's deploy: the cloud's own
refusal then gives the same answer. A refusal is
`EndpointCapacityExceeded` with the numbers, a wait that is checked again until the others
shrink or go, and so is the cloud's own refusal: at once when one of ours on the endpoint is
deleted or shrinks (the adapter wakes whoever waits there), else at the reconciler's capped
interval.

ListServicesInstances has neither the resources nor the address: the batch snapshot gives
status, name and description; ShowServiceInstanceDetail (one call) is asked once an
instance settles after a change (its `update_time` moved since it was last seen in line),
when the spec changed since, or when no address is on record; not when the snapshot's copy
is itself the observer's Show of the instance (it polls changing instances that way), which
says as much."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Hashable
from typing import Any

from cloudinfer.adapters.base import (
    ABSENT,
    CallContext,
    Drift,
    Identity,
    Lookup,
    ManagedResource,
    Observation,
)
from cloudinfer.adapters.drift import digest, seen_in_line
from cloudinfer.api.serviceinstance import ServiceInstanceSpec
from cloudinfer.clouds.errors import Invalid, NotFound, Waiting
from cloudinfer.clouds.huawei.fabric import (
    EndpointCapacityExceeded,
    FabricClient,
    FabricEndpoint,
    ServiceInstance,
)
from cloudinfer.observer.batch import BatchObserver

PHASES = {
    "PENDING": "Pending",
    "CREATING": "Creating",
    "RUNNING": "Running",
    "UPDATING": "Updating",
    "FAILED": "Failed",
    "STOPPING": "Stopping",
    "STOPPED": "Stopped",
    "DELETING": "Deleting",
}
TRANSITIONAL = {"Pending", "Creating", "Updating", "Stopping", "Deleting"}
GONE = "DELETED"  # an instance in this state is gone: the next listing drops it
# Instances whose `max` no longer counts against their endpoint's capacity.
FREES_CAPACITY = frozenset({"DELETING", "DELETED", "FAILED"})
APPLIED = "appliedConfig"
# How long an endpoint's maximum, as read, is used for capacity checks (seconds).
ENDPOINT_TTL = 30.0
MARKER = re.compile(r"\s*\[cloudinfer-uid: ([0-9a-fA-F-]{1,64}) ns: ([a-z0-9-]{1,63})\]$")


class EndpointNotFound(Waiting):
    reason = "EndpointNotFound"


def spec_of(resource: ManagedResource) -> ServiceInstanceSpec:
    spec: ServiceInstanceSpec = resource.spec
    return spec


def external_name(spec: ServiceInstanceSpec, metadata_name: str) -> str:
    """Fabric names: 1-64 letters, digits, `-_.` and spaces; metadata names fit but for
    length."""
    return spec.name or metadata_name[:64]


def marker(resource: ManagedResource) -> str:
    return f"[cloudinfer-uid: {resource.uid} ns: {resource.namespace}]"


def owner_of(description: str) -> tuple[str | None, str | None]:
    found = MARKER.search(description or "")
    return (found.group(1), found.group(2)) if found else (None, None)


def user_description(description: str) -> str:
    """The description without our marker."""
    return MARKER.sub("", description or "")


def desired_description(resource: ManagedResource) -> str:
    own = spec_of(resource).description or ""
    return f"{own} {marker(resource)}" if own else marker(resource)


def workspace_of(resource: ManagedResource, ctx: CallContext) -> str:
    workspace = spec_of(resource).workspace_id or ctx.workspace_id
    if not workspace:
        raise Invalid(
            "no DataArts Fabric workspace: set spec.workspaceId or the provider config's "
            "workspaceId",
            code="WorkspaceMissing",
        )
    return workspace


def deploy_body(resource: ManagedResource) -> dict[str, Any]:
    spec = spec_of(resource)
    if spec.source is None or spec.resource is None or spec.endpoint_id is None:
        raise Invalid("endpointId, source and resource are required", code="InvalidSpec")
    source: dict[str, Any] = {"id": spec.source.id}
    if spec.source.version_id:
        source["version_id"] = spec.source.version_id
    return {
        "source": source,
        "name": resource.external_name,
        "description": desired_description(resource),
        "endpoint_id": spec.endpoint_id,
        "config": {
            "model_instance_config": {
                "resource": {
                    "min": spec.resource.min,
                    "max": spec.resource.max,
                    "spec_code": spec.resource.spec_code,
                }
            }
        },
    }


def applied_fingerprint(resource: ManagedResource) -> str:
    """What the spec asks of the instance's changeable settings, in 16 hex digits."""
    spec = spec_of(resource)
    wanted = {
        "name": resource.external_name,
        "description": desired_description(resource),
        "max": spec.resource.max if spec.resource else None,
    }
    return digest(wanted)


def applied_record(resource: ManagedResource, instance: ServiceInstance | None) -> str:
    """`appliedConfig`: the spec's digest (nothing under Observe) @ the instance's
    `update_time` when it was seen in line (empty right after our own update)."""
    stamp = instance.update_time if instance is not None else None
    return seen_in_line(resource, applied_fingerprint(resource), stamp)


def drift_of(resource: ManagedResource, instance: ServiceInstance) -> list[Drift]:
    """Where a shown instance differs from what can be changed on it."""
    spec = spec_of(resource)
    drift: list[Drift] = []
    if instance.name != resource.external_name:
        drift.append(Drift("name", instance.name, resource.external_name))
    if instance.description != desired_description(resource):
        drift.append(Drift("description", instance.description, desired_description(resource)))
    if spec.resource is not None and instance.resource_max != spec.resource.max:
        drift.append(Drift("resource.max", instance.resource_max, spec.resource.max))
    return drift


def addresses(instance: ServiceInstance) -> dict[str, str]:
    """Its addresses by visibility: `public` and `private`."""
    found: dict[str, str] = {}
    for url in instance.urls:
        kind = "public" if url.type.upper() == "PUBLIC" else "private"
        if url.address:
            found.setdefault(kind, url.address)
    return found


def observation_of(
    instance: ServiceInstance, resource: ManagedResource, shown: bool
) -> Observation:
    """An instance → the common observation. `shown`: ShowServiceInstanceDetail's answer
    (resources and addresses included), else a listed item."""
    phase = PHASES.get(instance.status, "Unknown")
    drift = drift_of(resource, instance) if shown and resource.manage else []
    # A listed item has no addresses: those last read stay.
    endpoints = addresses(instance) if shown else dict(resource.status.get("endpoints") or {})
    url = endpoints.get("public") or endpoints.get("private")
    message = ""
    if phase == "Failed":
        code = f"{instance.error_code}: " if instance.error_code else ""
        message = f"{code}{instance.error_msg or 'the instance failed'}"
    elif phase == "Unknown":
        message = f"cloud status {instance.status}"
    owner_uid, owner_namespace = owner_of(instance.description)
    recorded: dict[str, Any] = {}
    if shown and not drift:
        recorded[APPLIED] = applied_record(resource, instance)
    if shown:
        instances: dict[str, int] | None = {
            "min": instance.resource_min or 0,
            "max": instance.resource_max or 0,
        }
    else:
        instances = resource.status.get("instances")
    return Observation(
        exists=True,
        owner_uid=owner_uid,
        owner_namespace=owner_namespace,
        drift=tuple(drift),
        phase=phase,
        cloud_status=instance.status,
        transitional=phase in TRANSITIONAL,
        failed=phase == "Failed",
        deleting=phase == "Deleting",
        stopped=phase == "Stopped",
        progress=100 if phase == "Running" else (0 if phase == "Failed" else None),
        external_id=instance.id,
        endpoints=endpoints,
        endpoint=url,
        instances=instances,
        message=message,
        connection={k: v for k, v in (("url", url or ""), ("instanceId", instance.id)) if v},
        recorded=recorded,
    )


def fingerprint(instance: ServiceInstance) -> object:
    return (instance.status, instance.update_time, instance.name, instance.description)


def transition(instance: ServiceInstance) -> str | None:
    phase = PHASES.get(instance.status, "Unknown")
    return phase if phase in TRANSITIONAL else None


class FabricServiceInstanceAdapter:
    """Server-named: the identity is the `id` DeployServiceInstance returns."""

    identity: Identity = "server-named"

    def __init__(
        self,
        client: FabricClient,
        observer: BatchObserver[ServiceInstance, Any],
        workspace: str,
    ) -> None:
        """`workspace`: the one the observer lists (empty: none is listed)."""
        self.client, self.observer, self.workspace = client, observer, workspace
        # Each instance's `max` as last known: (its update_time when read, or None when we
        # set it ourselves, max). A capacity check reads again (ShowServiceInstanceDetail)
        # only instances changed by someone else since.
        self._max_of: dict[str, tuple[str | None, int]] = {}
        # Per endpoint, our deploys no listing has shown yet: id → max.
        self._placed: dict[str, dict[str, int]] = {}
        # Per endpoint, the resources (runtime keys) waiting for room on it: woken when one
        # of ours on it shrinks or goes, instead of at their next timed check.
        self._waiting: dict[str, set[Hashable]] = {}
        # Endpoints as last read: (workspace, endpoint id) → (when, endpoint).
        self._endpoints: dict[tuple[str, str], tuple[float, FabricEndpoint]] = {}
        # The snapshot's instances by endpoint, built once per listing.
        self._by_endpoint: tuple[float | None, dict[str, list[ServiceInstance]]] = (None, {})

    def external_name(self, spec: Any, metadata_name: str) -> str:
        return external_name(spec, metadata_name)

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        instance_id = resource.external_id
        if not instance_id:
            return ABSENT
        workspace = workspace_of(resource, ctx)
        listed: ServiceInstance | None = None
        if not fresh and workspace == self.workspace:
            self.observer.check_fresh()
            if self.observer.knows(instance_id):
                listed = self.observer.get(instance_id)
                if listed is None and resource.manage:
                    return ABSENT
        if listed is not None and listed.status == GONE:
            return ABSENT
        if listed is not None and listed.resource_max is not None:
            # The observer's own Show of it (while it was changing), not a listed item: as
            # good as asking again, and no call.
            return self._shown(listed, resource)
        if listed is not None and not self._needs_show(resource, listed):
            return observation_of(listed, resource, shown=False)
        try:
            shown = await self.client.show_instance(workspace, instance_id)
        except NotFound:
            return ABSENT
        if shown.status == GONE:
            return ABSENT
        return self._shown(shown, resource)

    def _shown(self, shown: ServiceInstance, resource: ManagedResource) -> Observation:
        if not shown.transitional:
            self._max_of[shown.id] = (shown.update_time, shown.resource_max or 0)
        return observation_of(shown, resource, shown=True)

    @staticmethod
    def _needs_show(resource: ManagedResource, listed: ServiceInstance) -> bool:
        if transition(listed) is not None:
            return False  # mid-change: the listing's status is all there is to say
        if resource.status.get(APPLIED) != applied_record(resource, listed):
            return True  # changed since last seen in line (by the spec, or on the cloud)
        return PHASES.get(listed.status) == "Running" and not resource.status.get("url")

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        workspace = workspace_of(resource, ctx)
        spec = spec_of(resource)
        instances, _ = await self.client.list_all_instances(workspace, endpoint_id=spec.endpoint_id)
        for instance in instances:
            if instance.status != GONE and owner_of(instance.description)[0] == resource.uid:
                return Lookup(found=instance.id, authoritative=True)
        return Lookup(authoritative=True)

    async def _check_capacity(
        self, resource: ManagedResource, workspace: str, requested: int
    ) -> None:
        """Refuse (a wait) when `requested` plus the other instances' `max` on the endpoint
        would exceed its maximum."""
        endpoint_id = spec_of(resource).endpoint_id or ""
        try:
            endpoint = await self._endpoint(workspace, endpoint_id)
        except NotFound:
            raise EndpointNotFound(
                f'inference endpoint "{endpoint_id}" not found in workspace "{workspace}"',
                code="EndpointNotFound",
            ) from None
        if endpoint.type != "inference":
            raise Invalid(
                f'endpoint "{endpoint_id}" is of type {endpoint.type}, not inference',
                code="EndpointNotInference",
            )
        limit = endpoint.mu_max
        if limit is None:
            return  # no maximum to respect
        others = await self._instances_on(workspace, endpoint_id)
        seen = {other.id for other in others}
        in_use = 0
        for other in others:
            if other.id == resource.external_id or other.status in FREES_CAPACITY:
                continue
            if owner_of(other.description)[0] == resource.uid:
                continue  # our own, from a create whose answer was lost
            in_use += await self._max_of_instance(workspace, other)
        placed = self._placed.setdefault(endpoint_id, {})
        for instance_id in seen & placed.keys():
            del placed[instance_id]  # listed now: counted above
        in_use += sum(m for i, m in placed.items() if i != resource.external_id)
        waiting = self._waiting.setdefault(endpoint_id, set())
        waiting.discard(resource.key)
        if in_use + requested > limit:
            waiting.add(resource.key)
            raise EndpointCapacityExceeded(
                f'endpoint "{endpoint_id}" has room for {limit - in_use} of its {limit} '
                f"units: this instance asks for max {requested}, other instances hold "
                f"{in_use}; shrink or remove them, or lower spec.resource.max",
                code="EndpointCapacityExceeded",  # ours; the cloud's is common.01000030
            )

    async def _endpoint(self, workspace: str, endpoint_id: str) -> FabricEndpoint:
        """The endpoint as read at most ENDPOINT_TTL seconds ago: its type and maximum
        change rarely (a resize in the console), and a check on a stale maximum is caught by
        the cloud's own refusal, which drops the copy."""
        key = (workspace, endpoint_id)
        now = time.monotonic()
        cached = self._endpoints.get(key)
        if cached is not None and now - cached[0] < ENDPOINT_TTL:
            return cached[1]
        endpoint = await self.client.show_endpoint(workspace, endpoint_id)
        self._endpoints[key] = (now, endpoint)
        return endpoint

    async def _instances_on(self, workspace: str, endpoint_id: str) -> list[ServiceInstance]:
        """The instances on an endpoint: from the account's snapshot when it lists this
        workspace (a deploy between two listings is counted from `_placed`; the cloud's
        own check stays the last word), else from a listing of the endpoint."""
        if workspace != self.workspace or not self.observer.ready:
            found, _ = await self.client.list_all_instances(workspace, endpoint_id=endpoint_id)
            return found
        listed_at, index = self._by_endpoint
        if listed_at != self.observer.listed_at:
            index = {}
            for item in self.observer.snapshot.values():
                index.setdefault(item.endpoint_id, []).append(item)
            self._by_endpoint = (self.observer.listed_at, index)
        return index.get(endpoint_id, [])

    def _room_freed(self, endpoint_id: str | None) -> None:
        """One of ours on this endpoint shrank or is going: wake whoever waits for room."""
        for waiter in self._waiting.pop(endpoint_id or "", set()):
            self.observer.tell(waiter)

    async def _max_of_instance(self, workspace: str, instance: ServiceInstance) -> int:
        known = self._max_of.get(instance.id)
        if known is not None and known[0] in (None, instance.update_time):
            return known[1]
        try:
            shown = await self.client.show_instance(workspace, instance.id)
        except NotFound:
            return 0
        if shown.status in FREES_CAPACITY:
            return 0
        self._max_of[shown.id] = (shown.update_time, shown.resource_max or 0)
        return shown.resource_max or 0

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        workspace = workspace_of(resource, ctx)
        body = deploy_body(resource)
        requested = body["config"]["model_instance_config"]["resource"]["max"]
        await self._check_capacity(resource, workspace, requested)
        try:
            instance_id = await self.client.deploy_instance(workspace, body)
        except EndpointCapacityExceeded:
            self._endpoints.pop((workspace, body["endpoint_id"]), None)  # read it anew
            raise
        self._max_of[instance_id] = (None, requested)
        self._placed.setdefault(body["endpoint_id"], {})[instance_id] = requested
        self.observer.invalidate(instance_id, created=True)
        return instance_id

    async def claim(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> None:
        workspace = workspace_of(resource, ctx)
        try:
            await self.client.update_instance(
                workspace, resource.external_id, description=desired_description(resource)
            )
        finally:
            self.observer.invalidate(resource.external_id)

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        workspace = workspace_of(resource, ctx)
        spec = spec_of(resource)
        changed = {d.path for d in observation.drift}
        if not changed:
            return {}
        if spec.resource is not None and "resource.max" in changed:
            now = int((observation.instances or {}).get("max", 0))
            if spec.resource.max > now:
                await self._check_capacity(resource, workspace, spec.resource.max)
        try:
            await self.client.update_instance(
                workspace,
                resource.external_id,
                name=resource.external_name if "name" in changed else None,
                description=desired_description(resource),
                resource_min=spec.resource.min if spec.resource else None,
                resource_max=spec.resource.max if spec.resource else None,
            )
        except EndpointCapacityExceeded:
            self._endpoints.pop((workspace, spec.endpoint_id or ""), None)  # read it anew
            raise
        finally:
            self.observer.invalidate(resource.external_id)
        if spec.resource is not None:  # sent: what the next capacity check counts
            before = int((observation.instances or {}).get("max", 0))
            self._max_of[resource.external_id] = (None, spec.resource.max)
            if spec.resource.max < before:
                self._room_freed(spec.endpoint_id)
        return {APPLIED: applied_record(resource, None)}

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None:
        if not resource.external_id:
            return
        workspace = workspace_of(resource, ctx)
        self._max_of.pop(resource.external_id, None)
        for placed in self._placed.values():
            placed.pop(resource.external_id, None)
        try:
            with contextlib.suppress(NotFound):
                await self.client.delete_instance(workspace, resource.external_id)
        finally:
            self.observer.invalidate(resource.external_id)
        self._room_freed(spec_of(resource).endpoint_id)  # a deleting instance holds nothing

    def gone(self, observation: Observation) -> bool:
        return not observation.exists
