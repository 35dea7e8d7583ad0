"""What the generic reconciler knows about a managed resource and its cloud counterpart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

OWNER_LABEL = "cloudinfer-uid"  # stamped on cloud resources: the CR uid that owns them
RESOURCE_LABEL = "cloudinfer-resource"  # namespace.name, for humans looking at the console


@dataclass(frozen=True)
class ManagedResource:
    namespace: str
    name: str
    uid: str
    generation: int
    spec: Any  # the kind's parsed spec model
    external_name: str
    status: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    finalizers: tuple[str, ...] = ()
    deleting: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name


@dataclass(frozen=True)
class Observation:
    """The cloud side, as the adapter sees it, already mapped to the common vocabulary."""

    exists: bool
    owner_uid: str | None = None
    up_to_date: bool = True
    drift: tuple[str, ...] = ()
    phase: str = "Unknown"
    cloud_status: str = ""
    transitional: bool = False
    failed: bool = False
    deleting: bool = False
    stopped: bool = False
    progress: int | None = None
    external_id: str = ""
    endpoints: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None
    instances: dict[str, int] | None = None
    message: str = ""
    connection: dict[str, str] = field(default_factory=dict, repr=False)  # secret material


class ExternalClient(Protocol):
    async def observe(self, resource: ManagedResource, fresh: bool = False) -> Observation: ...

    async def create(self, resource: ManagedResource) -> None: ...

    async def update(self, resource: ManagedResource, observation: Observation) -> dict[str, Any]:
        """Bring the cloud in line with the spec; returns status fields to record."""
        ...

    async def delete(self, resource: ManagedResource) -> None: ...
