"""ServiceInstance: a Huawei DataArts Fabric inference service instance on an inference
endpoint (DeployServiceInstance, seed 001).

Bounds are the API's: ids of 1-36 letters, digits and `-`; a name of 1-64 letters, digits,
`-_.` and spaces; a description without `!<>=&'"` (of at most 1,024 characters with the
operator's owner marker); `min` and
`max` in [1, 1000] with `max >= min`. What the API cannot change on an instance
(`resource.min`, `resource.specCode`, `source`, `endpointId`) is immutable here,
so the refusal comes at admission with the field named, not from the cloud later."""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from cloudinfer.api.common import ApiModel, ManagedSpec, ManagedStatus, cel_rules
from cloudinfer.api.inferenceservice import PHASES

FABRIC_ID = r"^[A-Za-z0-9-]{1,36}$"
FABRIC_NAME = r"^[A-Za-z0-9_. -]{1,64}$"
FORBIDDEN_DESCRIPTION = r"^[^!<>=&'\"]*$"
NEW_INSTANCE = "create a new ServiceInstance to change it"


def _same(path: str) -> str:
    """CEL: the optional field at `path` (below self) is unchanged, set or not."""
    head, _, leaf = path.rpartition(".")
    parent = f"self.{head}" if head else "self"
    old = f"oldSelf.{head}" if head else "oldSelf"
    same = (
        f"(has({parent}.{leaf}) == has({old}.{leaf}) && "
        f"(!has({parent}.{leaf}) || {parent}.{leaf} == {old}.{leaf}))"
    )
    # A parent block added or removed is another rule's business (required fields).
    return f"!has({parent}) || !has({old}) || {same}" if head else same


def _immutable(path: str) -> JsonDict:
    return {
        "rule": _same(path),
        "message": f"{path} cannot change on an existing instance; {NEW_INSTANCE}",
        "fieldPath": f".{path}",
    }


_IMMUTABLE: list[JsonDict] = [
    *(
        _immutable(path)
        for path in (
            "endpointId",
            "workspaceId",
            "instanceId",
            "resource.min",
            "resource.specCode",
            "source.id",
            "source.versionId",
        )
    ),
    {
        "rule": "self.providerConfigRef == oldSelf.providerConfigRef",
        "message": "providerConfigRef is immutable",
        "fieldPath": ".providerConfigRef",
    },
]


class SourceRef(ApiModel):
    """What the instance serves: for an inference instance, the model and its version."""

    id: str = Field(pattern=FABRIC_ID)
    """The model id; cannot change on an existing instance."""
    version_id: str | None = Field(default=None, pattern=FABRIC_ID)
    """The model version id; cannot change on an existing instance."""


class ResourceDemand(ApiModel):
    """How many resource units the instance scales between (Fabric adjusts the count to the
    load), and of which specification."""

    model_config = cel_rules(
        {
            "rule": "self.max >= self.min",
            "message": "resource.max must be greater than or equal to resource.min",
            "fieldPath": ".max",
        }
    )

    min: int = Field(ge=1, le=1000)
    """Fewest units; cannot change on an existing instance."""
    max: int = Field(ge=1, le=1000)
    """Most units. The `max` of all instances on an endpoint may not exceed the endpoint's
    own maximum (`reserved_resource.mu.max`): the operator checks before deploying."""
    spec_code: str = Field(min_length=1, max_length=64)
    """Resource specification, from the specification list (e.g. `mu.llama3.8b`); cannot
    change on an existing instance."""


class ServiceInstanceSpec(ManagedSpec):
    """The desired service instance."""

    model_config = cel_rules(
        *_IMMUTABLE,
        {
            "rule": "has(self.instanceId) || "
            "(has(self.endpointId) && has(self.source) && has(self.resource))",
            "message": "endpointId, source and resource are required (unless instanceId names "
            "an existing instance to observe)",
            "fieldPath": ".endpointId",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "self.managementPolicy != 'Observe' || has(self.instanceId)",
            "message": "instanceId is required when managementPolicy is Observe (the id of the "
            "instance to adopt)",
            "fieldPath": ".instanceId",
            "reason": "FieldValueRequired",
        },
        {
            "rule": "!has(self.instanceId) || self.managementPolicy == 'Observe'",
            "message": "instanceId adopts an existing instance read-only: only with "
            "managementPolicy Observe",
            "fieldPath": ".instanceId",
        },
    )

    workspace_id: str | None = Field(default=None, pattern=FABRIC_ID)
    """DataArts Fabric workspace; defaults to the provider config's `workspaceId`."""
    endpoint_id: str | None = Field(default=None, pattern=FABRIC_ID)
    """The inference endpoint the instance runs on; cannot change."""
    source: SourceRef | None = None
    """The model (and version) to serve."""
    name: str | None = Field(default=None, pattern=FABRIC_NAME)
    """Name on the cloud (1-64 letters, digits, `-`, `_`, `.` and spaces). Default:
    metadata.name."""
    description: str | None = Field(default=None, max_length=896, pattern=FORBIDDEN_DESCRIPTION)
    """Description on the cloud: at most 896 characters, none of `!<>=&'"` (Fabric takes
    1,024; the operator appends its owner marker, `[cloudinfer-uid: <uid> ns: <namespace>]`,
    at most 128)."""
    resource: ResourceDemand | None = None
    """Resource units and their specification."""
    instance_id: str | None = Field(default=None, pattern=FABRIC_ID)
    """An existing instance to adopt read-only, by its id; only with
    `managementPolicy: Observe`, which then needs no endpointId, source or resource."""

    def existing_id(self) -> str | None:
        return self.instance_id


class InstanceEndpoints(ApiModel):
    """Where the instance answers, by the visibility Fabric reports."""

    model_config = ConfigDict(extra="ignore")

    public: str | None = None
    """Public address (url type PUBLIC)."""
    private: str | None = None
    """Private address (url type PRIVATE)."""


class InstanceCounts(ApiModel):
    """Resource units as the cloud reports them."""

    model_config = ConfigDict(extra="ignore")

    min: int | None = None
    """Fewest units."""
    max: int | None = None
    """Most units."""


class ServiceInstanceStatus(ManagedStatus):
    """Observed state of the instance."""

    phase: str | None = Field(default=None, json_schema_extra={"enum": list(PHASES)})
    """Lifecycle phase: Pending, Creating, Running, Updating, Stopping, Stopped, Failed,
    Deleting or Unknown."""
    cloud_status: str | None = None
    """The status exactly as the cloud reports it (PENDING, CREATING, RUNNING, ...)."""
    progress: int | None = Field(default=None, ge=0, le=100)
    """100 once running; Fabric reports no finer progress."""
    instance_name: str | None = None
    """Name of the instance on the cloud."""
    instance_id: str | None = None
    """Id of the instance on the cloud."""
    url: str | None = None
    """Where to send requests: the public address if any, else the private one."""
    endpoints: InstanceEndpoints | None = None
    """Every address."""
    instances: InstanceCounts | None = None
    """The resource units the cloud has for the instance."""
    message: str | None = None
    """What is going on, or what went wrong (Fabric's error_code and error_msg), in words."""
    applied_config: str | None = None
    """Fingerprint of the settings last sent to, or seen on, the cloud."""
