"""Huawei Cloud ModelArts real-time services, API v1: the async client and its models."""

from cloudinfer.clouds.huawei.modelarts.client import (
    CLOUD,
    PAGE_SIZE,
    TABLE,
    ModelArtsClient,
    default_endpoint,
)
from cloudinfer.clouds.huawei.modelarts.models import (
    CustomSpec,
    EventPage,
    ModelArtsService,
    ServiceConfig,
    ServiceEvent,
    ServicePage,
)

__all__ = [
    "CLOUD",
    "PAGE_SIZE",
    "TABLE",
    "CustomSpec",
    "EventPage",
    "ModelArtsClient",
    "ModelArtsService",
    "ServiceConfig",
    "ServiceEvent",
    "ServicePage",
    "default_endpoint",
]
