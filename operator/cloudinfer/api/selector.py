"""The standard Kubernetes label selector (metav1.LabelSelector), as a model and its match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field

from cloudinfer.api.common import ApiModel, cel_rules


class LabelSelectorRequirement(ApiModel):
    """One requirement: a label key, an operator and values."""

    model_config = cel_rules(
        {
            "rule": "(self.operator in ['In', 'NotIn']) == (has(self.values) && "
            "size(self.values) > 0)",
            "message": "values must be non-empty for In and NotIn, and empty for Exists and "
            "DoesNotExist",
            "fieldPath": ".values",
        }
    )

    key: str = Field(min_length=1, max_length=317)
    """The label key."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    """`In`, `NotIn`, `Exists` or `DoesNotExist`."""
    values: list[Annotated[str, Field(max_length=63, description="A label value.")]] | None = Field(
        default=None, max_length=64
    )
    """Values for `In` and `NotIn`."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        inside = present and labels[self.key] in (self.values or [])
        return inside if self.operator == "In" else not inside


class LabelSelector(ApiModel):
    """Labels to match (all requirements must hold; an empty selector matches everything)."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    """Labels that must be present with these values."""
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)
    """Requirements that must all hold."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            r.matches(labels) for r in self.match_expressions
        )
