"""Watch-fed indexes the runtime reads instead of the API server: provider configs by
reference, a few facts about every Secret, and namespace labels. kopf runs no handler before
every indexed kind has been listed, so the first reconcile already sees complete indexes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, GROUP, PROVIDER_CONFIG, VERSION
from cloudinfer.runtime.cache import SecretFacts, secret_facts
from cloudinfer.runtime.resolve import ConfigRef


@kopf.index(GROUP, VERSION, PROVIDER_CONFIG.plural)
def providerconfigs(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[ConfigRef, dict[str, Any]]:
    return {(PROVIDER_CONFIG.kind, namespace or "", name): dict(spec)}


@kopf.index(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural)
def clusterproviderconfigs(name: str, spec: kopf.Spec, **_: Any) -> dict[ConfigRef, dict[str, Any]]:
    return {(CLUSTER_PROVIDER_CONFIG.kind, "", name): dict(spec)}


@kopf.index("", "v1", "secrets")
def secrets(
    namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[tuple[str, str], SecretFacts]:
    return {(namespace or "", name): secret_facts(body)}


@kopf.index("", "v1", "namespaces")
def namespaces(name: str, labels: kopf.Labels, **_: Any) -> dict[str, dict[str, str]]:
    """Namespace labels, for ClusterProviderConfigs' namespaceSelector."""
    return {name: dict(labels)}


@kopf.on.event("", "v1", "namespaces")
async def namespace_changed(type: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
    """Labels may have changed: resources there that use a ClusterProviderConfig look again."""
    runtime = getattr(memo, "runtime", None)
    if runtime is not None and type == "MODIFIED":
        runtime.namespace_event(name)


def first(index: Mapping[Any, Any], key: Any) -> Any:
    """The one value an index holds for `key` (names are unique), or None."""
    store = index.get(key)
    return next(iter(store), None) if store else None
