"""One emulated EAS service and its timed state machine.

State is advanced lazily from timestamps (`advance(now)`), so there are no background tasks
and a test can drive time explicitly. A service's status changes only at the instant
`next_change()` names, which is what lets the store advance just the services that are due.
Transitions (all durations configurable):

    create/clone: Creating → (instances start one by one) → Running, or Failed
    update:       Updating → Running (instances move to the new count)
    stop:         Stopping → Stopped (instances 0)
    start:        Starting → Running
    delete:       Deleting → gone

A config whose image or model path contains FAIL_MARKER cannot start: the service ends in
Failed with Reason/Message, as a real image pull or model download failure would."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FAIL_MARKER = "emulator-fail"

TRANSITIONAL = {
    "Creating",
    "Waiting",
    "Pending",
    "Deploying",
    "Starting",
    "Updating",
    "HotUpdate",
    "Scaling",
    "Stopping",
    "Deleting",
}


@dataclass
class Timing:
    deploy_seconds: float = 5.0  # create/clone/start until every instance runs
    update_seconds: float = 3.0
    stop_seconds: float = 2.0
    delete_seconds: float = 2.0


def rfc3339(ts: float) -> str:
    return _rfc3339_second(int(ts // 1))


@functools.lru_cache(maxsize=1 << 16)
def _rfc3339_second(second: int) -> str:
    # Every rendered service formats two timestamps; many share a second, and strftime is
    # a large part of rendering a page.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def config_fails(config: dict[str, Any]) -> str | None:
    """The reason a config cannot start, or None."""
    images = [c.get("image", "") for c in config.get("containers") or [] if isinstance(c, dict)]
    for image in images:
        if FAIL_MARKER in str(image):
            return f"pull image {image} failed: manifest unknown"
    if FAIL_MARKER in str(config.get("model_path", "")):
        return f"download model {config['model_path']} failed: object does not exist"
    return None


def instance_count(config: dict[str, Any]) -> int:
    meta = config.get("metadata") or {}
    try:
        return max(0, int(meta.get("instance", 1)))
    except (TypeError, ValueError):
        return 1


def merge_config(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """UpdateType=merge: objects merge recursively, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class Event:
    time: float
    type: str  # Normal | Warning
    reason: str
    message: str

    def to_api(self) -> dict[str, str]:
        return {
            "Time": rfc3339(self.time),
            "Type": self.type,
            "Reason": self.reason,
            "Message": self.message,
        }


@dataclass
class Service:
    name: str
    region: str
    config: dict[str, Any]
    labels: dict[str, str]
    created: float
    service_id: str = ""
    workspace_id: str = ""
    account: str = ""  # the owner (the API's CallerUid); only it sees the service
    status: str = "Creating"
    reason: str = ""
    message: str = ""
    updated: float = 0.0
    versions: list[dict[str, Any]] = field(default_factory=list)
    current_version: int = 1
    target_instances: int = 0
    running: int = 0
    # The running transition: what it ends in, and when it started/ends.
    target_status: str = "Running"
    phase_started: float = 0.0
    phase_ends: float = 0.0
    start_running: int = 0  # running instances when the phase began
    access_token: str = ""
    autoscaler: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    gone: bool = False
    # ServiceConfig as rendered; computed on first render after each set_config (rendering
    # it is a quarter of the cost of a listing page). Never persisted.
    _config_json: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def new(
        cls,
        name: str,
        region: str,
        config: dict[str, Any],
        labels: dict[str, str],
        now: float,
        timing: Timing,
        workspace_id: str = "",
        account: str = "",
    ) -> Service:
        digest = hashlib.sha256(f"{region}/{name}/{now}".encode()).hexdigest()
        svc = cls(
            name=name,
            region=region,
            config=copy.deepcopy(config),
            labels=dict(labels),
            created=now,
            updated=now,
            service_id=f"eas-m-{digest[:14]}",
            workspace_id=workspace_id,
            account=account,
            access_token=secrets.token_urlsafe(32),
        )
        svc.versions = [copy.deepcopy(config)]
        svc.event(now, "Normal", "Creating", f"service {name} is being created")
        svc._begin("Creating", "Running", now, timing.deploy_seconds)
        return svc

    # -- transitions ---------------------------------------------------------------------

    def event(self, now: float, type_: str, reason: str, message: str) -> None:
        self.events.append(Event(now, type_, reason, message))

    def _begin(self, status: str, target: str, now: float, seconds: float) -> None:
        self.status, self.target_status = status, target
        self.phase_started, self.phase_ends = now, now + max(0.0, seconds)
        self.start_running = self.running
        self.target_instances = 0 if target == "Stopped" else instance_count(self.config)
        self.reason, self.message = status.upper(), f"service is {status.lower()}"
        self.updated = now

    @property
    def transitional(self) -> bool:
        return self.status in TRANSITIONAL

    def _failure(self) -> str | None:
        return config_fails(self.config) if self.target_status == "Running" else None

    def next_change(self) -> float | None:
        """When the status changes next without anyone acting (None: it will not)."""
        if not self.transitional:
            return None
        if self._failure():  # fails half-way through, as a pull or download would
            return self.phase_started + (self.phase_ends - self.phase_started) / 2
        return self.phase_ends

    def advance(self, now: float) -> None:
        """Apply whatever the clock says has happened since the last look."""
        due = self.next_change()
        if due is None:
            return
        failure = self._failure()
        # A change is stamped with the instant it happened, not when someone looked.
        if failure:
            if now >= due:
                self.status, self.reason, self.message = "Failed", "FAILED", failure
                self.running, self.updated = 0, due
                self.event(due, "Warning", "DeployFailed", failure)
            return
        # Instances move one by one from where they were towards the target.
        total = self.phase_ends - self.phase_started
        done = 1.0 if total <= 0 else min(1.0, (now - self.phase_started) / total)
        delta = self.target_instances - self.start_running
        self.running = self.start_running + int(delta * done)
        if now >= due:
            self.running = self.target_instances
            if self.status == "Deleting":
                self.gone = True
                return
            self.status, self.updated = self.target_status, due
            if self.status == "Running":
                self.reason, self.message = "RUNNING", "Service start successfully"
            else:
                self.reason, self.message = self.status.upper(), f"service is {self.status.lower()}"
            self.event(due, "Normal", self.status, f"service is {self.status.lower()}")

    def set_config(self, config: dict[str, Any]) -> None:
        """Replace the config. Never change it in place: its rendering is cached."""
        self.config, self._config_json = config, None

    def config_json(self) -> str:
        if self._config_json is None:
            self._config_json = json.dumps(self.config, sort_keys=True)
        return self._config_json

    def update(self, patch: dict[str, Any], replace: bool, now: float, timing: Timing) -> None:
        config = copy.deepcopy(patch) if replace else merge_config(self.config, patch)
        config["name"] = self.name
        self.set_config(config)
        self.versions.append(copy.deepcopy(self.config))
        self.current_version = len(self.versions)
        self.event(now, "Normal", "Updating", "service config updated")
        if self.status == "Stopped":
            self.updated = now
            return
        self._begin("Updating", "Running", now, timing.update_seconds)

    def roll_back(self, version: int, now: float, timing: Timing) -> None:
        self.set_config(copy.deepcopy(self.versions[version - 1]))
        self.current_version = version
        self.event(now, "Normal", "Updating", f"rolled back to version {version}")
        self._begin("Updating", "Running", now, timing.update_seconds)

    def stop(self, now: float, timing: Timing) -> None:
        self.event(now, "Normal", "Stopping", "service is stopping")
        self._begin("Stopping", "Stopped", now, timing.stop_seconds)

    def start(self, now: float, timing: Timing) -> None:
        self.event(now, "Normal", "Starting", "service is starting")
        self._begin("Starting", "Running", now, timing.deploy_seconds)

    def delete(self, now: float, timing: Timing) -> None:
        self.event(now, "Normal", "Deleting", "service is being deleted")
        self._begin("Deleting", "Deleted", now, timing.delete_seconds)
        self.target_instances = 0

    # -- views ---------------------------------------------------------------------------

    def endpoint_path(self) -> str:
        return f"/api/predict/{self.name}"

    def to_api(self, host_id: str) -> dict[str, Any]:
        """The Service object of DescribeService / ListServices (seed 002's fields)."""
        meta = self.config.get("metadata") or {}
        images = [
            c.get("image") for c in self.config.get("containers") or [] if isinstance(c, dict)
        ]
        internet = f"http://{host_id}.{self.region}.pai-eas.aliyuncs.com{self.endpoint_path()}"
        intranet = f"http://{host_id}.vpc.{self.region}.pai-eas.aliyuncs.com{self.endpoint_path()}"
        return {
            "ServiceName": self.name,
            "ServiceId": self.service_id,
            "ServiceUid": self.service_id,
            "Status": self.status,
            "Reason": self.reason,
            "Message": self.message,
            "Region": self.region,
            "CreateTime": rfc3339(self.created),
            "UpdateTime": rfc3339(self.updated),
            "CurrentVersion": self.current_version,
            "LatestVersion": len(self.versions),
            "TotalInstance": self.target_instances,
            "RunningInstance": self.running,
            "PendingInstance": max(0, self.target_instances - self.running),
            "Cpu": meta.get("cpu", 0),
            "Gpu": meta.get("gpu", 0),
            "Memory": meta.get("memory", 0),
            "Image": images[0] if images else "",
            "InternetEndpoint": internet,
            "IntranetEndpoint": intranet,
            "SecondaryInternetEndpoint": "",
            "SecondaryIntranetEndpoint": "",
            "AccessToken": self.access_token,
            "ServiceConfig": self.config_json(),
            "Labels": [{"LabelKey": k, "LabelValue": v} for k, v in sorted(self.labels.items())],
            "WorkspaceId": self.workspace_id,
            "ServiceGroup": self.config.get("metadata", {}).get("group", ""),
            "Role": "",
            "Weight": 100,
            "TrafficState": "standalone",
            "Resource": meta.get("resource", ""),
            "ResourceAlias": "",
            "QuotaId": "",
            "Gateway": "",
            "CallerUid": self.account,
            "ParentUid": self.account,
            "AppType": "",
            "ExtraData": "",
            "AutoscalerEnabled": self.autoscaler is not None,
            "CronscalerEnabled": False,
            "Namespace": self.name,
        }

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "events" and k[0] != "_"}
        state["events"] = [e.__dict__ for e in self.events]
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Service:
        data = dict(state)
        events = [Event(**e) for e in data.pop("events", [])]
        # Files written before accounts were explicit name the owner as caller_uid.
        if "caller_uid" in data:
            data.setdefault("account", data.pop("caller_uid"))
        svc = cls(**data)
        svc.events = events
        return svc
