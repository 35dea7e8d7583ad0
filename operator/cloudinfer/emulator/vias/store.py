"""The emulated VIAS algorithm services: each account's catalogue of algorithms, the one
service record each algorithm has in a project, the operations on those, and the refusals.

Catalogue: an algorithm belongs to an account and is offered in one project or, with no
project, in every project of the account. It comes from `--vias-algorithm` or the admin API
(there is no API to buy or publish one). Each algorithm has ONE service record per project
it is offered in, listed with alg_status not_deployed until it is deployed. A record is
created when its algorithm is put in one project, or, for an algorithm of every project,
lazily the first time a request addresses that project (any operation, the admin listing of
one account's project too). Its service_id is derived from (account, project, alg_id)
(service.service_id_for), so a lazily created record has the same id after a restart.

Scope: every operation acts for one account in one project (the URL's `{project_id}`; any
id the caller names is a project of the caller's account, there is no project registry) and
sees only that scope's services; another account's or project's algorithm or service
answers exactly as a missing one (400 VIAS.00010002). A project's own algorithm wins over
an account-wide one of the same id.

Cost per request, with N services in the store: ListUserServices sorts the caller's scope
(a project holds as many records as the account has algorithms: a catalogue, not a fleet);
deploy, stop and show are lookups; time moves on only for the services that are due
(timeline.Timeline); a mutation marks the state dirty (`on_change`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cloudinfer.emulator.config import ViasAlgorithm
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.timeline import Timeline
from cloudinfer.emulator.vias.errors import (
    in_progress,
    invalid,
    invalid_object,
    not_deployed,
    not_found,
)
from cloudinfer.emulator.vias.listing import ServiceQuery
from cloudinfer.emulator.vias.service import (
    FINISHED,
    IN_PROGRESS,
    NOT_DEPLOYED,
    STOPPED,
    STOPPING,
    Algorithm,
    AlgorithmSpec,
    Service,
    service_id_for,
)
from cloudinfer.emulator.vias.validation import check_deploy

STATE_VERSION = 1
Scope = tuple[str, str]  # (account, project)
AlgorithmKey = tuple[str, str | None, str]  # (account, project or None: every one, alg_id)


class ViasStore:
    def __init__(
        self, timing: Timing | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.timing = timing or Timing()
        self.clock = clock
        self.on_change: Callable[[], None] = lambda: None  # set to persist the state
        self.advanced = 0  # Service.advance calls: what tests count to bound the work
        self._algorithms: dict[AlgorithmKey, Algorithm] = {}
        self._services: dict[str, Service] = {}  # by id (ids are global)
        self._scopes: dict[Scope, dict[str, Service]] = {}  # the records of each project
        # The projects whose records of every account-wide algorithm exist.
        self._addressed: set[Scope] = set()
        self._timeline: Timeline[Service] = Timeline()

    # -- time ----------------------------------------------------------------------------

    def _advance(self, svc: Service, now: float) -> None:
        self.advanced += 1
        svc.advance(now)

    def _advance_due(self) -> float:
        """Move on the services whose status changes by now; no other status can have."""
        now = self.clock()
        for svc in self._timeline.due(now, lambda s: self._services.get(s.service_id) is s):
            self._advance(svc, now)
            self._timeline.schedule(svc)
            self.on_change()
        return now

    def _changed(self, svc: Service) -> Service:
        """After an operation on `svc`: its next change is due at a new time, and the state
        needs writing."""
        self._timeline.schedule(svc)
        self.on_change()
        return svc

    # -- the catalogue -------------------------------------------------------------------

    def _algorithm(self, account: str, project: str, alg_id: str) -> Algorithm | None:
        """The algorithm a project sees: its own, else the account-wide one."""
        return self._algorithms.get((account, project, alg_id)) or self._algorithms.get(
            (account, None, alg_id)
        )

    def _record(self, account: str, project: str, alg_id: str, now: float) -> Service:
        """The algorithm's record in the project, created not deployed if it has none yet;
        it takes the spec the project sees."""
        algorithm = self._algorithm(account, project, alg_id)
        assert algorithm is not None
        service_id = service_id_for(account, project, alg_id)
        svc = self._services.get(service_id)
        if svc is None:
            svc = Service(service_id, account, project, alg_id, algorithm.spec, now, now)
            self._services[service_id] = svc
            self._scopes.setdefault((account, project), {})[service_id] = svc
            self.on_change()
        else:
            svc.spec = algorithm.spec
        return svc

    def _address(self, account: str, project: str) -> float:
        """A request names this project: time moves on, and the records of the account's
        algorithms of every project exist in it from now on."""
        now = self._advance_due()
        if (account, project) not in self._addressed:
            self._addressed.add((account, project))
            for acct, proj, alg_id in list(self._algorithms):
                if acct == account and proj is None:
                    self._record(account, project, alg_id, now)
            self.on_change()
        return now

    def put_algorithm(
        self, account: str, project: str | None, alg_id: str, name: str, **overrides: Any
    ) -> Algorithm:
        """Create or replace an algorithm (admin and `--vias-algorithm`): the seed's defaults
        plus `overrides` (AlgorithmSpec fields). Its service records keep their status and
        deployment, and show the new fields."""
        now = self.clock()
        key = (account, project, alg_id)
        old = self._algorithms.get(key)
        algorithm = Algorithm(
            account=account,
            project=project,
            alg_id=alg_id,
            spec=AlgorithmSpec.default(alg_id, name, **overrides),
            created=old.created if old else now,
        )
        self._algorithms[key] = algorithm
        if project is not None:
            self._record(account, project, alg_id, now)
        else:
            for acct, proj in self._addressed:
                if acct == account:
                    self._record(account, proj, alg_id, now)
        self.on_change()
        return algorithm

    def seed(self, seed: ViasAlgorithm) -> Algorithm:
        return self.put_algorithm(seed.account, seed.project, seed.alg_id, seed.name)

    def _accounts(self) -> list[str]:
        return sorted({account for account, _, _ in self._algorithms})

    def algorithms(self) -> list[Algorithm]:
        return sorted(self._algorithms.values(), key=lambda a: (a.created, a.alg_id))

    # -- operations ----------------------------------------------------------------------

    def _service_of(self, account: str, project: str, alg_id: str, now: float) -> Service:
        """The record of the algorithm the project sees, up to date; VIAS.00010002 when the
        project has no such algorithm."""
        if self._algorithm(account, project, alg_id) is None:
            raise not_found("algorithm", alg_id, project)
        svc = self._record(account, project, alg_id, now)
        self._advance(svc, now)
        return svc

    def get(self, account: str, project: str, service_id: str) -> Service:
        """ShowServiceDetail: the scope's service, up to date."""
        now = self._address(account, project)
        svc = self._services.get(service_id)
        if svc is None or svc.account != account or svc.project != project:
            raise not_found("service", service_id, project)
        self._advance(svc, now)
        return svc

    def deploy(self, account: str, project: str, alg_id: str, raw: Any) -> Service:
        """DeployAlgorithm: a first deployment, a restart, or an upgrade."""
        body = check_deploy(raw)
        now = self._address(account, project)
        svc = self._service_of(account, project, alg_id, now)
        if svc.status in IN_PROGRESS:
            raise in_progress(alg_id, svc.status)
        if svc.status == FINISHED:
            raise invalid_object(
                alg_id,
                f"The service of algorithm {alg_id} is {FINISHED}: it cannot be deployed again.",
                "Use an algorithm whose service has not finished.",
            )
        if body.pool_id is None and svc.status == NOT_DEPLOYED:
            raise invalid("pool_id", "it is needed for a first deployment.")
        svc.deploy(now, self.timing, body.stream_count, body.pool_id, body.deploy_config, body.envs)
        return self._changed(svc)

    def stop(self, account: str, project: str, alg_id: str) -> Service:
        """StopDeployAlgorithm: service_stopping, then service_stopped; stopping a stopping
        or stopped service changes nothing."""
        now = self._address(account, project)
        svc = self._service_of(account, project, alg_id, now)
        if svc.status == NOT_DEPLOYED:
            raise not_deployed(alg_id)
        if svc.status not in (STOPPING, STOPPED):
            svc.stop(now, self.timing)
            self._changed(svc)
        return svc

    def list_services(
        self, account: str, project: str, query: ServiceQuery
    ) -> tuple[list[Service], int]:
        """ListUserServices: the answer's services, up to date, and how many match."""
        self._address(account, project)
        return query.select(list(self._scopes.get((account, project), {}).values()))

    # -- admin ---------------------------------------------------------------------------

    def all_services(self, account: str | None = None, project: str | None = None) -> list[Service]:
        """Every service record (of one account and/or project, or of all), up to date.
        Naming a project addresses it, as a request would, for the account named or else
        for every account with algorithms."""
        self._advance_due()
        if project is not None:
            for acct in [account] if account is not None else self._accounts():
                self._address(acct, project)
        return [
            svc
            for svc in sorted(self._services.values(), key=lambda s: (s.created, s.service_id))
            if account in (None, svc.account) and project in (None, svc.project)
        ]

    def service(self, service_id: str) -> Service | None:
        self._advance_due()
        return self._services.get(service_id)

    def force(self, service_id: str, status: str, error_msg: str = "") -> Service | None:
        """Set a service's status (and error_msg) at once; None for an unknown id."""
        svc = self.service(service_id)
        if svc is not None:
            svc.force(status, error_msg, self.clock())
            self.on_change()
        return svc

    def reset_services(self) -> None:
        """Every service back to not deployed, as the catalogue first offered it (records of
        account-wide algorithms are created again when their project is next addressed)."""
        self._services.clear()
        self._scopes.clear()
        self._addressed.clear()
        self._timeline.clear()
        now = self.clock()
        for account, project, alg_id in list(self._algorithms):
            if project is not None:
                self._record(account, project, alg_id, now)
        self.on_change()

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "algorithms": [a.to_state() for a in self._algorithms.values()],
            "addressed": [list(scope) for scope in sorted(self._addressed)],
            "services": [svc.to_state() for svc in self._services.values()],
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        """Load what `to_state` wrote (records whose algorithm is gone are dropped)."""
        state = state or {}
        for item in state.get("algorithms", []):
            algorithm = Algorithm.from_state(item)
            self._algorithms[algorithm.key] = algorithm
        for account, project in state.get("addressed", []):
            self._addressed.add((account, project))
        for item in state.get("services", []):
            found = self._algorithm(item["account"], item["project"], item["alg_id"])
            if found is None:
                continue
            svc = Service.from_state(item, found.spec)
            self._services[svc.service_id] = svc
            self._scopes.setdefault((svc.account, svc.project), {})[svc.service_id] = svc
            self._timeline.schedule(svc)
