"""AlgorithmService: the deployment of a Huawei Cloud VIAS algorithm (seed 004; reference
huawei.md §6).

VIAS keys deploy and stop by the algorithm id, and an account has one service per algorithm
and project, so `algId` is the identity (client-named) and cannot change. There is no delete
API: deleting the resource stops the deployment. `serviceId` instead mirrors an existing
service read-only (`managementPolicy: Observe`). Bounds are the API's: `streamCount` in
[1, 10000]; ids are VIAS's UUID-like ids."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from cloudinfer.api.common import ApiModel, ManagedSpec, ManagedStatus, SecretKeySelector, cel_rules
from cloudinfer.api.env import EnvVar

VIAS_ID = r"^[A-Za-z0-9-]{1,64}$"
NEW_SERVICE = "create a new AlgorithmService to deploy another algorithm"

PHASES = (
    "Deploying",
    "Running",
    "Updating",
    "Degraded",
    "Stopping",
    "Stopped",
    "Failed",
    "Finished",
    "Unknown",
)


def _strings(item: str) -> Any:
    """An optional list of strings whose items are described too (`kubectl explain`)."""
    return Field(default=None, json_schema_extra={"items": {"type": "string", "description": item}})


def env_ref_path(index: int) -> str:
    return f"spec.envs[{index}].valueFrom.secretKeyRef"


class AlgorithmServiceSpec(ManagedSpec):
    """The desired deployment of one VIAS algorithm."""

    model_config = cel_rules(
        {
            "rule": "has(self.algId) == has(oldSelf.algId) && "
            "(!has(self.algId) || self.algId == oldSelf.algId)",
            "message": f"algId cannot change: it names the deployment; {NEW_SERVICE}",
            "fieldPath": ".algId",
        },
        {
            "rule": "has(self.serviceId) == has(oldSelf.serviceId) && "
            "(!has(self.serviceId) || self.serviceId == oldSelf.serviceId)",
            "message": "serviceId cannot change; create a new AlgorithmService to observe "
            "another service",
            "fieldPath": ".serviceId",
        },
        {
            "rule": "self.providerConfigRef == oldSelf.providerConfigRef",
            "message": "providerConfigRef is immutable",
            "fieldPath": ".providerConfigRef",
        },
        {
            "rule": "self.managementPolicy == 'Observe' || (has(self.algId) && "
            "has(self.streamCount))",
            "message": "algId and streamCount are required (unless managementPolicy is Observe)",
            "fieldPath": ".streamCount",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "self.managementPolicy != 'Observe' || has(self.algId) || has(self.serviceId)",
            "message": "managementPolicy Observe needs serviceId (or algId) of the service to "
            "mirror",
            "fieldPath": ".serviceId",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "!has(self.serviceId) || self.managementPolicy == 'Observe'",
            "message": "serviceId mirrors an existing service read-only: only with "
            "managementPolicy Observe (to deploy, set algId)",
            "fieldPath": ".serviceId",
        },
    )

    alg_id: str | None = Field(default=None, pattern=VIAS_ID)
    """The algorithm to deploy, by its id (VIAS keys deploy and stop by it: one deployment
    per algorithm in a project). Cannot change."""
    pool_id: str | None = Field(default=None, pattern=VIAS_ID)
    """The resource pool to deploy on; needed for the algorithm's first deployment (VIAS
    keeps it after that)."""
    stream_count: int | None = Field(default=None, ge=1, le=10000)
    """Video streams the service handles (1-10,000). A change redeploys (an upgrade while
    the service runs)."""
    deploy_config: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    """The algorithm's deployment parameters (VIAS `deploy_config`; which keys an algorithm
    takes is in its `service_config`, see status.deploymentConstraints). A change
    redeploys."""
    envs: list[EnvVar] = Field(
        default_factory=list,
        max_length=100,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    """Environment variables of the service: `{name, value}` or `{name, valueFrom:
    {secretKeyRef: {name, key}}}`; names are unique. A change (a Secret's value included)
    redeploys."""
    stopped: bool = False
    """Stop the deployment (StopDeployAlgorithm); false deploys it again."""
    service_id: str | None = Field(default=None, pattern=VIAS_ID)
    """An existing service to mirror read-only, by its id; only with `managementPolicy:
    Observe`, which then needs no algId or streamCount. Cannot change."""

    def secret_key_refs(self) -> list[tuple[str, SecretKeySelector]]:
        return [
            (env_ref_path(i), var.value_from.secret_key_ref)
            for i, var in enumerate(self.envs)
            if var.value_from is not None
        ]


class ServiceApi(ApiModel):
    """One API of the deployed algorithm (VIAS `service_api_list`)."""

    model_config = ConfigDict(extra="ignore")

    request_type: str | None = None
    """HTTP method: GET, POST, PUT or DELETE."""
    url: str | None = None
    """The request URL (VIAS `request_url`, a path on the VIAS endpoint)."""
    description: str | None = None
    """What the API does."""


class AlgorithmInfo(ApiModel):
    """The algorithm behind the service."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    """Algorithm name."""
    version: str | None = None
    """The version deployed."""
    versions: list[str] | None = _strings("A version of the algorithm.")
    """Versions the algorithm has."""
    package: str | None = None
    """Algorithm package name."""


class DeploymentConstraints(ApiModel):
    """What the algorithm needs and takes (VIAS `deployment_constraints`), summarised."""

    model_config = ConfigDict(extra="ignore")

    cpu_type: str | None = None
    """x86_64 or aarch64."""
    accelerators: list[str] | None = _strings("One card: `type/name (version)`.")
    """Accelerator cards, as `type/name (cuda or driver version)`."""
    input_types: list[str] | None = _strings("An input type.")
    """Inputs it takes: OBS, URL, Restful, VCN, EdgeCamera."""
    output_types: list[str] | None = _strings("An output type.")
    """Outputs it gives: OBS, DIS, Webhook."""


class AlgorithmServiceStatus(ManagedStatus):
    """Observed state of the deployment."""

    phase: str | None = Field(default=None, json_schema_extra={"enum": list(PHASES)})
    """Lifecycle phase: Deploying, Running, Updating, Degraded (VIAS service_concerning),
    Stopping, Stopped, Failed, Finished or Unknown."""
    cloud_status: str | None = None
    """`alg_status` exactly as VIAS reports it (service_running, ...)."""
    progress: int | None = Field(default=None, ge=0, le=100)
    """100 once running; VIAS reports no finer progress."""
    alg_id: str | None = None
    """The algorithm deployed."""
    service_id: str | None = None
    """Id of the algorithm's service on the cloud."""
    service_name: str | None = None
    """Name of the service on the cloud."""
    algorithm: AlgorithmInfo | None = None
    """The algorithm's name and versions."""
    deploy_type: str | None = None
    """cloud or edge."""
    request_mode: str | None = None
    """sync or async."""
    pool_id: str | None = None
    """The resource pool the service runs on."""
    url: str | None = None
    """The first of the service's APIs, as a full URL."""
    endpoints: dict[str, str] | None = None
    """The service's APIs: description → `METHOD URL`."""
    service_apis: list[ServiceApi] | None = None
    """The service's APIs (VIAS `service_api_list`)."""
    deployment_constraints: DeploymentConstraints | None = None
    """What the algorithm needs and takes."""
    message: str | None = None
    """What is going on, or what went wrong (VIAS `error_msg`), in words."""
    applied_config: str | None = None
    """Fingerprint of the settings last sent to, or seen on, the cloud."""
