"""The kinds the operator serves: names, scope, printer columns and their models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from cloudinfer.api.algorithmservice import AlgorithmServiceSpec, AlgorithmServiceStatus
from cloudinfer.api.inferenceservice import InferenceServiceSpec, InferenceServiceStatus
from cloudinfer.api.providerconfig import (
    ClusterProviderConfigSpec,
    ProviderConfigSpec,
    ProviderConfigStatus,
)
from cloudinfer.api.serviceinstance import ServiceInstanceSpec, ServiceInstanceStatus

GROUP = "cloudinfer.io"
VERSION = "v1alpha1"
CATEGORY = "cloudinfer"
PART_OF_LABEL = "app.kubernetes.io/part-of"


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0


READY_COLUMNS = (
    PrinterColumn(
        "Ready",
        '.status.conditions[?(@.type=="Ready")].status',
        description="Whether the resource is usable",
    ),
    PrinterColumn(
        "Reason",
        '.status.conditions[?(@.type=="Ready")].reason',
        description="Why it is (not) ready",
    ),
)
SYNCED_COLUMN = PrinterColumn(
    "Synced",
    '.status.conditions[?(@.type=="Synced")].status',
    description="Whether the last reconcile succeeded",
)
AGE_COLUMN = PrinterColumn("Age", ".metadata.creationTimestamp", type="date")
# Every managed kind: `kubectl get cisvc --field-selector spec.providerConfigRef.name=x` and
# the in-use finalizer's check that a provider config has no users left.
PROVIDER_CONFIG_REF_FIELDS = (".spec.providerConfigRef.name", ".spec.providerConfigRef.kind")


@dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    singular: str
    scope: str  # Namespaced or Cluster
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    short_names: tuple[str, ...] = ()
    columns: tuple[PrinterColumn, ...] = field(default_factory=tuple)
    # Fields a LIST can filter on (fieldSelector), e.g. who uses a provider config.
    selectable_fields: tuple[str, ...] = ()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{VERSION}"


_PROVIDER_COLUMNS = (
    PrinterColumn("Cloud", ".spec.cloud", description="The cloud API"),
    PrinterColumn("Region", ".spec.region", description="The region"),
    *READY_COLUMNS,
    AGE_COLUMN,
)

PROVIDER_CONFIG = KindInfo(
    kind="ProviderConfig",
    plural="providerconfigs",
    singular="providerconfig",
    scope="Namespaced",
    description="A cloud account and region that InferenceServices, ServiceInstances and "
    "AlgorithmServices in the same namespace use.",
    spec=ProviderConfigSpec,
    status=ProviderConfigStatus,
    short_names=("cipc",),
    columns=_PROVIDER_COLUMNS,
)

CLUSTER_PROVIDER_CONFIG = KindInfo(
    kind="ClusterProviderConfig",
    plural="clusterproviderconfigs",
    singular="clusterproviderconfig",
    scope="Cluster",
    description="A cloud account and region usable from the namespaces it selects (all by "
    "default); its credentials Secret lives in the operator's namespace.",
    spec=ClusterProviderConfigSpec,
    status=ProviderConfigStatus,
    short_names=("cicpc",),
    columns=_PROVIDER_COLUMNS,
)

INFERENCE_SERVICE = KindInfo(
    kind="InferenceService",
    plural="inferenceservices",
    singular="inferenceservice",
    scope="Namespaced",
    description="A model inference service on PAI-EAS, created, updated, scaled, stopped and "
    "deleted from this resource (or adopted read-only).",
    spec=InferenceServiceSpec,
    status=InferenceServiceStatus,
    short_names=("cisvc",),  # not KServe's isvc
    selectable_fields=PROVIDER_CONFIG_REF_FIELDS,
    columns=(
        PrinterColumn("Service", ".status.serviceName", description="Name on the cloud"),
        PrinterColumn("Phase", ".status.phase", description="Lifecycle phase"),
        PrinterColumn(
            "Progress",
            ".status.progress",
            type="integer",
            description="Percent of instances running",
        ),
        *READY_COLUMNS,
        SYNCED_COLUMN,
        PrinterColumn("URL", ".status.url", description="Where to send requests"),
        AGE_COLUMN,
    ),
)


SERVICE_INSTANCE = KindInfo(
    kind="ServiceInstance",
    plural="serviceinstances",
    singular="serviceinstance",
    scope="Namespaced",
    description="A Huawei DataArts Fabric inference service instance on an inference "
    "endpoint, deployed, resized and deleted from this resource (or adopted read-only).",
    spec=ServiceInstanceSpec,
    status=ServiceInstanceStatus,
    short_names=("cisi",),
    selectable_fields=PROVIDER_CONFIG_REF_FIELDS,
    columns=(
        PrinterColumn("Phase", ".status.phase", description="Lifecycle phase"),
        PrinterColumn("Endpoint", ".spec.endpointId", description="The inference endpoint"),
        PrinterColumn("Min", ".spec.resource.min", type="integer", description="Fewest units"),
        PrinterColumn("Max", ".spec.resource.max", type="integer", description="Most units"),
        PrinterColumn("URL", ".status.url", description="Where to send requests"),
        *READY_COLUMNS,
        SYNCED_COLUMN,
        AGE_COLUMN,
    ),
)

ALGORITHM_SERVICE = KindInfo(
    kind="AlgorithmService",
    plural="algorithmservices",
    singular="algorithmservice",
    scope="Namespaced",
    description="The deployment of a Huawei Cloud VIAS algorithm, deployed, redeployed and "
    "stopped from this resource (or mirrored read-only).",
    spec=AlgorithmServiceSpec,
    status=AlgorithmServiceStatus,
    short_names=("cias",),
    selectable_fields=PROVIDER_CONFIG_REF_FIELDS,
    columns=(
        PrinterColumn("Algorithm", ".status.algorithm.name", description="Algorithm name"),
        PrinterColumn("Phase", ".status.phase", description="Lifecycle phase"),
        PrinterColumn("Streams", ".spec.streamCount", type="integer", description="Video streams"),
        PrinterColumn("Service", ".status.serviceId", description="Service id on the cloud"),
        *READY_COLUMNS,
        SYNCED_COLUMN,
        AGE_COLUMN,
    ),
)

# A `ManagedKind.clouds` key: the kind has one cloud, whatever its spec holds.
ANY_SPEC = ""


@dataclass(frozen=True)
class ManagedKind:
    """A cloud-backed kind, as the generic runtime sees it. Adding a kind is a model, one
    of these in MANAGED_KINDS, and an adapter per cloud in the providers."""

    info: KindInfo
    # Which spec block selects which cloud: attribute of the spec model → cloud name.
    clouds: Mapping[str, str]
    # How an observation becomes this kind's status: the status fields that hold the
    # cloud's id and the cloud-side name (the other observed fields are common to all).
    id_field: str = "serviceId"
    name_field: str = "serviceName"

    def block_of(self, spec: Any) -> tuple[str, str] | None:
        """(spec block, cloud) the spec selects, or None when no block is set."""
        for attribute, cloud in self.clouds.items():
            if attribute == ANY_SPEC or getattr(spec, attribute, None) is not None:
                return attribute, cloud
        return None


INFERENCE_SERVICE_KIND = ManagedKind(
    INFERENCE_SERVICE, MappingProxyType({"eas": "alibaba-eas", "modelarts": "huawei-modelarts"})
)

SERVICE_INSTANCE_KIND = ManagedKind(
    SERVICE_INSTANCE,
    MappingProxyType({ANY_SPEC: "huawei-fabric"}),
    id_field="instanceId",
    name_field="instanceName",
)

ALGORITHM_SERVICE_KIND = ManagedKind(
    ALGORITHM_SERVICE,
    MappingProxyType({ANY_SPEC: "huawei-vias"}),
    id_field="serviceId",
    name_field="algId",
)

MANAGED_KINDS: tuple[ManagedKind, ...] = (
    INFERENCE_SERVICE_KIND,
    SERVICE_INSTANCE_KIND,
    ALGORITHM_SERVICE_KIND,
)
ALL_KINDS: tuple[KindInfo, ...] = (
    PROVIDER_CONFIG,
    CLUSTER_PROVIDER_CONFIG,
    *(k.info for k in MANAGED_KINDS),
)


def managed_kind(kind: str) -> ManagedKind:
    """The managed kind by its Kind name (e.g. `InferenceService`)."""
    for managed in MANAGED_KINDS:
        if managed.info.kind == kind:
            return managed
    raise KeyError(kind)
