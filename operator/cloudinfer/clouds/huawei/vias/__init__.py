"""Huawei Cloud VIAS: algorithm services (the async client and its models)."""

from cloudinfer.clouds.huawei.vias.client import (
    CLOUD,
    PAGE_SIZE,
    TABLE,
    ListingInconsistent,
    ViasClient,
    default_endpoint,
)
from cloudinfer.clouds.huawei.vias.models import (
    ALG_STATUSES,
    Accelerator,
    DeploymentConstraints,
    ServiceApi,
    ServiceDetail,
    ServicePage,
    ServiceSummary,
)

__all__ = [
    "ALG_STATUSES",
    "CLOUD",
    "PAGE_SIZE",
    "TABLE",
    "Accelerator",
    "DeploymentConstraints",
    "ListingInconsistent",
    "ServiceApi",
    "ServiceDetail",
    "ServicePage",
    "ServiceSummary",
    "ViasClient",
    "default_endpoint",
]
