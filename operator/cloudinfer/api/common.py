"""Building blocks shared by every kind: the model base, references, conditions."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

# RFC 1123 subdomain, what Kubernetes accepts as the name of a Secret.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class ApiModel(BaseModel):
    """Base of every spec/status model: camelCase on the wire, attribute docstrings as
    descriptions (they become `kubectl explain` text). Unknown fields are ignored when parsing:
    strictness lives in the CRD schema the API server enforces, so an object written under a
    newer CRD can still be read (and deleted) by an older operator."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )


M = TypeVar("M", bound=BaseModel)


def defaulted(model: type[M]) -> Any:
    """A field that defaults to `model()`, with the same default in the CRD so the API server
    fills it in (as the fully defaulted object: CEL rules see every key)."""
    return Field(
        default_factory=model,
        json_schema_extra={"default": model().model_dump(by_alias=True, mode="json")},
    )


def cel_rules(*rules: JsonDict) -> ConfigDict:
    """Model config that attaches CEL validation rules (x-kubernetes-validations) to the
    model's schema: the API server enforces them at admission."""
    return ConfigDict(json_schema_extra={"x-kubernetes-validations": list(rules)})


class SecretReference(ApiModel):
    """A reference to a Secret by name."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    """Name of the Secret."""


# What Kubernetes accepts as a key of a Secret's data.
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"


class SecretKeySelector(ApiModel):
    """A key of a Secret in the resource's namespace."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    """Name of the Secret, in this resource's namespace."""
    key: str = Field(min_length=1, max_length=253, pattern=SECRET_KEY)
    """Key in the Secret's data."""


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(ApiModel):
    """The state of one aspect of the resource (the metav1.Condition shape)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=316)
    """Kind of condition: `Ready` (usable) or `Synced` (the last reconcile succeeded)."""
    status: ConditionStatus
    """`True`, `False` or `Unknown`."""
    reason: str = Field(
        min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
    )
    """A CamelCase word that says why the condition is in this status."""
    message: str = Field(default="", max_length=32768)
    """A human-readable explanation, naming the field or object at fault."""
    last_transition_time: str
    """When the status last changed (RFC 3339)."""
    observed_generation: int | None = Field(default=None, ge=0)
    """The metadata.generation the condition was computed for."""


class StatusBase(ApiModel):
    """Fields every kind's status carries."""

    model_config = ConfigDict(extra="ignore")

    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
    """Current conditions; `kubectl wait --for=condition=Ready` reads these."""
    observed_generation: int | None = Field(default=None, ge=0)
    """The metadata.generation the operator last acted on."""
    kopf: dict[str, Any] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )
    """Bookkeeping of the operator framework (handler progress); not part of the API."""


class ManagedStatus(StatusBase):
    """Fields every cloud-backed kind's status carries: the generic reconciler's records."""

    model_config = ConfigDict(extra="ignore")

    failed_generation: int | None = None
    """The generation whose spec the cloud refused for good: not retried until the spec
    changes or annotation `cloudinfer.io/retry` takes a new value."""
    failed_retry: str | None = None
    """The `cloudinfer.io/retry` annotation's value when that refusal was recorded."""
    cloud_events_seen: int | None = None
    """When (epoch ms) the newest of the cloud's own events about the resource happened
    that has been posted as a Kubernetes Event (reason `CloudEvent`); older ones are not
    posted again."""


class PollIntervals(ApiModel):
    """How often services are observed on the cloud."""

    model_config = cel_rules(
        {
            "rule": "self.transitionalSeconds <= self.stableSeconds",
            "message": "transitionalSeconds must not exceed stableSeconds",
            "fieldPath": ".transitionalSeconds",
        }
    )

    transitional_seconds: int = Field(default=5, ge=1, le=3600)
    """Interval while a service is changing (creating, updating, stopping, ...)."""
    stable_seconds: int = Field(default=300, ge=10, le=86400)
    """Interval while every service is stable (running, stopped, failed); jittered."""


class ProviderConfigReference(ApiModel):
    """Which provider config (cloud account and region) to use."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    """Name of the ProviderConfig (same namespace) or ClusterProviderConfig."""
    kind: Literal["ProviderConfig", "ClusterProviderConfig"] = "ProviderConfig"
    """`ProviderConfig` (default) or `ClusterProviderConfig`."""


class LocalSecretReference(ApiModel):
    """A Secret in the resource's namespace."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)
    """Name of the Secret; it is created and owned by this resource."""


class ManagedSpec(ApiModel):
    """Fields every cloud-backed kind has: which account, and what happens on deletion,
    adoption and polling. The generic reconciler reads only these."""

    provider_config_ref: ProviderConfigReference
    """The cloud account and region; immutable."""
    deletion_policy: Literal["Delete", "Orphan"] = "Delete"
    """`Delete` removes the cloud resource with this resource; `Orphan` leaves it."""
    management_policy: Literal["Manage", "Observe"] = "Manage"
    """`Manage` creates and corrects the cloud resource; `Observe` adopts an existing one
    read-only and never writes to it."""
    write_connection_secret_to_ref: LocalSecretReference | None = None
    """Secret to receive endpoints and access credentials of the cloud resource (never
    written to status)."""
    poll_intervals: PollIntervals | None = None
    """Poll this resource at other intervals than its provider config says; it can only
    slow polling down, never make the shared account poll faster than its provider config
    allows."""

    def secret_key_refs(self) -> list[tuple[str, SecretKeySelector]]:
        """The Secret keys this spec takes values from, each with the path of its reference
        (e.g. `spec.eas.containers[0].env[1].valueFrom.secretKeyRef`). The runtime reads them
        from its watch of Secrets in the resource's namespace when it calls the cloud."""
        return []

    def existing_id(self) -> str | None:
        """Server-named kinds: the id of an existing cloud resource the spec names (adopted
        with `managementPolicy: Observe`), instead of one this resource created."""
        return None
