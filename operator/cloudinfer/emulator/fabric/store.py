"""The emulated DataArts Fabric: each account's workspaces, their inference endpoints and the
service instances deployed on them, the operations on those, and the refusals.

Scope: every operation acts for one account in one workspace (the URL's `{workspace_id}`;
any id the caller names is a workspace of the caller's account, there is no workspace
registry) and sees only that scope's instances and endpoints; another account's or
workspace's object answers exactly as a missing one (404 common.01000001). Instance names
need not be unique (nothing documented says they must; ids are the identity).

The capacity rule (seed 001: "the total number of resources of all services under the same
endpoint must comply with the limits"; console: "cannot exceed the maximum number of
resources of the inference endpoint"): on deploy, and on an update that raises `max` (or
revives a FAILED instance), the sum of `resource.max` over the endpoint's instances that hold
resources (every status but DELETING, DELETED and FAILED; the instance being updated not
counted) plus the `max` requested must not exceed the endpoint's `reserved_resource.mu.max`;
otherwise 400 common.01000030 naming the numbers (errors.py). An update that lowers `max` or
leaves it, or only renames, is never refused by it, even when an admin has since lowered the
endpoint's maximum below what is in use.

Cost per request, with N instances in the store:
  * ListServicesInstances without filters is O(page) in create_time order (each scope keeps
    an ordered index); an `id` filter is one lookup; other filters scan the caller's scope;
  * the capacity check sums the endpoint's own instances (an index per endpoint);
  * time moves on only for the instances that are due (timeline.Timeline);
  * a mutation marks the state dirty (`on_change`); writing it is persist.StateFile's job.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from cloudinfer.emulator.config import FabricEndpoint
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.fabric.endpoint import INFERENCE, RUNNING, Endpoint
from cloudinfer.emulator.fabric.errors import (
    endpoint_not_found,
    instance_not_found,
    invalid,
    over_capacity,
)
from cloudinfer.emulator.fabric.listing import EndpointQuery, InstanceQuery, created_key
from cloudinfer.emulator.fabric.service import UPDATABLE, Instance
from cloudinfer.emulator.fabric.validation import RESOURCE, check_deploy, check_update
from cloudinfer.emulator.index import SortedIndex
from cloudinfer.emulator.timeline import Timeline

STATE_VERSION = 1
Scope = tuple[str, str]  # (account, workspace)
EndpointKey = tuple[str, str, str]  # (account, workspace, endpoint_id)
NEW_INSTANCE = "Deploy a new service instance to change it."


def _unchangeable(name: str, current: object, asked: object) -> Exception:
    return invalid(
        f"Invalid parameter [{name}]: it cannot be changed on an existing service instance "
        f"(it is {current}, the request asks for {asked}).",
        NEW_INSTANCE,
    )


class FabricStore:
    def __init__(
        self, timing: Timing | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.timing = timing or Timing()
        self.clock = clock
        self.on_change: Callable[[], None] = lambda: None  # set to persist the state
        self.advanced = 0  # Instance.advance calls: what tests count to bound the work
        self._instances: dict[str, Instance] = {}  # by id (ids are global)
        self._scopes: dict[Scope, SortedIndex[Instance]] = {}  # create_time order
        self._on_endpoint: dict[EndpointKey, dict[str, Instance]] = {}
        self._endpoints: dict[EndpointKey, Endpoint] = {}
        self._timeline: Timeline[Instance] = Timeline()

    # -- time ----------------------------------------------------------------------------

    def _advance(self, inst: Instance, now: float) -> None:
        self.advanced += 1
        inst.advance(now, self.timing)
        if inst.gone:
            self._forget(inst)

    def _advance_due(self) -> float:
        """Move on the instances whose status changes by now; no other status can have."""
        now = self.clock()
        for inst in self._timeline.due(now, lambda i: self._instances.get(i.instance_id) is i):
            self._advance(inst, now)
            if not inst.gone:
                self._timeline.schedule(inst)
            self.on_change()
        return now

    # -- the index -----------------------------------------------------------------------

    def _add(self, inst: Instance) -> None:
        self._instances[inst.instance_id] = inst
        scope = self._scopes.setdefault((inst.account, inst.workspace), SortedIndex())
        scope.add(created_key(inst), inst)
        key = (inst.account, inst.workspace, inst.endpoint_id)
        self._on_endpoint.setdefault(key, {})[inst.instance_id] = inst
        self._timeline.schedule(inst)

    def _forget(self, inst: Instance) -> None:
        if self._instances.get(inst.instance_id) is not inst:
            return
        del self._instances[inst.instance_id]
        scope_key = (inst.account, inst.workspace)
        scope = self._scopes[scope_key]
        scope.remove(created_key(inst))
        if not scope:
            del self._scopes[scope_key]
        key = (inst.account, inst.workspace, inst.endpoint_id)
        on_endpoint = self._on_endpoint[key]
        del on_endpoint[inst.instance_id]
        if not on_endpoint:
            del self._on_endpoint[key]
        self.on_change()

    def _changed(self, inst: Instance) -> Instance:
        """After an operation on `inst`: its next change is due at a new time, and the state
        needs writing."""
        self._timeline.schedule(inst)
        self.on_change()
        return inst

    def get(self, account: str, workspace: str, instance_id: str) -> Instance:
        """The scope's instance, up to date; 404 for a missing or someone else's."""
        now = self._advance_due()
        inst = self._instances.get(instance_id)
        if inst is None or inst.account != account or inst.workspace != workspace:
            raise instance_not_found(instance_id, workspace)
        self._advance(inst, now)
        if inst.gone:
            raise instance_not_found(instance_id, workspace)
        return inst

    # -- endpoints -----------------------------------------------------------------------

    def put_endpoint(
        self,
        account: str,
        workspace: str,
        endpoint_id: str,
        spec_code: str,
        max_: int,
        min_: int = 0,
        status: str = RUNNING,
        type_: str = INFERENCE,
        name: str | None = None,
    ) -> Endpoint:
        """Create or replace an endpoint (admin and `--fabric-endpoint`); the instances on it
        stay, whatever its new maximum."""
        now = self.clock()
        key = (account, workspace, endpoint_id)
        old = self._endpoints.get(key)
        ep = Endpoint(
            endpoint_id=endpoint_id,
            account=account,
            workspace=workspace,
            name=name or (old.name if old else endpoint_id),
            spec_code=spec_code,
            min=min_,
            max=max_,
            created=old.created if old else now,
            updated=now,
            type=type_,
            status=status,
        )
        self._endpoints[key] = ep
        self.on_change()
        return ep

    def seed(self, seed: FabricEndpoint) -> Endpoint:
        return self.put_endpoint(
            seed.account, seed.workspace, seed.endpoint_id, seed.spec_code, seed.max, seed.min
        )

    def endpoint(self, account: str, workspace: str, endpoint_id: str) -> Endpoint:
        ep = self._endpoints.get((account, workspace, endpoint_id))
        if ep is None:
            raise endpoint_not_found(endpoint_id, workspace)
        return ep

    def in_use(self, key: EndpointKey, other_than: str = "") -> int:
        """The `max` summed over the endpoint's instances that hold resources."""
        return sum(
            inst.max
            for inst in self._on_endpoint.get(key, {}).values()
            if inst.holds_capacity and inst.instance_id != other_than
        )

    def _check_capacity(self, ep: Endpoint, requested: int, other_than: str = "") -> None:
        in_use = self.in_use(ep.key, other_than)
        if in_use + requested > ep.max:
            raise over_capacity(ep.endpoint_id, in_use, requested, ep.max)

    def list_endpoints(
        self, account: str, workspace: str, query: EndpointQuery
    ) -> tuple[list[Endpoint], int]:
        """One page of the scope's endpoints, newest first, and how many match in all."""
        self._advance_due()  # model_id matches live instances
        mine = [
            ep
            for (acct, ws, _), ep in self._endpoints.items()
            if (acct, ws) == (account, workspace)
        ]
        mine.sort(key=lambda ep: (ep.created, ep.endpoint_id), reverse=True)
        matched = [ep for ep in mine if query.matches(ep, self._models(ep.key))]
        start = query.page.offset
        return matched[start : start + query.page.limit], len(matched)

    def _models(self, key: EndpointKey) -> set[str]:
        return {i.source_id for i in self._on_endpoint.get(key, {}).values()}

    # -- operations ----------------------------------------------------------------------

    def deploy(self, account: str, workspace: str, region: str, raw: Any) -> Instance:
        """DeployServiceInstance."""
        body = check_deploy(raw)
        now = self._advance_due()
        ep = self.endpoint(account, workspace, body.endpoint_id)
        if ep.type != INFERENCE:
            raise invalid(
                f"Invalid parameter [endpoint_id]: endpoint {ep.endpoint_id} is a {ep.type} "
                "endpoint; service instances are deployed on inference endpoints only."
            )
        if ep.status != RUNNING:
            raise invalid(
                f"Invalid parameter [endpoint_id]: endpoint {ep.endpoint_id} is {ep.status}; "
                "service instances are deployed on RUNNING endpoints only."
            )
        self._check_capacity(ep, body.max)
        inst = Instance(
            instance_id=str(uuid.uuid4()),
            name=body.name,
            description=body.description,
            account=account,
            workspace=workspace,
            region=region,
            endpoint_id=body.endpoint_id,
            source_id=body.source_id,
            version_id=body.version_id,
            spec_code=body.spec_code,
            min=body.min,
            max=body.max,
            created=now,
            updated=now,
            create_user=account,
            update_user=account,
        )
        inst.deploy(now, self.timing)
        self._add(inst)
        self.on_change()
        return inst

    def update(self, account: str, workspace: str, instance_id: str, raw: Any) -> Instance:
        """UpdateServiceInstance: name and description at once; a new `max` (or any `max` on
        a FAILED instance) scales the instance through UPDATING."""
        inst = self.get(account, workspace, instance_id)
        body = check_update(raw)
        if body.source_id is not None and body.source_id != inst.source_id:
            raise _unchangeable("source.id", inst.source_id, body.source_id)
        if body.version_id is not None and body.version_id != inst.version_id:
            raise _unchangeable("source.version_id", inst.version_id, body.version_id)
        if body.min is not None and body.min != inst.min:
            raise _unchangeable(f"{RESOURCE}.min", inst.min, body.min)
        if body.max is not None and body.max < inst.min:
            raise invalid(
                f"Invalid parameter [{RESOURCE}.max]: it must be greater than or equal to "
                f"{RESOURCE}.min ({body.max} < {inst.min})."
            )
        if inst.status not in UPDATABLE:
            raise invalid(
                f"Service instance {instance_id} is {inst.status}: it can be updated only "
                f"when it is one of {', '.join(UPDATABLE)}.",
                "Wait until the current operation finishes, then update it again.",
            )
        resize = body.max is not None and (body.max != inst.max or not inst.holds_capacity)
        if resize:
            assert body.max is not None
            if body.max > inst.max or not inst.holds_capacity:
                key = (account, workspace, inst.endpoint_id)
                ep = self.endpoint(*key)
                self._check_capacity(ep, body.max, other_than=instance_id)
        now = self.clock()
        if body.name is not None or body.description is not None:
            inst.rename(body.name, body.description, account, now)
        if resize:
            assert body.max is not None
            inst.resize(body.max, account, now, self.timing)
        return self._changed(inst)

    def delete(self, account: str, workspace: str, instance_id: str) -> Instance:
        """DeleteServiceInstance: DELETING, then gone; deleting again changes nothing."""
        inst = self.get(account, workspace, instance_id)
        if inst.status != "DELETING":
            inst.delete(self.clock(), self.timing)
            self._changed(inst)
        return inst

    def list_instances(
        self, account: str, workspace: str, query: InstanceQuery
    ) -> tuple[list[Instance], int]:
        """One page of the scope's instances, up to date, and how many match in all."""
        self._advance_due()
        scope = self._scopes.get((account, workspace))
        if scope is None:
            return [], 0
        start, size = query.page.offset, query.page.limit
        if query.id:  # ids are unique: one lookup, whatever else is asked
            inst = self._instances.get(query.id)
            mine = inst is not None and (inst.account, inst.workspace) == (account, workspace)
            matched = [inst] if inst is not None and mine and query.matches(inst) else []
            return matched[start : start + size], len(matched)
        if not query.filtered:
            return scope.page(start, size, query.descending), len(scope)
        matched = [inst for inst in scope if query.matches(inst)]
        if query.descending:
            matched.reverse()
        return matched[start : start + size], len(matched)

    # -- admin ---------------------------------------------------------------------------

    def all_instances(
        self, account: str | None = None, workspace: str | None = None
    ) -> list[Instance]:
        """Every instance (of one account and/or workspace, or of all), up to date."""
        self._advance_due()
        return [
            inst
            for inst in sorted(self._instances.values(), key=lambda i: (i.created, i.instance_id))
            if account in (None, inst.account) and workspace in (None, inst.workspace)
        ]

    def all_endpoints(
        self, account: str | None = None, workspace: str | None = None
    ) -> list[Endpoint]:
        self._advance_due()
        return [
            ep
            for ep in sorted(self._endpoints.values(), key=lambda e: (e.created, e.key))
            if account in (None, ep.account) and workspace in (None, ep.workspace)
        ]

    def reset_instances(self) -> None:
        """Forget every instance (the endpoints stay)."""
        self._instances.clear()
        self._scopes.clear()
        self._on_endpoint.clear()
        self._timeline.clear()
        self.on_change()

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "endpoints": [ep.to_state() for ep in self._endpoints.values()],
            "instances": [inst.to_state() for inst in self._instances.values()],
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        """Load what `to_state` wrote."""
        state = state or {}
        for item in state.get("endpoints", []):
            ep = Endpoint.from_state(item)
            self._endpoints[ep.key] = ep
        for item in state.get("instances", []):
            inst = Instance.from_state(item)
            if not inst.gone:
                self._add(inst)
