"""pydantic JSON Schema → Kubernetes structural schema conversion."""

from typing import Any, Literal

from pydantic import Field

from cloudinfer.api.common import ApiModel, defaulted
from cloudinfer.api.schema import model_schema


class Inner(ApiModel):
    """Inner object."""

    size: int = Field(default=3, ge=1)
    """A size."""


class Sample(ApiModel):
    """A sample."""

    some_name: str | None = Field(default=None, max_length=5)
    """Optional text."""
    ratio: float = Field(gt=0, lt=1)
    """Open interval."""
    mode: Literal["a", "b"] = "a"
    """A choice."""
    labels: dict[str, str] = Field(default_factory=dict)
    """String map."""
    anything: dict[str, Any] | None = None
    """Free-form."""
    inner: Inner = defaulted(Inner)
    """Nested, defaulted."""
    items: list[Inner] = Field(default_factory=list)
    """A list of objects."""


def test_conversion() -> None:
    schema = model_schema(Sample)
    props = schema["properties"]
    assert schema["required"] == ["ratio"]
    assert props["someName"] == {"type": "string", "maxLength": 5, "description": "Optional text."}
    assert props["ratio"]["minimum"] == 0 and props["ratio"]["exclusiveMinimum"] is True
    assert props["ratio"]["maximum"] == 1 and props["ratio"]["exclusiveMaximum"] is True
    assert props["mode"]["enum"] == ["a", "b"] and props["mode"]["type"] == "string"
    assert props["labels"]["additionalProperties"] == {"type": "string"}
    assert props["anything"]["x-kubernetes-preserve-unknown-fields"] is True
    assert props["inner"]["default"] == {"size": 3}
    assert props["inner"]["description"] == "Nested, defaulted."  # the field's, not the class's
    assert props["items"]["items"]["properties"]["size"]["minimum"] == 1


def test_objects_from_the_api_server_are_read_leniently() -> None:
    """An object written under a newer CRD (fields this operator does not know) can still be
    read, and so reconciled and deleted: strictness is the CRD schema's job."""
    from cloudinfer.api.inferenceservice import InferenceServiceSpec
    from cloudinfer.api.providerconfig import ClusterProviderConfigSpec

    spec = InferenceServiceSpec.model_validate(
        {
            "providerConfigRef": {"name": "pc", "fromTheFuture": 1},
            "eas": {"processor": "p", "newKnob": True},
            "someNewField": {"x": 1},
        }
    )
    assert spec.eas.processor == "p"
    config = ClusterProviderConfigSpec.model_validate(
        {"cloud": "alibaba-eas", "region": "r", "credentialsSecretRef": {"name": "s"}, "new": 1}
    )
    assert config.namespace_selector is None
