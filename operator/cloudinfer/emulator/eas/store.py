"""The emulated PAI-EAS region(s): services by name, operations, errors.

Error codes (HTTP status, Code). Codes the reference marks unconfirmed are the emulator's
choice, used consistently:
  404 InvalidService.NotFound        the service does not exist
  409 ServiceAlreadyExists           create/clone with a name in use (by the same caller)
  403 Forbidden.PrivilegeCheckFailed the name is owned by another account
  400 InvalidParameter               malformed request or config
  400 InvalidServiceStatus           operation not allowed in the current state (e.g. deleting)
  400 InvalidVersion                 UpdateServiceVersion to a version that does not exist
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudinfer.emulator.eas.service import Service, Timing, merge_config

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class EasApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _not_found(region: str, name: str) -> EasApiError:
    return EasApiError(404, "InvalidService.NotFound", f"service {name} not found in {region}")


class EasStore:
    def __init__(
        self,
        timing: Timing | None = None,
        state_file: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timing = timing or Timing()
        self.clock = clock
        self.state_file = state_file
        self._services: dict[tuple[str, str], Service] = {}
        self.host_id = "1234567890"
        if state_file and state_file.exists():
            self._load(state_file)

    # -- helpers -------------------------------------------------------------------------

    def _live(self) -> dict[tuple[str, str], Service]:
        now = self.clock()
        for key, svc in list(self._services.items()):
            svc.advance(now)
            if svc.gone:
                del self._services[key]
        return self._services

    def get(self, region: str, name: str) -> Service:
        svc = self._live().get((region, name))
        if svc is None:
            raise _not_found(region, name)
        return svc

    def _validate(self, config: Any, name_required: bool = True) -> dict[str, Any]:
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
            raise EasApiError(
                400, "InvalidParameter", "service config needs a processor or containers"
            )
        return config

    def _check_free(self, region: str, name: str, caller: str) -> None:
        existing = self._live().get((region, name))
        if existing is None:
            return
        if existing.caller_uid and existing.caller_uid != caller:
            raise EasApiError(
                403,
                "Forbidden.PrivilegeCheckFailed",
                f"service name {name} is owned by another account",
            )
        raise EasApiError(409, "ServiceAlreadyExists", f"service {name} already exists")

    # -- operations ----------------------------------------------------------------------

    def create(
        self, region: str, config: Any, labels: dict[str, str], workspace_id: str, caller: str
    ) -> Service:
        config = self._validate(config)
        name = config["name"]
        self._check_free(region, name, caller)
        svc = Service.new(
            name,
            region,
            config,
            labels,
            self.clock(),
            self.timing,
            workspace_id=workspace_id,
            caller_uid=caller,
        )
        self._services[(region, name)] = svc
        self.save()
        return svc

    def clone(
        self, region: str, source: str, overrides: Any, labels: dict[str, str], caller: str
    ) -> Service:
        src = self.get(region, source)
        overrides = self._validate(overrides or {}, name_required=False)
        config = merge_config(src.config, overrides)
        if config.get("name") == source or "name" not in overrides:
            raise EasApiError(400, "InvalidParameter", "clone needs a new service name in the body")
        self._check_free(region, config["name"], caller)
        svc = Service.new(
            config["name"],
            region,
            config,
            labels or src.labels,
            self.clock(),
            self.timing,
            workspace_id=src.workspace_id,
            caller_uid=caller,
        )
        svc.event(self.clock(), "Normal", "Cloned", f"cloned from {source}")
        self._services[(region, svc.name)] = svc
        self.save()
        return svc

    def _mutable(self, region: str, name: str, operation: str) -> Service:
        svc = self.get(region, name)
        if svc.status in ("Deleting",):
            raise EasApiError(
                400,
                "InvalidServiceStatus",
                f"cannot {operation} service {name} while it is {svc.status}",
            )
        return svc

    def update(self, region: str, name: str, patch: Any, replace: bool) -> Service:
        svc = self._mutable(region, name, "update")
        patch = self._validate(patch, name_required=False)
        if "name" in patch and patch["name"] != name:
            raise EasApiError(400, "InvalidParameter", "a service cannot be renamed")
        svc.update(patch, replace, self.clock(), self.timing)
        self.save()
        return svc

    def update_version(self, region: str, name: str, version: Any) -> Service:
        svc = self._mutable(region, name, "roll back")
        if not isinstance(version, int) or not 1 <= version <= len(svc.versions):
            raise EasApiError(400, "InvalidVersion", f"version {version!r} does not exist")
        svc.roll_back(version, self.clock(), self.timing)
        self.save()
        return svc

    def stop(self, region: str, name: str) -> Service:
        svc = self._mutable(region, name, "stop")
        if svc.status not in ("Stopped", "Stopping"):
            svc.stop(self.clock(), self.timing)
            self.save()
        return svc

    def start(self, region: str, name: str) -> Service:
        svc = self._mutable(region, name, "start")
        if svc.status in ("Stopped", "Failed"):
            svc.start(self.clock(), self.timing)
            self.save()
        return svc

    def delete(self, region: str, name: str) -> Service:
        svc = self.get(region, name)
        if svc.status != "Deleting":
            svc.delete(self.clock(), self.timing)
            self.save()
        return svc

    def set_autoscaler(self, region: str, name: str, body: Any) -> Service:
        svc = self._mutable(region, name, "configure the autoscaler of")
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
        self.save()
        return svc

    def list(self, region: str | None = None) -> list[Service]:
        return [s for (r, _), s in sorted(self._live().items()) if region in (None, r)]

    def reset(self) -> None:
        self._services.clear()
        self.save()

    # -- persistence ---------------------------------------------------------------------

    def save(self) -> None:
        if not self.state_file:
            return
        state = {"services": [s.to_state() for s in self._services.values()]}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".eas-state-")
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle)
        os.replace(tmp, self.state_file)

    def _load(self, path: Path) -> None:
        state = json.loads(path.read_text() or "{}")
        for item in state.get("services", []):
            svc = Service.from_state(item)
            self._services[(svc.region, svc.name)] = svc
