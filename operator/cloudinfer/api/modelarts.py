"""`InferenceService.spec.modelarts`: a Huawei Cloud ModelArts real-time service (API v1).

Bounds are the API's (huawei.md §4.2): at most 128 instances per model, weights summing to
100, a description of at most 100 characters without `!<>=&"'`. What the API refuses is
refused at admission with the field named, so a bad spec never reaches the cloud."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudinfer.api.common import ApiModel, cel_rules
from cloudinfer.api.env import EnvVar

# ModelArts ids (model, workspace, cluster): what the console shows, kept loose but bounded.
MODELARTS_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# ModelArts service names: 1-64 letters, digits, `-` and `_`.
MODELARTS_SERVICE_NAME = r"^[A-Za-z0-9_-]{1,64}$"
# The characters ModelArts refuses in a description.
FORBIDDEN_DESCRIPTION = r"^[^!<>=&\"']*$"


class CustomSpec(ApiModel):
    """Resources per instance, instead of a named `specification`."""

    model_config = cel_rules(
        {
            "rule": "!(has(self.gpuP4) && has(self.ascendA310))",
            "message": "set at most one of gpuP4 and ascendA310",
            "fieldPath": ".ascendA310",
        }
    )

    cpu: float = Field(ge=0.01, le=256)
    """CPU cores (decimals allowed, at least 0.01)."""
    memory: int = Field(ge=1, le=4_000_000)
    """Memory in MB."""
    gpu_p4: float | None = Field(default=None, ge=0, le=64)
    """GPUs (decimals allowed)."""
    ascend_a310: int | None = Field(default=None, ge=0, le=64)
    """Ascend chips."""


class ModelArtsModel(ApiModel):
    """One model of the service (a ModelArts `config` item)."""

    model_config = cel_rules(
        {
            "rule": "has(self.specification) != has(self.customSpec)",
            "message": "set exactly one of specification and customSpec",
            "fieldPath": ".specification",
        },
        {
            "rule": "!has(self.specification) || self.specification != 'custom' "
            "|| has(self.customSpec)",
            "message": "specification custom needs customSpec",
            "fieldPath": ".customSpec",
        },
    )

    model_id: str = Field(pattern=MODELARTS_ID)
    """The ModelArts model (its id) to serve."""
    specification: str | None = Field(default=None, min_length=1, max_length=64)
    """A named resource flavour, e.g. `modelarts.vm.cpu.2u`."""
    custom_spec: CustomSpec | None = None
    """Resources per instance instead of a named flavour."""
    instance_count: int = Field(default=1, ge=1, le=128)
    """Instances of this model."""
    weight: int = Field(default=100, ge=0, le=100)
    """Share of the traffic, in percent; the weights of all models sum to 100."""
    envs: list[EnvVar] = Field(
        default_factory=list,
        max_length=100,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
        },
    )
    """Environment variables of the model's instances: `{name, value}` or
    `{name, valueFrom: {secretKeyRef: {name, key}}}`; names are unique."""


class Schedule(ApiModel):
    """Stop the service after it has run this long (ModelArts `schedule`, type `stop`, the
    only type the API has)."""

    duration: int = Field(ge=1, le=100_000)
    """How many time units."""
    time_unit: Literal["MINUTES", "HOURS", "DAYS"] = "HOURS"
    """The unit of `duration`."""


class ModelArtsSpec(ApiModel):
    """The ModelArts real-time service: its models and where it runs."""

    model_config = cel_rules(
        {
            "rule": "self.inferType == 'real-time'",
            "message": "only real-time services are supported (batch and edge are not yet)",
            "fieldPath": ".inferType",
        },
        {
            "rule": "(has(self.models) && size(self.models) > 0) || has(self.serviceId)",
            "message": "models is required (at least one), unless serviceId names an existing "
            "service to observe",
            "fieldPath": ".models",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "!has(self.models) || size(self.models) == 0 || "
            "self.models.map(m, m.weight).sum() == 100",
            "message": "the weights of models must sum to 100",
            "fieldPath": ".models",
        },
        {
            "rule": "!(has(self.clusterId) && has(self.poolName))",
            "message": "set at most one of clusterId and poolName",
            "fieldPath": ".poolName",
        },
    )

    infer_type: Literal["real-time", "batch", "edge"] = "real-time"
    """The kind of service; only `real-time` for now."""
    service_id: str | None = Field(default=None, pattern=MODELARTS_ID)
    """An existing service to adopt read-only, by its id (the console's "service ID"); only
    with `managementPolicy: Observe`, which then needs no `models`. Immutable."""
    models: list[ModelArtsModel] = Field(default_factory=list, max_length=10)
    """The models it serves and how traffic is split between them (at least one, unless
    `serviceId` names a service to observe)."""
    description: str | None = Field(default=None, max_length=100, pattern=FORBIDDEN_DESCRIPTION)
    """Description on the cloud (at most 100 characters, none of `!<>=&"'`)."""
    workspace_id: str | None = Field(default=None, pattern=MODELARTS_ID)
    """ModelArts workspace; defaults to the provider config's."""
    cluster_id: str | None = Field(default=None, pattern=MODELARTS_ID)
    """Dedicated resource pool (old style); public resources when neither this nor
    `poolName` is set."""
    pool_name: str | None = Field(default=None, pattern=MODELARTS_ID)
    """Dedicated resource pool (new style)."""
    schedule: Schedule | None = None
    """Stop the service automatically after it has run this long."""
    additional_properties: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    """ModelArts `additional_properties`: service attributes for your own management. The
    operator adds its owner marker here (keys `cloudinfer-uid`, `cloudinfer-resource`, which
    win over the same keys set here), which is how it finds a service whose create answer
    was lost."""
