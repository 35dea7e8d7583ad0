"""A VIAS algorithm (what the catalogue offers), the one service record it has in a project,
and that record's timed state machine.

As for the other modules, state moves lazily from timestamps (`advance(now)`): no background
tasks, and a test drives time with its own clock. The status changes only at the instant
`next_change()` names, which is what lets the store advance just the services that are due.

    deploy (from not_deployed, service_stopped or service_failed):
        service_deploying → service_running after deploy_seconds
    deploy (from service_running or service_concerning: an upgrade with the new settings):
        service_upgrading → service_running after update_seconds
    stop (from any status but not_deployed, service_stopping and service_stopped):
        service_stopping → service_stopped after stop_seconds

A deployment whose `deploy_config` or `envs` holds FAIL_MARKER in any key or value (at any
depth) cannot start: half-way through service_deploying (or service_upgrading) the service
turns service_failed with `error_msg`, as an algorithm whose container cannot start would.
service_concerning and service_finished are never entered by themselves: the admin API sets
them (and any other status), and a status set so stays until the next operation."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.emulator.eas.service import Timing

FAIL_MARKER = "emulator-fail"

NOT_DEPLOYED = "not_deployed"
DEPLOYING = "service_deploying"
RUNNING = "service_running"
UPGRADING = "service_upgrading"
CONCERNING = "service_concerning"
STOPPING = "service_stopping"
STOPPED = "service_stopped"
FAILED = "service_failed"
FINISHED = "service_finished"
STATUSES = (
    NOT_DEPLOYED,
    DEPLOYING,
    RUNNING,
    UPGRADING,
    CONCERNING,
    STOPPING,
    STOPPED,
    FAILED,
    FINISHED,
)
# Deploying from these starts the service; from UPGRADABLE it upgrades the running one.
STARTABLE = (NOT_DEPLOYED, STOPPED, FAILED)
UPGRADABLE = (RUNNING, CONCERNING)
# A deploy or stop is refused while one of these runs (VIAS.00010003).
IN_PROGRESS = (DEPLOYING, UPGRADING, STOPPING)

REQUEST_MODES = ("sync", "async")
CPU_TYPES = ("x86_64", "aarch64")
INPUT_TYPES = ("OBS", "URL", "Restful", "VCN", "EdgeCamera")
OUTPUT_TYPES = ("OBS", "DIS", "Webhook")
DEPLOY_TYPES = ("cloud", "edge")
ALG_CLASSES = ("self", "partner")

# Where the deterministic ids (services, packages) come from: the same inputs give the same
# id on every emulator, across restarts.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cloudinfer.invalid/emulator/vias")

# The seed's example (reference seed 004), for algorithms that do not say otherwise.
DEFAULT_COMPANY = "Huawei Cloud"
DEFAULT_VERSION = "1.0.0"
DEFAULT_FUNCTION_VERSION = "1.0"
DEFAULT_ACCELERATOR = {"type": "gp", "name": "Tnt004", "cuda_version": "cuda 10.2"}
DEFAULT_SERVICE_CONFIG = (
    '<?xml version="1.0" encoding="UTF-8"?><algorithm><deployConfig> <param name="sub_scene" '
    'titleCn="Sub scenario" titleEn="sub scene" required="false" type="String" '
    'default="common"/></deployConfig></algorithm>'
)
DEFAULT_TASK_CONFIG = "<algorithm><config><common/></config></algorithm>"


def service_id_for(account: str, project: str, alg_id: str) -> str:
    """The id of an algorithm's service record in a project: derived, not random, so a
    record created lazily has the same id after a restart (or on another emulator)."""
    return str(uuid.uuid5(ID_NAMESPACE, f"service/{account}/{project}/{alg_id}"))


@dataclass
class AlgorithmSpec:
    """What ShowServiceDetail and ListUserServices say about the algorithm itself; the admin
    API may override any of it."""

    name: str
    api: str  # the short name in the task URLs (`/v2/{project}/services/{api}/tasks`)
    package_id: str
    package_name: str
    description: str = ""
    logo: str = ""
    diagram: str = ""
    company: str = DEFAULT_COMPANY
    alg_version: str = DEFAULT_VERSION
    alg_versions: list[str] = field(default_factory=lambda: [DEFAULT_VERSION])
    function_version: str = DEFAULT_FUNCTION_VERSION
    release_flag: bool = True
    tags: list[str] = field(default_factory=list)
    request_mode: str = "async"
    cpu_type: str = "x86_64"
    accelerators: list[dict[str, str]] = field(default_factory=lambda: [dict(DEFAULT_ACCELERATOR)])
    input_types: list[str] = field(default_factory=lambda: ["Restful", "VCN"])
    output_types: list[str] = field(default_factory=lambda: ["Webhook"])
    service_config: str = DEFAULT_SERVICE_CONFIG
    task_config: str = DEFAULT_TASK_CONFIG
    deploy_type: str = "cloud"
    alg_class: str = "self"
    can_update: bool = False
    new_alg_id: str = ""

    @classmethod
    def default(cls, alg_id: str, name: str, **overrides: Any) -> AlgorithmSpec:
        """The seed's defaults for algorithm `alg_id` called `name`, with `overrides`."""
        spec = cls(
            name=name,
            api=f"c-{alg_id.lower()}",
            package_id=str(uuid.uuid5(ID_NAMESPACE, f"package/{alg_id}")),
            package_name=name,
        )
        return dataclasses.replace(spec, **overrides)

    def to_state(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AlgorithmSpec:
        return cls(**state)


OVERRIDABLE = tuple(f.name for f in dataclasses.fields(AlgorithmSpec) if f.name != "name")


@dataclass
class Algorithm:
    """A catalogue entry: an algorithm an account has in one project, or (project None) in
    every project of the account."""

    account: str
    project: str | None
    alg_id: str
    spec: AlgorithmSpec
    created: float

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.account, self.project, self.alg_id)

    def to_state(self) -> dict[str, Any]:
        return {**self.__dict__, "spec": self.spec.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Algorithm:
        return cls(**{**state, "spec": AlgorithmSpec.from_state(state["spec"])})


def _mentions_marker(value: Any) -> bool:
    """Whether FAIL_MARKER is in any key or value of a JSON value, at any depth."""
    return FAIL_MARKER in json.dumps(value, ensure_ascii=False)


@dataclass
class Service:
    """An algorithm's service in one project of one account."""

    service_id: str
    account: str
    project: str
    alg_id: str
    spec: AlgorithmSpec  # the algorithm's, kept in step by the store (not saved with it)
    created: float
    updated: float  # updated_at: the last operation on the service
    status: str = NOT_DEPLOYED
    error_msg: str = ""
    pool_id: str = ""
    stream_count: int | None = None  # what the last accepted deploy asked for
    deploy_config: dict[str, Any] = field(default_factory=dict)
    envs: dict[str, str] = field(default_factory=dict)
    phase_started: float = 0.0
    phase_ends: float = 0.0
    timed: bool = False  # a phase runs: the status moves on by itself at next_change()

    # -- transitions ---------------------------------------------------------------------

    def _begin(self, status: str, now: float, seconds: float) -> None:
        self.status, self.updated, self.error_msg, self.timed = status, now, "", True
        self.phase_started, self.phase_ends = now, now + max(0.0, seconds)

    def failure(self) -> str | None:
        """Why the deployment cannot start, or None."""
        if _mentions_marker(self.deploy_config) or _mentions_marker(self.envs):
            return (
                f"Failed to deploy the service of algorithm {self.alg_id}: the service "
                f"cannot start with this deploy_config or envs ({FAIL_MARKER})."
            )
        return None

    def next_change(self) -> float | None:
        """When the status changes next without anyone acting (None: it will not)."""
        if not self.timed:
            return None
        if self.status in (DEPLOYING, UPGRADING) and self.failure():
            return self.phase_started + (self.phase_ends - self.phase_started) / 2
        return self.phase_ends

    def advance(self, now: float) -> None:
        """Apply whatever the clock says has happened since the last look."""
        due = self.next_change()
        if due is not None and due <= now:
            self._step()

    def _step(self) -> None:
        self.timed = False
        if self.status in (DEPLOYING, UPGRADING):
            failure = self.failure()
            self.status, self.error_msg = (FAILED, failure) if failure else (RUNNING, "")
        elif self.status == STOPPING:
            self.status = STOPPED

    def deploy(
        self,
        now: float,
        timing: Timing,
        stream_count: int,
        pool_id: str | None,
        deploy_config: dict[str, Any] | None,
        envs: dict[str, str] | None,
    ) -> None:
        """An accepted DeployAlgorithm: a first deployment or restart (service_deploying),
        or an upgrade of a running service (service_upgrading). What is not sent is kept."""
        upgrade = self.status in UPGRADABLE
        self.stream_count = stream_count
        if pool_id:
            self.pool_id = pool_id
        if deploy_config is not None:
            self.deploy_config = deploy_config
        if envs is not None:
            self.envs = envs
        if upgrade:
            self._begin(UPGRADING, now, timing.update_seconds)
        else:
            self._begin(DEPLOYING, now, timing.deploy_seconds)

    def stop(self, now: float, timing: Timing) -> None:
        self._begin(STOPPING, now, timing.stop_seconds)

    def force(self, status: str, error_msg: str, now: float) -> None:
        """The admin API's status: set at once, and kept until the next operation."""
        self.status, self.error_msg, self.updated, self.timed = status, error_msg, now, False

    def reset(self, now: float) -> None:
        """Back to how the catalogue offers it: never deployed."""
        self.status, self.error_msg, self.updated, self.timed = NOT_DEPLOYED, "", now, False
        self.pool_id, self.stream_count, self.deploy_config, self.envs = "", None, {}, {}

    # -- persistence ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "spec"}

    @classmethod
    def from_state(cls, state: dict[str, Any], spec: AlgorithmSpec) -> Service:
        return cls(**state, spec=spec)
