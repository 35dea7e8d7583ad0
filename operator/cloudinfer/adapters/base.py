"""What the generic reconciler and the adapters share: the resource as the reconciler sees
it, the cloud side as an adapter reports it, and the adapter interface (Crossplane's
ExternalClient: observe, create, update, delete)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cloudinfer.clouds.errors import CloudError

OWNER_LABEL = "cloudinfer-uid"  # stamped on cloud resources: the CR uid that owns them
RESOURCE_LABEL = "cloudinfer-resource"  # namespace.name: whose it is, for tenancy and humans
# On the resource: the client-named cloud name, recorded before the first create (the
# reconciler writes it; an adapter whose cloud keeps no owner marker reads it).
EXTERNAL_NAME = "cloudinfer.io/external-name"


def owner_labels(namespace: str, name: str, uid: str) -> dict[str, str]:
    return {OWNER_LABEL: uid, RESOURCE_LABEL: f"{namespace}.{name}"}


def owner_of(labels: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(owner uid, owner namespace) from a cloud resource's labels; a namespace holds no
    dots, so the first one ends it."""
    resource = labels.get(RESOURCE_LABEL)
    return labels.get(OWNER_LABEL), resource.partition(".")[0] if resource else None


class CrossNamespace(CloudError):
    """A cloud resource another namespace's resource made, used (adopted, cloned) from
    here without the provider config allowing it: refused before any call that acts."""


Identity = Literal["client-named", "server-named"]


@dataclass(frozen=True)
class CreatePending:
    """The marker written before a create call: which object (uid) may have created
    something, and when."""

    uid: str
    since: str

    def render(self) -> str:
        return f"{self.uid} {self.since}"

    @classmethod
    def parse(cls, text: str | None) -> CreatePending | None:
        if not text:
            return None
        uid, _, since = text.strip().partition(" ")
        return cls(uid, since) if uid else None


@dataclass(frozen=True)
class ManagedResource:
    kind: str
    namespace: str
    name: str
    uid: str
    generation: int
    spec: Any  # the kind's parsed spec model (a ManagedSpec)
    # Client-named: the cloud name (fixed before the first create). Server-named: the name
    # the service is given; its identity is `external_id`.
    external_name: str
    external_id: str = ""  # server-named: the id the cloud returned, once recorded
    create_pending: CreatePending | None = None
    status: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    finalizers: tuple[str, ...] = ()
    deleting: bool = False
    # Values of the Secret keys the spec references (spec.secret_key_refs()), by the path of
    # the reference: secret material, resolved by the runtime for the adapter's requests.
    secret_values: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.namespace, self.name

    @property
    def manage(self) -> bool:
        return bool(self.spec.management_policy == "Manage")


@dataclass(frozen=True)
class Holder:
    """A resource that recorded a cloud name (annotation EXTERNAL_NAME) in the same place on
    the cloud (cloud, endpoint, region, project or workspace), in any namespace."""

    namespace: str
    name: str
    uid: str
    created: str  # creationTimestamp (RFC 3339, so it sorts by time)


def no_holders(name: str) -> tuple[Holder, ...]:
    return ()


@dataclass(frozen=True)
class CallContext:
    """Per-call settings from the resource's provider config: shared clients and accounts
    are never mutated per call, so two provider configs never see each other's."""

    region: str
    workspace_id: str | None = None
    project_id: str | None = None
    # The provider config lets resources adopt or clone what another namespace's made.
    cross_namespace: bool = False
    # The account identity (providers.base.Provider.account_identity); "" when unknown.
    account: str = ""
    # Who recorded a name here, from the runtime's cache of every resource of the kind: for
    # clouds whose resources carry no owner mark (VIAS), ownership is decided on this side.
    holders: Callable[[str], tuple[Holder, ...]] = field(
        default=no_holders, compare=False, repr=False
    )


@dataclass(frozen=True)
class Drift:
    """One field where the cloud differs from the spec. Messages name the path only: values
    can be secrets (an env variable, a token)."""

    path: str
    have: Any = field(default=None, repr=False)
    want: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.path

    @staticmethod
    def describe(drift: tuple[Drift, ...]) -> str:
        return ", ".join(d.path for d in drift)


@dataclass(frozen=True)
class CloudEvent:
    """An event the cloud keeps about a resource, posted once as a Kubernetes Event."""

    warning: bool
    message: str
    at: int  # epoch ms


@dataclass(frozen=True)
class Observation:
    """The cloud side, as the adapter sees it, already mapped to the common vocabulary."""

    exists: bool
    owner_uid: str | None = None
    owner_namespace: str | None = None
    drift: tuple[Drift, ...] = ()
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
    # Status fields of the kind's own the adapter wants written with this observation (never
    # secret), e.g. the fingerprint of a configuration seen to be in place.
    recorded: Mapping[str, Any] = field(default_factory=dict)
    # The cloud's events not posted yet, oldest first (the adapter records in `recorded`
    # how far it has seen: they are posted after that status is written, at most once).
    cloud_events: tuple[CloudEvent, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return not self.drift


@dataclass(frozen=True)
class Lookup:
    """Server-named identity: the outcome of looking for what a lost create may have made.
    `found` is the id; else `authoritative` says whether "absent" is proven."""

    found: str = ""
    authoritative: bool = False
    detail: str = ""


ABSENT = Observation(exists=False)


class ExternalClient(Protocol):
    """One (kind, cloud) adapter. Plain data in and out; nothing shared is mutated."""

    identity: Identity

    def external_name(self, spec: Any, metadata_name: str) -> str:
        """The name the cloud resource has (client-named: its identity)."""
        ...

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        """Pure read. `fresh` asks the cloud directly instead of the batch snapshot."""
        ...

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        """Server-named only: find what this resource's create stamped with its uid. Raises
        the cloud's error when the lookup itself is refused; `authoritative=False` is for an
        answer that cannot prove absence."""
        ...

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        """Create; return the external id (client-named: the external name)."""
        ...

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        """Bring the cloud in line with the spec; returns status fields to record."""
        ...

    async def claim(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any] | None:
        """Stamp this resource's owner labels on an existing cloud resource it adopts; return
        status fields to record with the adoption (VIAS: the settings taken as applied), or
        None."""
        ...

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None: ...

    def gone(self, observation: Observation) -> bool:
        """Whether deletion is complete (VIAS: a stopped deployment counts as gone)."""
        ...
