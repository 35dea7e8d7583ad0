"""Environment variables as in a Pod: a literal value, or a key of a Secret."""

from __future__ import annotations

from pydantic import Field

from cloudinfer.api.common import ApiModel, SecretKeySelector, cel_rules

# What Kubernetes accepts as an environment variable's name.
ENV_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"


class EnvVarSource(ApiModel):
    """Where an environment variable's value comes from."""

    secret_key_ref: SecretKeySelector
    """A key of a Secret in this resource's namespace. The operator reads it from its watch
    of Secrets each time it calls the cloud and sends it there only: never to status, Events
    or logs. A changed value is sent again; a missing Secret or key stops the resource with
    `SecretNotFound` / `SecretKeyMissing`."""


class EnvVar(ApiModel):
    """An environment variable: a literal `value`, or `valueFrom` a Secret key."""

    model_config = cel_rules(
        {
            "rule": "has(self.value) != has(self.valueFrom)",
            "message": "set exactly one of value and valueFrom",
            "fieldPath": ".valueFrom",
        }
    )

    name: str = Field(min_length=1, max_length=256, pattern=ENV_NAME)
    """Name of the variable; unique within the container."""
    value: str | None = Field(default=None, max_length=32768)
    """The value, written here in the resource (not for secrets: use `valueFrom`)."""
    value_from: EnvVarSource | None = None
    """Take the value from a Secret instead."""
