"""Huawei Cloud DataArts Fabric: service instances on inference endpoints (the async client
and its models)."""

from cloudinfer.clouds.huawei.fabric.client import (
    CLOUD,
    PAGE_SIZE,
    TABLE,
    FabricClient,
    ListingInconsistent,
    default_endpoint,
    endpoints_endpoint,
    instances_endpoint,
)
from cloudinfer.clouds.huawei.fabric.models import (
    EndpointPage,
    FabricEndpoint,
    InstancePage,
    InstanceUrl,
    ServiceInstance,
)
from cloudinfer.clouds.huawei.fabric_errors import EndpointCapacityExceeded

__all__ = [
    "CLOUD",
    "PAGE_SIZE",
    "TABLE",
    "EndpointCapacityExceeded",
    "EndpointPage",
    "FabricClient",
    "FabricEndpoint",
    "InstancePage",
    "InstanceUrl",
    "ListingInconsistent",
    "ServiceInstance",
    "default_endpoint",
    "endpoints_endpoint",
    "instances_endpoint",
]
