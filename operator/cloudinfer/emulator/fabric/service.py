"""One emulated DataArts Fabric service instance and its timed state machine.

As for ModelArts, state moves lazily from timestamps (`advance(now, timing)`): no background
tasks, and a test drives time with its own clock. The status changes only at the instant
`next_change()` names, which is what lets the store advance just the instances that are due.

    deploy:                       PENDING (the first fifth of deploy_seconds) → CREATING →
                                  RUNNING at deploy_seconds
    update changing resource.max: UPDATING → RUNNING after update_seconds (from RUNNING or
                                  FAILED); a name or description alone changes at once
    delete:                       DELETING → gone after delete_seconds (then 404)

A source id containing FAIL_MARKER cannot start: half-way through CREATING (or UPDATING) the
instance turns FAILED with `error_code` and `error_msg`, as a model that cannot be loaded
would. Statuses are the SDK's `StatusEnum` members; SUCCEEDED, STOPPING, STOPPED and DELETED
are never entered (inference instances are not jobs, and the API has no stop)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.fabric.errors import INTERNAL_ERROR

FAIL_MARKER = "emulator-fail"
PENDING_SHARE = 0.2  # the part of the deploy time an instance is PENDING before CREATING
STATUSES = (
    "PENDING",
    "CREATING",
    "RUNNING",
    "UPDATING",
    "SUCCEEDED",
    "FAILED",
    "STOPPING",
    "STOPPED",
    "DELETING",
    "DELETED",
)
# Statuses whose `max` counts against the endpoint's capacity: all but those holding nothing.
RELEASED = ("DELETING", "DELETED", "FAILED")
# Statuses an update is accepted in (the others are mid-operation).
UPDATABLE = ("RUNNING", "FAILED", "STOPPED", "SUCCEEDED")


@dataclass
class Instance:
    instance_id: str
    name: str
    description: str
    account: str
    workspace: str
    region: str
    endpoint_id: str
    source_id: str
    version_id: str | None
    spec_code: str
    min: int
    max: int
    created: float
    updated: float  # update_time: the last operation or status change
    create_user: str
    update_user: str
    status: str = "PENDING"
    phase_started: float = 0.0
    phase_ends: float = 0.0
    error_code: str = ""
    error_msg: str = ""
    gone: bool = False

    @property
    def holds_capacity(self) -> bool:
        """Whether its `max` counts against the endpoint's maximum."""
        return not self.gone and self.status not in RELEASED

    # -- transitions ---------------------------------------------------------------------

    def _begin(self, status: str, now: float, seconds: float) -> None:
        self.status, self.updated = status, now
        self.phase_started, self.phase_ends = now, now + max(0.0, seconds)

    def failure(self) -> str | None:
        """Why the instance cannot start, or None."""
        if FAIL_MARKER in self.source_id:
            return (
                f"Deploy service instance {self.instance_id} failed: model {self.source_id} "
                "cannot be loaded."
            )
        return None

    def _midpoint(self) -> float:
        return self.phase_started + (self.phase_ends - self.phase_started) / 2

    def next_change(self) -> float | None:
        """When the status changes next without anyone acting (None: it will not)."""
        if self.status == "PENDING":
            return self.phase_started + (self.phase_ends - self.phase_started) * PENDING_SHARE
        if self.status in ("CREATING", "UPDATING"):
            return self._midpoint() if self.failure() else self.phase_ends
        if self.status == "DELETING":
            return self.phase_ends
        return None

    def advance(self, now: float, timing: Timing) -> None:
        """Apply whatever the clock says has happened since the last look; each change is
        stamped with the instant it happened, not when someone looked."""
        while not self.gone:
            due = self.next_change()
            if due is None or due > now:
                return
            self._step(due)

    def _step(self, at: float) -> None:
        if self.status == "PENDING":
            self.status, self.updated = "CREATING", at
        elif self.status in ("CREATING", "UPDATING"):
            failure = self.failure()
            if failure:
                self.status, self.updated = "FAILED", at
                self.error_code, self.error_msg = INTERNAL_ERROR, failure
            else:
                self.status, self.updated = "RUNNING", at
        elif self.status == "DELETING":
            self.gone = True

    def deploy(self, now: float, timing: Timing) -> None:
        self._begin("PENDING", now, timing.deploy_seconds)

    def resize(self, max_: int, user: str, now: float, timing: Timing) -> None:
        """A new `resource.max`: the instance scales (UPDATING) and runs again."""
        self.max, self.update_user = max_, user
        self.error_code = self.error_msg = ""
        self._begin("UPDATING", now, timing.update_seconds)

    def rename(self, name: str | None, description: str | None, user: str, now: float) -> None:
        if name is not None:
            self.name = name
        if description is not None:
            self.description = description
        self.update_user, self.updated = user, now

    def delete(self, now: float, timing: Timing) -> None:
        self._begin("DELETING", now, timing.delete_seconds)

    # -- views ---------------------------------------------------------------------------

    def duration(self, now: float) -> int:
        """Whole seconds since it was deployed."""
        return max(0, int(now - self.created))

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Instance:
        return cls(**state)
