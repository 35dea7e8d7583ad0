"""One emulated ModelArts real-time service and its timed state machine.

As for EAS, state moves lazily from timestamps (`advance(now, timing)`): no background tasks,
and a test drives time with its own clock. The status changes only at the instant
`next_change()` names, which is what lets the store advance just the services that are due.

    create:                      deploying (progress 0→100) → running, or failed (error_msg)
    update with config:          deploying → running (a stopped service stays stopped)
    update status=stopped:       stopping → stopped
    update status=running:       deploying → running (from stopped or failed)
    delete:                      deleting → gone
    auto-stop (schedule):        running → stopping → stopped, at `due_time`
    unhealthy instances (admin): running ⇄ concerning

A config whose model id contains FAIL_MARKER cannot start: half-way through deploying the
service turns failed with `error_msg` and an abnormal event, as a model that cannot be
pulled or started would. Times are kept in seconds; the API shows epoch milliseconds."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.emulator.eas.service import Timing

FAIL_MARKER = "emulator-fail"
MAX_EVENTS = 500  # the oldest events fall off a long-lived service's log
UNIT_SECONDS = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400}


@dataclass
class Event:
    at: float
    type: str  # normal | abnormal
    info: str


def auto_stop_seconds(attributes: dict[str, Any]) -> float | None:
    """The `schedule` stop rule's delay, or None without one."""
    for rule in attributes.get("schedule") or []:
        if rule.get("type") == "stop":
            return float(rule["duration"]) * UNIT_SECONDS[rule["time_unit"]]
    return None


@dataclass
class Service:
    service_id: str
    name: str
    account: str
    project: str
    region: str
    infer_type: str
    config: list[dict[str, Any]]
    attributes: dict[str, Any]
    created: float  # publish_at
    updated: float  # update_time: when the config in use was set
    transition: float  # transition_at: when the status last changed
    operated: float  # operation_time: the last operation asked of the service
    status: str = "deploying"
    target: str = "running"  # what the current phase ends in: running | stopped | gone
    phase_started: float = 0.0
    phase_ends: float = 0.0
    error_msg: str = ""
    failed_progress: int = 0
    unhealthy: dict[str, int] = field(default_factory=dict)  # model_id → unhealthy instances
    due: float | None = None  # when the auto-stop rule stops a running service
    events: list[Event] = field(default_factory=list)
    gone: bool = False

    # -- transitions ---------------------------------------------------------------------

    def event(self, at: float, type_: str, info: str) -> None:
        self.events.append(Event(at, type_, info))
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]

    def _begin(self, status: str, target: str, now: float, seconds: float) -> None:
        if status != self.status:
            self.transition = now
        self.status, self.target = status, target
        self.phase_started, self.phase_ends = now, now + max(0.0, seconds)
        self.operated = now

    def failure(self) -> str | None:
        """Why the config cannot start, or None."""
        for item in self.config:
            model = str(item.get("model_id", ""))
            if FAIL_MARKER in model:
                return f"Deploy model {model} failed: the model image cannot be pulled."
        return None

    def next_change(self) -> float | None:
        """When the status changes next without anyone acting (None: it will not)."""
        if self.status == "deploying":
            if self.failure():  # fails half-way through, as a pull or a start would
                return self.phase_started + (self.phase_ends - self.phase_started) / 2
            return self.phase_ends
        if self.status in ("stopping", "deleting"):
            return self.phase_ends
        if self.status in ("running", "concerning"):
            return self.due
        return None

    def advance(self, now: float, timing: Timing) -> None:
        """Apply whatever the clock says has happened since the last look; each change is
        stamped with the instant it happened, not when someone looked."""
        while not self.gone:
            due = self.next_change()
            if due is None or due > now:
                return
            self._step(due, timing)

    def _step(self, at: float, timing: Timing) -> None:
        if self.status == "deploying":
            failure = self.failure()
            if failure:
                self.failed_progress = self.progress(at)
                self.status, self.error_msg, self.transition = "failed", failure, at
                self.event(at, "abnormal", f"Service {self.name} failed. Error: {failure}")
                return
            self.status, self.transition = self._healthy_status(), at
            self.event(at, "normal", "The service is running.")
            stop_after = auto_stop_seconds(self.attributes)
            if stop_after is not None:
                self.due = at + stop_after
                self.event(
                    at,
                    "normal",
                    f"Auto stop has been enabled. The service will stop after {stop_after:.0f}s.",
                )
        elif self.status == "stopping":
            self.status, self.transition, self.unhealthy = "stopped", at, {}
            self.event(at, "normal", "The service has been stopped.")
        elif self.status == "deleting":
            self.gone = True
        elif self.status in ("running", "concerning"):  # the auto-stop instant
            self.due = None
            self.event(at, "normal", "The service stops when the auto stop time expires.")
            self._begin("stopping", "stopped", at, timing.stop_seconds)

    def _healthy_status(self) -> str:
        return "concerning" if any(self.unhealthy.values()) else "running"

    def deploy(self, now: float, seconds: float) -> None:
        """The first deployment, right after creation."""
        self._begin("deploying", "running", now, seconds)

    def start(self, now: float, timing: Timing) -> None:
        self.event(now, "normal", "The service is being started.")
        self.error_msg, self.unhealthy = "", {}
        self._begin("deploying", "running", now, timing.deploy_seconds)

    def stop(self, now: float, timing: Timing) -> None:
        self.event(now, "normal", "The service is being stopped.")
        self.due = None
        self._begin("stopping", "stopped", now, timing.stop_seconds)

    def delete(self, now: float, timing: Timing) -> None:
        self.event(now, "normal", "The service is being deleted.")
        self.due = None
        self._begin("deleting", "gone", now, timing.delete_seconds)

    def set_config(self, config: list[dict[str, Any]], now: float, timing: Timing) -> None:
        self.config, self.updated, self.operated = copy.deepcopy(config), now, now
        self.event(now, "normal", "The service is being updated.")
        if self.status == "stopped":
            return
        self.error_msg, self.unhealthy, self.due = "", {}, None
        self._begin("deploying", "running", now, timing.update_seconds)

    def set_attributes(self, attributes: dict[str, Any], now: float) -> None:
        self.attributes.update(copy.deepcopy(attributes))
        self.operated = now
        if "schedule" in attributes and self.status in ("running", "concerning"):
            stop_after = auto_stop_seconds(self.attributes)
            self.due = None if stop_after is None else now + stop_after
            if stop_after is None:
                self.event(now, "normal", "Auto stop has been disabled.")
            else:
                self.event(
                    now,
                    "normal",
                    f"Auto stop has been enabled. The service will stop after {stop_after:.0f}s.",
                )

    def set_unhealthy(self, model_id: str, count: int, now: float) -> None:
        """Mark `count` instances of one model unhealthy (0 heals them)."""
        if count:
            self.unhealthy[model_id] = count
        else:
            self.unhealthy.pop(model_id, None)
        if self.status not in ("running", "concerning"):
            return  # applies when the service next runs (stopping or starting resets it)
        status = self._healthy_status()
        if status == self.status:
            return
        self.status, self.transition = status, now
        if status == "concerning":
            self.event(now, "abnormal", f"{count} instance(s) of model {model_id} are unhealthy.")
        else:
            self.event(now, "normal", "All instances are healthy.")

    # -- views ---------------------------------------------------------------------------

    def progress(self, now: float) -> int:
        """Deployment progress: 0→99 while deploying, frozen where it failed, else 100."""
        if self.status == "failed":
            return self.failed_progress
        if self.status != "deploying":
            return 100
        total = self.phase_ends - self.phase_started
        done = 1.0 if total <= 0 else (now - self.phase_started) / total
        return max(0, min(99, int(done * 100)))

    def model_status(self, model_id: str) -> str:
        """A config item's status (running, deploying, concerning, failed, stopped)."""
        if self.status == "concerning":
            return "concerning" if self.unhealthy.get(model_id) else "running"
        if self.status == "failed":
            return "failed" if FAIL_MARKER in model_id else "stopped"
        return {"deploying": "deploying", "running": "running", "stopping": "running"}.get(
            self.status, "stopped"
        )

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "events"}
        state["events"] = [e.__dict__ for e in self.events]
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Service:
        data = dict(state)
        events = [Event(**e) for e in data.pop("events", [])]
        svc = cls(**data)
        svc.events = events
        return svc
