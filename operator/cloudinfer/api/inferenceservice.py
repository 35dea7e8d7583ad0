"""InferenceService: a PAI-EAS or Huawei Cloud ModelArts inference service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from cloudinfer.api.common import (
    ApiModel,
    ManagedSpec,
    ManagedStatus,
    SecretKeySelector,
    cel_rules,
)
from cloudinfer.api.env import EnvVar
from cloudinfer.api.modelarts import MODELARTS_SERVICE_NAME, ModelArtsSpec

# PAI-EAS service names: lower-case letters, digits and underscores, starting with a letter.
EAS_SERVICE_NAME = r"^[a-z][a-z0-9_]{0,63}$"
# What any cloud's service name may be; each cloud's own rule is a CEL rule on the spec.
ANY_SERVICE_NAME = MODELARTS_SERVICE_NAME

PHASES = (
    "Pending",
    "Creating",
    "Running",
    "Updating",
    "Stopping",
    "Stopped",
    "Starting",
    "Failed",
    "Deleting",
    "Unknown",
)


class CloneSource(ApiModel):
    """An existing service to clone (PAI-EAS CloneService)."""

    service_name: str = Field(pattern=EAS_SERVICE_NAME)
    """Name of the service to copy, in the same region and account."""


def env_ref_path(container: int, var: int) -> str:
    """Where the secretKeyRef of containers[container].env[var] is in the object."""
    return f"spec.eas.containers[{container}].env[{var}].valueFrom.secretKeyRef"


class EasContainer(ApiModel):
    """A container of a custom-image service."""

    image: str = Field(min_length=1, max_length=1024)
    """Image reference, e.g. `registry.cn-shanghai.aliyuncs.com/eas/echo:v1`."""
    command: str | None = Field(default=None, max_length=4096)
    """Command the container runs (EAS `script`)."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Port the container serves on."""
    env: list[EnvVar] = Field(
        default_factory=list,
        max_length=100,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    """Environment variables, as in a Pod: `{name, value}` or
    `{name, valueFrom: {secretKeyRef: {name, key}}}`; names are unique."""


class EasAutoscaling(ApiModel):
    """Horizontal autoscaling (PAI-EAS UpdateServiceAutoScaler)."""

    model_config = cel_rules(
        {"rule": "self.min <= self.max", "message": "min must not exceed max", "fieldPath": ".min"}
    )

    min: int = Field(ge=0, le=1000)
    """Fewest instances."""
    max: int = Field(ge=1, le=1000)
    """Most instances."""
    metric: Literal["qps", "cpu"] = "qps"
    """What to scale on: `qps` per instance or `cpu` utilisation (percent)."""
    threshold: float = Field(gt=0, le=100000)
    """Target value of the metric per instance."""


class EasSpec(ApiModel):
    """The PAI-EAS service: common fields typed, anything else under `config`."""

    processor: str | None = Field(default=None, max_length=256)
    """Built-in processor, e.g. `tensorflow_cpu`, `pmml`; leave out for custom images."""
    containers: list[EasContainer] = Field(default_factory=list, max_length=8)
    """Containers of a custom-image service."""
    model_path: str | None = Field(default=None, max_length=2048)
    """Model location, e.g. `oss://bucket/path/model.tar.gz`."""
    instances: int = Field(default=1, ge=0, le=1000)
    """Number of instances (while no autoscaling is set)."""
    cpu: int | None = Field(default=None, ge=1, le=512)
    """vCPUs per instance."""
    memory: int | None = Field(default=None, ge=1, le=4_000_000)
    """Memory per instance in MB."""
    gpu: int | None = Field(default=None, ge=0, le=64)
    """GPUs per instance."""
    resource_group: str | None = Field(default=None, max_length=128)
    """Dedicated resource group id (EAS `metadata.resource`); public resources when unset."""
    workspace_id: str | None = Field(default=None, max_length=64)
    """PAI workspace; defaults to the provider config's."""
    autoscaling: EasAutoscaling | None = None
    """Autoscaling; when set, the autoscaler owns the instance count."""
    config: dict[str, Any] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )
    """Any other EAS service config fields (as in CreateService's body), merged under the
    typed fields above, which win."""


_IMMUTABLE: list[JsonDict] = [
    {
        "rule": "has(self.serviceName) == has(oldSelf.serviceName) && "
        "(!has(self.serviceName) || self.serviceName == oldSelf.serviceName)",
        "message": "serviceName is immutable",
        "fieldPath": ".serviceName",
    },
    {
        "rule": "has(self.cloneFrom) == has(oldSelf.cloneFrom) && "
        "(!has(self.cloneFrom) || self.cloneFrom == oldSelf.cloneFrom)",
        "message": "cloneFrom is immutable",
        "fieldPath": ".cloneFrom",
    },
    {
        "rule": "has(self.eas) == has(oldSelf.eas) && "
        "has(self.modelarts) == has(oldSelf.modelarts)",
        "message": "the cloud (spec.eas or spec.modelarts) cannot change: create a new resource",
        "fieldPath": ".modelarts",
    },
    {
        "rule": "!has(self.modelarts) || !has(oldSelf.modelarts) || "
        "(has(self.modelarts.serviceId) == has(oldSelf.modelarts.serviceId) && "
        "(!has(self.modelarts.serviceId) || "
        "self.modelarts.serviceId == oldSelf.modelarts.serviceId))",
        "message": "modelarts.serviceId is immutable",
        "fieldPath": ".modelarts.serviceId",
    },
    {
        "rule": "self.providerConfigRef == oldSelf.providerConfigRef",
        "message": "providerConfigRef is immutable",
        "fieldPath": ".providerConfigRef",
    },
]


class InferenceServiceSpec(ManagedSpec):
    """The desired inference service."""

    model_config = cel_rules(
        *_IMMUTABLE,
        {
            "rule": "self.managementPolicy != 'Observe' || has(self.serviceName) "
            "|| has(self.modelarts)",
            "message": "serviceName is required when managementPolicy is Observe "
            "(the service to adopt)",
            "fieldPath": ".serviceName",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "!has(self.modelarts) || self.managementPolicy != 'Observe' "
            "|| has(self.modelarts.serviceId)",
            "message": "modelarts.serviceId is required when managementPolicy is Observe "
            "(the id of the ModelArts service to adopt)",
            "fieldPath": ".modelarts.serviceId",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "!has(self.modelarts) || !has(self.modelarts.serviceId) "
            "|| self.managementPolicy == 'Observe'",
            "message": "modelarts.serviceId adopts an existing service read-only: only with "
            "managementPolicy Observe",
            "fieldPath": ".modelarts.serviceId",
        },
        {
            "rule": "has(self.eas) != has(self.modelarts)",
            "message": "set exactly one of eas (Alibaba Cloud PAI-EAS) and modelarts "
            "(Huawei Cloud ModelArts)",
            "fieldPath": ".eas",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "!has(self.eas) || !has(self.serviceName) || "
            f"self.serviceName.matches('{EAS_SERVICE_NAME}')",
            "message": "serviceName on PAI-EAS: lower-case letters, digits and underscores, "
            "starting with a letter, at most 64",
            "fieldPath": ".serviceName",
        },
        {
            "rule": "!has(self.cloneFrom) || has(self.eas)",
            "message": "cloneFrom is for PAI-EAS services (spec.eas) only",
            "fieldPath": ".cloneFrom",
        },
        {
            "rule": "!has(self.eas) || self.managementPolicy == 'Observe' || "
            "has(self.cloneFrom) || has(self.eas.processor) || has(self.eas.config) || "
            "(has(self.eas.containers) && size(self.eas.containers) > 0)",
            "message": "eas needs a processor, containers or config to run (or set cloneFrom)",
            "fieldPath": ".eas",
            "reason": "FieldValueRequired",
        },
    )

    service_name: str | None = Field(default=None, pattern=ANY_SERVICE_NAME)
    """Name of the service on the cloud; immutable. Default: metadata.name, on PAI-EAS with
    `-` and `.` turned into `_` (EAS names are lower-case letters, digits and underscores),
    on ModelArts with `.` turned into `-` (letters, digits, `-` and `_`)."""
    clone_from: CloneSource | None = None
    """Create by cloning this service (its config, overridden by `eas`); immutable."""
    stopped: bool = False
    """Stop the service (instances released, config kept); false starts it again."""
    labels: dict[str, str] = Field(default_factory=dict, json_schema_extra={"maxProperties": 20})
    """Labels to put on the cloud service."""
    eas: EasSpec | None = None
    """An Alibaba Cloud PAI-EAS service (the ProviderConfig's cloud: alibaba-eas)."""
    modelarts: ModelArtsSpec | None = None
    """A Huawei Cloud ModelArts real-time service (the ProviderConfig's cloud:
    huawei-modelarts)."""

    def existing_id(self) -> str | None:
        return self.modelarts.service_id if self.modelarts is not None else None

    def secret_key_refs(self) -> list[tuple[str, SecretKeySelector]]:
        refs: list[tuple[str, SecretKeySelector]] = []
        if self.eas is not None:
            refs += [
                (env_ref_path(i, j), var.value_from.secret_key_ref)
                for i, container in enumerate(self.eas.containers)
                for j, var in enumerate(container.env)
                if var.value_from is not None
            ]
        if self.modelarts is not None:
            refs += [
                (f"spec.modelarts.models[{i}].envs[{j}].valueFrom.secretKeyRef", ref)
                for i, model in enumerate(self.modelarts.models)
                for j, var in enumerate(model.envs)
                if var.value_from is not None and (ref := var.value_from.secret_key_ref)
            ]
        return refs


class Endpoints(ApiModel):
    """Where the service answers."""

    model_config = ConfigDict(extra="ignore")

    internet: str | None = None
    """Public endpoint."""
    intranet: str | None = None
    """VPC endpoint."""


class InstanceCounts(ApiModel):
    """Instances as the cloud reports them."""

    model_config = ConfigDict(extra="ignore")

    total: int = 0
    """Instances wanted."""
    running: int = 0
    """Instances serving."""
    pending: int = 0
    """Instances starting."""


class ModelStatus(ApiModel):
    """One model of a multi-model service (ModelArts) as the cloud reports it."""

    model_config = ConfigDict(extra="ignore")

    model_id: str
    """The model."""
    status: str | None = None
    """The model's own status on the cloud (e.g. running, deploying, concerning)."""
    instance_count: int = 0
    """Instances of this model."""
    weight: int | None = None
    """Its share of the traffic, in percent."""


class InferenceServiceStatus(ManagedStatus):
    """Observed state of the service."""

    phase: str | None = Field(default=None, json_schema_extra={"enum": list(PHASES)})
    """Lifecycle phase: Pending, Creating, Running, Updating, Stopping, Stopped, Starting,
    Failed, Deleting or Unknown."""
    cloud_status: str | None = None
    """The status exactly as the cloud reports it."""
    progress: int | None = Field(default=None, ge=0, le=100)
    """Percent of instances running while the service is being deployed or scaled."""
    service_name: str | None = None
    """Name of the service on the cloud."""
    service_id: str | None = None
    """Id of the service on the cloud."""
    url: str | None = None
    """Where to send requests: the public endpoint if any, else the VPC one (as KServe's
    `status.url`)."""
    endpoints: Endpoints | None = None
    """Every endpoint."""
    instances: InstanceCounts | None = None
    """Instance counts."""
    models: list[ModelStatus] | None = None
    """ModelArts: each model's status, instances and traffic weight."""
    message: str | None = None
    """What is going on, or what went wrong, in words."""
    applied_autoscaling: str | None = None
    """Fingerprint of the autoscaling settings last sent to the cloud."""
    applied_config: str | None = None
    """ModelArts: fingerprint of the configuration last sent to, or seen on, the cloud (a
    changed spec is compared with the service itself before it is sent)."""
