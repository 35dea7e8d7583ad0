"""The emulated ModelArts real-time services: each account's projects, the operations on
their services, and the refusals.

Scope: every operation acts for one account in one project (the URL's `{project_id}`; any id
the caller names is a project of the caller's account) and sees only that scope's services;
another account's or project's service answers exactly as a missing one (404
ModelArts.3502). Service names are unique within a scope (409 ModelArts.3503) until the
service is gone.

Cost per request, with N services in the store:
  * ListServices without filters is O(page) in publish_at, service_name or transition_at
    order (each scope keeps ordered indexes on those; a service moves in the transition_at
    index when its status changes); a `service_id` filter is one lookup; other filters scan
    the caller's scope, without rendering;
  * time moves on only for the services that are due (a heap keyed by the instant each one
    changes status next); progress is computed when a service is shown;
  * a mutation marks the state dirty (`on_change`); writing it is persist.StateFile's job.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.index import SortedIndex
from cloudinfer.emulator.modelarts.errors import (
    already_exists,
    invalid,
    not_found,
    wrong_state,
)
from cloudinfer.emulator.modelarts.listing import (
    ServiceQuery,
    name_key,
    published_key,
    transition_key,
)
from cloudinfer.emulator.modelarts.quota import ACTIVE, Quota
from cloudinfer.emulator.modelarts.service import Service
from cloudinfer.emulator.modelarts.validation import check_create, check_update
from cloudinfer.emulator.timeline import Timeline

STATE_VERSION = 1
Scope = tuple[str, str]  # (account, project)


class ScopeServices:
    """One project's services in one account, in the orders ListServices pages them."""

    def __init__(self) -> None:
        self.by_published: SortedIndex[Service] = SortedIndex()
        self.by_name: SortedIndex[Service] = SortedIndex()
        self.by_transition: SortedIndex[Service] = SortedIndex()
        self._transition_keys: dict[str, tuple[str, ...]] = {}
        self.names: dict[str, Service] = {}

    def __len__(self) -> int:
        return len(self.by_published)

    def add(self, svc: Service) -> None:
        self.by_published.add(published_key(svc), svc)
        self.by_name.add(name_key(svc), svc)
        key = transition_key(svc)
        self.by_transition.add(key, svc)
        self._transition_keys[svc.service_id] = key
        self.names[svc.name] = svc

    def remove(self, svc: Service) -> None:
        self.by_published.remove(published_key(svc))
        self.by_name.remove(name_key(svc))
        self.by_transition.remove(self._transition_keys.pop(svc.service_id))
        del self.names[svc.name]

    def touch(self, svc: Service) -> None:
        """After `svc` may have changed status: keep its transition_at position true."""
        old = self._transition_keys.get(svc.service_id)
        new = transition_key(svc)
        if old is None or old == new:
            return
        self.by_transition.remove(old)
        self.by_transition.add(new, svc)
        self._transition_keys[svc.service_id] = new

    def index(self, sort: str) -> SortedIndex[Service]:
        return {
            "publish_at": self.by_published,
            "service_name": self.by_name,
            "transition_at": self.by_transition,
        }[sort]


class ModelArtsStore:
    def __init__(
        self, timing: Timing | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.timing = timing or Timing()
        self.clock = clock
        self.quota = Quota()
        self.on_change: Callable[[], None] = lambda: None  # set to persist the state
        self.advanced = 0  # Service.advance calls: what tests count to bound the work
        self._services: dict[str, Service] = {}  # by service_id (ids are global)
        self._scopes: dict[Scope, ScopeServices] = {}
        self._timeline: Timeline[Service] = Timeline()

    # -- time ----------------------------------------------------------------------------

    def _schedule(self, svc: Service) -> None:
        self._timeline.schedule(svc)

    def _advance(self, svc: Service, now: float) -> None:
        self.advanced += 1
        svc.advance(now, self.timing)
        if svc.gone:
            self._forget(svc)
        elif self._services.get(svc.service_id) is svc:
            self._scopes[(svc.account, svc.project)].touch(svc)

    def _advance_due(self) -> float:
        """Move on the services whose status changes by now; no other status can have."""
        now = self.clock()
        for svc in self._timeline.due(now, lambda s: self._services.get(s.service_id) is s):
            self._advance(svc, now)
            if not svc.gone:
                self._schedule(svc)
            self.on_change()
        return now

    # -- the index -----------------------------------------------------------------------

    def _add(self, svc: Service) -> None:
        self._services[svc.service_id] = svc
        self._scopes.setdefault((svc.account, svc.project), ScopeServices()).add(svc)
        self._schedule(svc)

    def _forget(self, svc: Service) -> None:
        if self._services.get(svc.service_id) is not svc:
            return
        del self._services[svc.service_id]
        scope = self._scopes[(svc.account, svc.project)]
        scope.remove(svc)
        if not scope:
            del self._scopes[(svc.account, svc.project)]
        self.on_change()

    def _changed(self, svc: Service) -> Service:
        """After an operation on `svc`: its next change is due at a new time, and the state
        needs writing."""
        self._scopes[(svc.account, svc.project)].touch(svc)
        self._schedule(svc)
        self.on_change()
        return svc

    def get(self, account: str, project: str, service_id: str) -> Service:
        """The scope's service, up to date; 3502 for a missing or someone else's."""
        now = self._advance_due()
        svc = self._services.get(service_id)
        if svc is None or svc.account != account or svc.project != project:
            raise not_found(service_id)
        self._advance(svc, now)
        if svc.gone:
            raise not_found(service_id)
        return svc

    # -- quota ---------------------------------------------------------------------------

    def _check_quota(
        self, account: str, adding: bool, instances: int, starting: bool, other_than: str = ""
    ) -> None:
        """A scan of the account's services, only while a quota is set."""
        if self.quota.unlimited:
            return
        services = self._services.values()
        others = (s for s in services if s.account == account and s.service_id != other_than)
        self.quota.check(others, adding, instances, starting)

    # -- operations ----------------------------------------------------------------------

    def create(self, account: str, project: str, region: str, raw: Any) -> Service:
        body = check_create(raw)
        now = self._advance_due()
        scope = self._scopes.get((account, project))
        if scope is not None and body.name in scope.names:
            raise already_exists(body.name)
        count = sum(i["instance_count"] for i in body.config)
        self._check_quota(account, True, count, starting=True)
        svc = Service(
            service_id=str(uuid.uuid4()),
            name=body.name,
            account=account,
            project=project,
            region=region,
            infer_type=body.infer_type,
            config=body.config,
            attributes=body.attributes,
            created=now,
            updated=now,
            transition=now,
            operated=now,
        )
        svc.event(now, "normal", "The service starts to deploy.")
        svc.deploy(now, self.timing.deploy_seconds)
        self._add(svc)
        self.on_change()
        return svc

    def update(self, account: str, project: str, service_id: str, raw: Any) -> Service:
        """UpdateService: status (start/stop) or config (both sent: status only); the
        service-level attributes in either case."""
        svc = self.get(account, project, service_id)
        body = check_update(raw, svc.infer_type)
        now = self.clock()
        if svc.status == "deleting":
            raise wrong_state(service_id, svc.status, "running, concerning, failed, stopped")
        if body.status == "running" and svc.status == "stopping":
            raise wrong_state(service_id, svc.status, "stopped, failed")
        if body.config is not None and svc.status in ("deploying", "stopping"):
            raise wrong_state(service_id, svc.status, "running, concerning, failed, stopped")
        if body.status == "stopped" and svc.status in (*ACTIVE, "failed"):
            svc.stop(now, self.timing)
        elif body.status == "running" and svc.status in ("stopped", "failed"):
            count = sum(i["instance_count"] for i in svc.config)
            self._check_quota(account, False, count, starting=True, other_than=service_id)
            svc.start(now, self.timing)
        elif body.config is not None:
            if svc.status != "stopped":
                count = sum(i["instance_count"] for i in body.config)
                self._check_quota(account, False, count, starting=False, other_than=service_id)
            svc.set_config(body.config, now, self.timing)
        if body.attributes:
            svc.set_attributes(body.attributes, now)
        return self._changed(svc)

    def delete(self, account: str, project: str, service_ids: list[str]) -> list[Service]:
        """DeleteService for one id or several (all must exist, or nothing is deleted)."""
        chosen = [self.get(account, project, sid) for sid in dict.fromkeys(service_ids)]
        now = self.clock()
        for svc in chosen:
            if svc.status != "deleting":
                svc.delete(now, self.timing)
                self._changed(svc)
        return chosen

    def list_services(
        self, account: str, project: str, query: ServiceQuery
    ) -> tuple[list[Service], int]:
        """One page of the scope's services, up to date, and how many match in all."""
        self._advance_due()
        scope = self._scopes.get((account, project))
        if scope is None:
            return [], 0
        start, size = query.page.start, query.page.size
        if query.service_id:  # ids are unique: one lookup, whatever else is asked
            svc = self._services.get(query.service_id)
            mine = svc is not None and (svc.account, svc.project) == (account, project)
            matched = [svc] if svc is not None and mine and query.matches(svc) else []
            return matched[start : start + size], len(matched)
        index = scope.index(query.sort)
        if not query.filtered:
            return index.page(start, size, query.descending), len(index)
        matched = [svc for svc in index if query.matches(svc)]
        if query.descending:
            matched.reverse()
        return matched[start : start + size], len(matched)

    # -- admin ---------------------------------------------------------------------------

    def all(self, account: str | None = None, project: str | None = None) -> list[Service]:
        """Every service (of one account and/or project, or of all), up to date."""
        self._advance_due()
        return [
            svc
            for svc in sorted(self._services.values(), key=lambda s: (s.created, s.service_id))
            if account in (None, svc.account) and project in (None, svc.project)
        ]

    def find(self, service_id: str) -> Service:
        """Any account's service (admin only)."""
        self._advance_due()
        svc = self._services.get(service_id)
        if svc is None:
            raise not_found(service_id)
        return svc

    def set_unhealthy(self, service_id: str, model_id: str | None, count: int) -> Service:
        """Make `count` instances of a model (the first when not named) unhealthy."""
        svc = self.find(service_id)
        models = {str(i["model_id"]): i["instance_count"] for i in svc.config}
        model = model_id if model_id is not None else next(iter(models))
        if model not in models:
            raise invalid(f"service {service_id} deploys no model {model}.")
        if not 0 <= count <= models[model]:
            raise invalid(f"unhealthy must be between 0 and {models[model]}.")
        svc.set_unhealthy(model, count, self.clock())
        return self._changed(svc)

    def reset(self) -> None:
        self._services.clear()
        self._scopes.clear()
        self._timeline.clear()
        self.on_change()

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "quota": asdict(self.quota),
            "services": [svc.to_state() for svc in self._services.values()],
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        """Load what `to_state` wrote."""
        state = state or {}
        self.quota = Quota(**state.get("quota", {}))
        for item in state.get("services", []):
            svc = Service.from_state(item)
            if not svc.gone:
                self._add(svc)
