"""The label selector of ClusterProviderConfig.spec.namespaceSelector, as Kubernetes matches."""

from __future__ import annotations

from cloudinfer.api.selector import LabelSelector


def sel(**raw: object) -> LabelSelector:
    return LabelSelector.model_validate(raw)


def test_match_labels_and_expressions() -> None:
    labels = {"team": "a", "env": "prod"}
    assert sel().matches(labels) and sel().matches({})  # empty: everything
    assert sel(matchLabels={"team": "a"}).matches(labels)
    assert not sel(matchLabels={"team": "b"}).matches(labels)
    assert sel(matchExpressions=[{"key": "env", "operator": "In", "values": ["prod"]}]).matches(
        labels
    )
    assert not sel(
        matchExpressions=[{"key": "env", "operator": "NotIn", "values": ["prod"]}]
    ).matches(labels)
    assert sel(matchExpressions=[{"key": "env", "operator": "NotIn", "values": ["x"]}]).matches({})
    assert sel(matchExpressions=[{"key": "team", "operator": "Exists"}]).matches(labels)
    assert not sel(matchExpressions=[{"key": "team", "operator": "DoesNotExist"}]).matches(labels)
    both = sel(
        matchLabels={"team": "a"},
        matchExpressions=[{"key": "env", "operator": "In", "values": ["dev"]}],
    )
    assert not both.matches(labels)  # all requirements must hold
