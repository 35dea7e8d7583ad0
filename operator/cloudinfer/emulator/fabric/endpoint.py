"""A DataArts Fabric endpoint, as far as service instances need one: an inference endpoint's
reserved resources (`reserved_resource.mu{spec_code, min, max}`), which bound the `max` of the
instances deployed on it (reference/huawei.md §5.2).

Endpoints are not created through the emulator's cloud API (no CreateEndpoint): they come
from `--fabric-endpoint` and the admin API, and ShowEndpoint / ListEndpoints read them.
`type` and `status` take the SDK's `EndpointType` and `EndpointStatus` values only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TYPES = (
    "service",
    "ray",
    "inference",
    "job",
    "ray_service",
    "sql",
    "container_job",
    "notebook",
)
STATUSES = (
    "CREATING",
    "RUNNING",
    "CREATE_FAILED",
    "DELETING",
    "DELETED",
    "UPDATING",
    "UPDATE_FAILED",
    "DELETE_FAILED",
    "FROZEN",
    "INACTIVE",
)
INFERENCE = "inference"
RUNNING = "RUNNING"


@dataclass
class Endpoint:
    endpoint_id: str
    account: str
    workspace: str
    name: str
    spec_code: str
    min: int
    max: int
    created: float
    updated: float
    type: str = INFERENCE
    status: str = RUNNING
    description: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account, self.workspace, self.endpoint_id)

    def to_state(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Endpoint:
        return cls(**state)
