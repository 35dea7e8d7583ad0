"""The emulated PAI-EAS region(s): each account's services, the operations on them, errors.

Accounts: every operation acts for one account and sees only that account's services, as on
the real cloud; another account's service answers exactly as a missing one. Service names
are nevertheless unique per region across accounts, so creating or cloning to a name someone
else holds is refused (403 Forbidden.PrivilegeCheckFailed) without saying anything more.

Cost per request, with N services in the store:
  * listing is O(page) in CreateTime, ServiceName or UpdateTime order without filters (each
    account keeps its services in ordered indexes keyed by those; a service moves in the
    UpdateTime index when it changes); filters and the Status order scan the caller's
    services, still without rendering them;
  * time moves on only for the services that are due (a heap keyed by the instant each one
    changes status next) and for those the request itself returns;
  * a mutation marks the state dirty (`on_change`); writing it is persist.StateFile's job.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from cloudinfer.emulator.config import DEFAULT_ACCOUNT
from cloudinfer.emulator.eas.errors import (
    EasApiError,
    already_exists,
    name_held_elsewhere,
    not_found,
)
from cloudinfer.emulator.eas.listing import (
    ListQuery,
    changing_key,
    created_key,
    name_key,
    updated_key,
)
from cloudinfer.emulator.eas.service import Service, Timing, merge_config
from cloudinfer.emulator.index import SortedIndex
from cloudinfer.emulator.timeline import Timeline

__all__ = ["NAME_RE", "EasApiError", "EasStore"]

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
STATE_VERSION = 2


class AccountServices:
    """One account's services, in the orders ListServices pages them without sorting."""

    def __init__(self) -> None:
        self.by_created: SortedIndex[Service] = SortedIndex()
        self.by_name: SortedIndex[Service] = SortedIndex()
        # UpdateTime moves: each service's key is remembered so it can be moved with it.
        self.by_updated: SortedIndex[Service] = SortedIndex()
        self._updated_keys: dict[tuple[str, str], tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self.by_created)

    def add(self, svc: Service) -> None:
        self.by_created.add(created_key(svc), svc)
        self.by_name.add(name_key(svc), svc)
        key = updated_key(svc)
        self.by_updated.add(key, svc)
        self._updated_keys[(svc.region, svc.name)] = key

    def remove(self, svc: Service) -> None:
        self.by_created.remove(created_key(svc))
        self.by_name.remove(name_key(svc))
        self.by_updated.remove(self._updated_keys.pop((svc.region, svc.name)))

    def touch(self, svc: Service) -> None:
        """After `svc` may have changed: keep its UpdateTime position true."""
        old = self._updated_keys.get((svc.region, svc.name))
        new = updated_key(svc)
        if old is None or old == new:
            return
        self.by_updated.remove(old)
        self.by_updated.add(new, svc)
        self._updated_keys[(svc.region, svc.name)] = new

    def index(self, sort: str) -> SortedIndex[Service] | None:
        return {
            "CreateTime": self.by_created,
            "ServiceName": self.by_name,
            "UpdateTime": self.by_updated,
        }.get(sort)


def _validate(config: Any, name_required: bool = True) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise EasApiError(400, "InvalidParameter", "request body must be a JSON object")
    name = config.get("name")
    if name_required and not isinstance(name, str):
        raise EasApiError(400, "InvalidParameter", "service config needs a name")
    if name is not None and not NAME_RE.match(str(name)):
        raise EasApiError(
            400,
            "InvalidParameter",
            f"invalid service name {name!r}: lower-case letters, digits and "
            "underscores, starting with a letter, at most 64 characters",
        )
    meta = config.get("metadata", {})
    if not isinstance(meta, dict):
        raise EasApiError(400, "InvalidParameter", "metadata must be an object")
    for key in ("instance", "cpu", "memory", "gpu"):
        if key in meta and (not isinstance(meta[key], int) or meta[key] < 0):
            raise EasApiError(
                400, "InvalidParameter", f"metadata.{key} must be a non-negative integer"
            )
    if meta.get("cpu") == 0 or meta.get("memory") == 0:
        raise EasApiError(
            400, "InvalidParameter", "metadata.cpu and metadata.memory must be positive"
        )
    if not (
        config.get("processor")
        or config.get("containers")
        or config.get("image")
        or not name_required
    ):
        raise EasApiError(400, "InvalidParameter", "service config needs a processor or containers")
    return config


class EasStore:
    def __init__(
        self, timing: Timing | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.timing = timing or Timing()
        self.clock = clock
        self.host_id = "1234567890"
        self.on_change: Callable[[], None] = lambda: None  # set to persist the state
        self.advanced = 0  # Service.advance calls: what tests count to bound the work
        self._services: dict[tuple[str, str], Service] = {}  # (region, name): names are global
        self._accounts: dict[str, AccountServices] = {}
        self._timeline: Timeline[Service] = Timeline()

    # -- time ----------------------------------------------------------------------------

    def _schedule(self, svc: Service) -> None:
        self._timeline.schedule(svc)

    def _advance(self, svc: Service, now: float) -> None:
        self.advanced += 1
        svc.advance(now)
        if svc.gone:
            self._forget(svc)
        else:
            self._touch(svc)

    def _touch(self, svc: Service) -> None:
        if self._services.get((svc.region, svc.name)) is svc:
            self._accounts[svc.account].touch(svc)

    def _advance_due(self) -> float:
        """Move on the services whose status changes by now; the rest cannot have changed
        status (only their instance counts move, and those are advanced when shown)."""
        now = self.clock()
        for svc in self._timeline.due(now, lambda s: self._services.get((s.region, s.name)) is s):
            self._advance(svc, now)
            next_due = svc.next_change()
            if not svc.gone and next_due is not None and next_due > now:
                self._schedule(svc)
        return now

    # -- the index -----------------------------------------------------------------------

    def _add(self, svc: Service) -> None:
        self._services[(svc.region, svc.name)] = svc
        self._accounts.setdefault(svc.account, AccountServices()).add(svc)
        self._schedule(svc)

    def _forget(self, svc: Service) -> None:
        if self._services.get((svc.region, svc.name)) is not svc:
            return
        del self._services[(svc.region, svc.name)]
        mine = self._accounts[svc.account]
        mine.remove(svc)
        if not mine:
            del self._accounts[svc.account]
        self.on_change()

    def _changed(self, svc: Service) -> Service:
        """After an operation on `svc`: its next change is due at a new time, and the state
        needs writing."""
        self._touch(svc)
        self._schedule(svc)
        self.on_change()
        return svc

    def get(self, account: str, region: str, name: str) -> Service:
        """The account's service, up to date; NotFound for a missing or someone else's."""
        now = self._advance_due()
        svc = self._services.get((region, name))
        if svc is None or svc.account != account:
            raise not_found(region, name)
        self._advance(svc, now)
        if svc.gone:
            raise not_found(region, name)
        return svc

    def _check_free(self, account: str, region: str, name: str) -> None:
        now = self._advance_due()
        existing = self._services.get((region, name))
        if existing is None:
            return
        self._advance(existing, now)
        if existing.gone:
            return
        if existing.account != account:
            raise name_held_elsewhere(name)
        raise already_exists(name)

    # -- operations ----------------------------------------------------------------------

    def create(
        self,
        account: str,
        region: str,
        config: Any,
        labels: dict[str, str],
        workspace_id: str = "",
    ) -> Service:
        config = _validate(config)
        name = config["name"]
        self._check_free(account, region, name)
        svc = Service.new(
            name,
            region,
            config,
            labels,
            self.clock(),
            self.timing,
            workspace_id=workspace_id,
            account=account,
        )
        self._add(svc)
        self.on_change()
        return svc

    def clone(
        self, account: str, region: str, source: str, overrides: Any, labels: dict[str, str]
    ) -> Service:
        src = self.get(account, region, source)
        overrides = _validate(overrides or {}, name_required=False)
        config = merge_config(src.config, overrides)
        if config.get("name") == source or "name" not in overrides:
            raise EasApiError(400, "InvalidParameter", "clone needs a new service name in the body")
        self._check_free(account, region, config["name"])
        svc = Service.new(
            config["name"],
            region,
            config,
            labels or src.labels,
            self.clock(),
            self.timing,
            workspace_id=src.workspace_id,
            account=account,
        )
        svc.event(self.clock(), "Normal", "Cloned", f"cloned from {source}")
        self._add(svc)
        self.on_change()
        return svc

    def _mutable(self, account: str, region: str, name: str, operation: str) -> Service:
        svc = self.get(account, region, name)
        if svc.status in ("Deleting",):
            raise EasApiError(
                400,
                "InvalidServiceStatus",
                f"cannot {operation} service {name} while it is {svc.status}",
            )
        return svc

    def update(self, account: str, region: str, name: str, patch: Any, replace: bool) -> Service:
        svc = self._mutable(account, region, name, "update")
        patch = _validate(patch, name_required=False)
        if "name" in patch and patch["name"] != name:
            raise EasApiError(400, "InvalidParameter", "a service cannot be renamed")
        svc.update(patch, replace, self.clock(), self.timing)
        return self._changed(svc)

    def update_labels(self, account: str, region: str, name: str, labels: Any) -> Service:
        """UpdateServiceLabel: add or overwrite the given labels (others are kept)."""
        svc = self._mutable(account, region, name, "label")
        if (
            not isinstance(labels, dict)
            or not labels
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        ):
            raise EasApiError(400, "InvalidParameter", "Labels must be a non-empty string map")
        svc.labels.update(labels)
        return self._changed(svc)

    def update_version(self, account: str, region: str, name: str, version: Any) -> Service:
        svc = self._mutable(account, region, name, "roll back")
        if not isinstance(version, int) or not 1 <= version <= len(svc.versions):
            raise EasApiError(400, "InvalidVersion", f"version {version!r} does not exist")
        svc.roll_back(version, self.clock(), self.timing)
        return self._changed(svc)

    def stop(self, account: str, region: str, name: str) -> Service:
        svc = self._mutable(account, region, name, "stop")
        if svc.status not in ("Stopped", "Stopping"):
            svc.stop(self.clock(), self.timing)
            self._changed(svc)
        return svc

    def start(self, account: str, region: str, name: str) -> Service:
        svc = self._mutable(account, region, name, "start")
        if svc.status in ("Stopped", "Failed"):
            svc.start(self.clock(), self.timing)
            self._changed(svc)
        return svc

    def delete(self, account: str, region: str, name: str) -> Service:
        svc = self.get(account, region, name)
        if svc.status != "Deleting":
            svc.delete(self.clock(), self.timing)
            self._changed(svc)
        return svc

    def set_autoscaler(self, account: str, region: str, name: str, body: Any) -> Service:
        svc = self._mutable(account, region, name, "configure the autoscaler of")
        if not isinstance(body, dict):
            raise EasApiError(400, "InvalidParameter", "body must be a JSON object")
        low, high = body.get("min"), body.get("max")
        if not isinstance(low, int) or not isinstance(high, int) or not 0 <= low <= high:
            raise EasApiError(
                400, "InvalidParameter", "min and max must be integers, 0 <= min <= max"
            )
        for strategy in body.get("scaleStrategies") or []:
            if strategy.get("metricName") not in ("qps", "cpu", "gpu[util]"):
                raise EasApiError(
                    400, "InvalidParameter", f"unknown metricName {strategy.get('metricName')!r}"
                )
        svc.autoscaler = body
        svc.event(self.clock(), "Normal", "AutoscalerUpdated", f"autoscaler min={low} max={high}")
        self.on_change()
        return svc

    def list_services(self, account: str, query: ListQuery) -> tuple[list[Service], int]:
        """One page of the account's services, up to date, and how many match in all."""
        now = self._advance_due()
        mine = self._accounts.get(account)
        if mine is None:
            return [], 0
        index = mine.index(query.sort)
        if index is not None and not query.filtered:
            page, total = index.page(query.offset, query.size, query.descending), len(index)
        else:
            matched = self._scan(mine, query)
            page, total = matched[query.offset : query.offset + query.size], len(matched)
        for svc in page:
            self._advance(svc, now)  # instance counts move between status changes
        return page, total

    def _scan(self, mine: AccountServices, query: ListQuery) -> list[Service]:
        """Every match in the query's order: filters and the orders by changing fields."""
        index = mine.index(query.sort)
        if index is not None:
            matched = [svc for svc in index if query.matches(svc)]
            if query.descending:
                matched.reverse()
            return matched
        return sorted(
            (svc for svc in mine.by_created if query.matches(svc)),
            key=lambda svc: changing_key(query.sort, svc),
            reverse=query.descending,
        )

    # -- admin ---------------------------------------------------------------------------

    def all(self, account: str | None = None) -> list[Service]:
        """Every service (of one account, or of all), up to date, by region and name."""
        now = self._advance_due()
        chosen = [
            svc for _, svc in sorted(self._services.items()) if account in (None, svc.account)
        ]
        for svc in chosen:
            self._advance(svc, now)
        return [svc for svc in chosen if not svc.gone]

    def reset(self) -> None:
        self._services.clear()
        self._accounts.clear()
        self._timeline.clear()
        self.on_change()

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "services": [svc.to_state() for svc in self._services.values()],
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        """Load what `to_state` wrote (or what the emulator wrote before accounts were
        explicit: its services belong to their CallerUid)."""
        for item in (state or {}).get("services", []):
            svc = Service.from_state(item)
            if svc.gone:
                continue
            svc.account = svc.account or DEFAULT_ACCOUNT
            self._add(svc)
