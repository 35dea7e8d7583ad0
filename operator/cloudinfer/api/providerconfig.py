"""ProviderConfig and ClusterProviderConfig: which cloud account and region to use, and how."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from cloudinfer.api.common import (
    ApiModel,
    PollIntervals,
    SecretReference,
    StatusBase,
    cel_rules,
    defaulted,
)
from cloudinfer.api.selector import LabelSelector

CloudName = Literal["alibaba-eas", "huawei-modelarts", "huawei-fabric", "huawei-vias"]
CLOUDS: tuple[str, ...] = get_args(CloudName)

# Clouds whose API paths are scoped by a Huawei project id.
PROJECT_SCOPED_CLOUDS: tuple[str, ...] = ("huawei-modelarts", "huawei-vias")

_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class RateLimit(ApiModel):
    """Client-side rate limit for calls to the cloud API, shared by every resource that uses
    this provider config."""

    qps: float = Field(default=10.0, gt=0, le=10000)
    """Sustained requests per second."""
    burst: int = Field(default=20, ge=1, le=100000)
    """Requests that may be sent at once after a quiet period."""


class ProviderConfigSpec(ApiModel):
    """Which cloud API to call, where, and with which credentials."""

    model_config = cel_rules(
        {
            "rule": "!(self.cloud in ['huawei-modelarts', 'huawei-vias']) || has(self.projectId)",
            "message": "projectId is required when cloud is huawei-modelarts or huawei-vias",
            "fieldPath": ".projectId",
            "reason": "FieldValueRequired",
        }
    )

    cloud: CloudName
    """The cloud API: `alibaba-eas` (Alibaba Cloud PAI-EAS), `huawei-modelarts` (ModelArts
    real-time services), `huawei-fabric` (DataArts Fabric service instances) or `huawei-vias`
    (VIAS algorithm services)."""
    region: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    """Region id, e.g. `cn-shanghai` or `cn-north-4`."""
    endpoint: str | None = Field(
        default=None,
        max_length=2048,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "isURL(self) && url(self).getScheme() in ['http', 'https'] "
                    "&& url(self).getHostname() != ''",
                    "message": "endpoint must be an absolute http:// or https:// URL",
                }
            ]
        },
    )
    """Base URL that replaces the cloud's public endpoint (the bundled emulator, a private
    endpoint). Default: the public endpoint of `region`."""
    project_id: str | None = Field(default=None, pattern=_ID)
    """Huawei project id; required for huawei-modelarts and huawei-vias."""
    workspace_id: str | None = Field(default=None, pattern=_ID)
    """Default workspace: the PAI workspace for alibaba-eas, the DataArts Fabric workspace for
    huawei-fabric. Resources may override it."""
    credentials_secret_ref: SecretReference
    """Secret holding the credentials. For ProviderConfig it lives in the same namespace; for
    ClusterProviderConfig in the operator's namespace. Keys: `accessKeyId` and
    `accessKeySecret` (optional `securityToken` for temporary credentials); huawei-* clouds
    accept an IAM token under `iamToken` instead of the key pair."""
    rate_limit: RateLimit = defaulted(RateLimit)
    """Client-side limit for calls to the cloud API."""
    poll_intervals: PollIntervals = defaulted(PollIntervals)
    """How often services are observed on the cloud."""
    allow_cross_namespace_adoption: bool = False
    """Let a resource adopt (managementPolicy Observe, or the `cloudinfer.io/adopt`
    annotation) or clone from a cloud resource that another namespace's resource created.
    Off by default: a cloud resource carrying another namespace's owner labels is usable only
    from that namespace. Resources made outside Kubernetes carry no owner labels and stay
    adoptable."""


class ClusterProviderConfigSpec(ProviderConfigSpec):
    """Which cloud API to call, where, with which credentials, and for which namespaces."""

    namespace_selector: LabelSelector | None = None
    """Namespaces whose resources may use this account, by their labels. Absent: every
    namespace (as Crossplane). A resource in a namespace it does not select is not Ready
    (reason ProviderConfigNotAllowed) and nothing is called on the cloud for it."""


class ProviderConfigStatus(StatusBase):
    """Whether the provider config is usable."""
