"""Who uses which provider config, and when its in-use finalizer is added or released. Pure.

A provider config (ProviderConfig or ClusterProviderConfig) carries `cloudinfer.io/in-use`
while at least one managed object uses it, and its credentials Secret carries it while at
least one such in-use config references it (Crossplane's ProviderConfigUsage, without the
extra objects). So deleting a Secret or a provider config before the resources that use it
(or everything at once: `kubectl delete namespace`) only marks it deleted: it stays readable
in the watch-fed indexes, the users' deletions still reach the cloud, and when the last user
is gone the finalizer is released and the API server removes it.

A managed object uses its config from its creation until its own finalizer is released:
once it is being deleted and holds `cloudinfer.io/finalizer` no more, nothing will call the
cloud for it again.

User counts come from the managed objects' watch events (UserCounts). They are complete
only once the initial listing has been delivered, so a release (count 0) is first confirmed
by the API server (runtime/inuse.py: one LIST filtered on spec.providerConfigRef, a CRD
selectable field). A kopf index would be complete by construction, but kopf's per-object
index readiness costs O(n²) at start: minutes at 10,000 objects."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, PROVIDER_CONFIG
from cloudinfer.reconcile.managed import FINALIZER

IN_USE_FINALIZER = "cloudinfer.io/in-use"
SECRET = "Secret"
# (Kind, namespace or "", name): a provider config (the runtime's ConfigRef) or a Secret
# ("Secret", namespace, name).
Target = tuple[str, str, str]


class Action(enum.Enum):
    NOTHING = "nothing"
    ADD = "add"
    REMOVE = "remove"


def decide(users: int, finalizers: Sequence[str], deleting: bool) -> Action:
    """What to do with the in-use finalizer of a config or Secret with `users` users."""
    held = IN_USE_FINALIZER in finalizers
    if users > 0:
        # Never released while a user exists. A config already being deleted that does not
        # hold it is past saving: the API server refuses new finalizers on an object being
        # deleted, so it goes as soon as its other finalizers do (its users then report
        # ProviderConfigNotFound until it is recreated).
        return Action.ADD if not held and not deleting else Action.NOTHING
    return Action.REMOVE if held else Action.NOTHING


def changed(users: int, finalizers: Sequence[str], deleting: bool) -> list[str] | None:
    """The finalizers after `decide`, or None when they stay as they are. Others' finalizers
    and their order are kept."""
    action = decide(users, finalizers, deleting)
    if action is Action.ADD:
        return [*finalizers, IN_USE_FINALIZER]
    if action is Action.REMOVE:
        return [f for f in finalizers if f != IN_USE_FINALIZER]
    return None


@dataclass(frozen=True)
class Meta:
    """What the decision needs to know of a config or Secret as last seen by its watch."""

    finalizers: tuple[str, ...] = ()
    deleting: bool = False
    resource_version: str = ""
    secret: Target | None = None  # a config's credentials Secret


def meta_of(body: Mapping[str, Any], secret: Target | None = None) -> Meta:
    meta = body.get("metadata") or {}
    return Meta(
        finalizers=tuple(meta.get("finalizers") or ()),
        deleting=bool(meta.get("deletionTimestamp")),
        resource_version=str(meta.get("resourceVersion") or ""),
        secret=secret,
    )


def config_of(body: Mapping[str, Any]) -> Target | None:
    """The provider config a managed object names (read leniently: the schema validated it,
    and a version skew must not lose a user). `spec.providerConfigRef` is immutable."""
    ref = (body.get("spec") or {}).get("providerConfigRef") or {}
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        return None
    if ref.get("kind") == CLUSTER_PROVIDER_CONFIG.kind:
        return CLUSTER_PROVIDER_CONFIG.kind, "", name
    namespace = (body.get("metadata") or {}).get("namespace") or ""
    return PROVIDER_CONFIG.kind, namespace, name


def uses(body: Mapping[str, Any]) -> Target | None:
    """The provider config a managed object needs now, or None once it needs none: it is
    being deleted and its own finalizer is released (nothing will reach the cloud for it)."""
    meta = body.get("metadata") or {}
    if meta.get("deletionTimestamp") and FINALIZER not in (meta.get("finalizers") or ()):
        return None
    return config_of(body)


class UserCounts:
    """How many managed objects use each provider config, from their watch events."""

    def __init__(self) -> None:
        self._uses: dict[tuple[str, str, str], Target] = {}
        self._counts: dict[Target, int] = {}

    def observe(self, key: tuple[str, str, str], deleted: bool, body: Mapping[str, Any]) -> None:
        """A managed object (`key`: Kind, namespace, name) was seen, or DELETED."""
        now = None if deleted else uses(body)
        before = self._uses.pop(key, None)
        if before is not None:
            left = self._counts[before] - 1
            if left:
                self._counts[before] = left
            else:
                del self._counts[before]
        if now is not None:
            self._uses[key] = now
            self._counts[now] = self._counts.get(now, 0) + 1

    def count(self, ref: Target) -> int:
        return self._counts.get(ref, 0)


def secret_of(
    kind: str, namespace: str | None, spec: Mapping[str, Any], operator_namespace: str
) -> Target | None:
    """A provider config's credentials Secret: a ProviderConfig's in its own namespace, a
    ClusterProviderConfig's in the operator's namespace."""
    name = (spec.get("credentialsSecretRef") or {}).get("name")
    if not isinstance(name, str) or not name:
        return None
    where = operator_namespace if kind == CLUSTER_PROVIDER_CONFIG.kind else namespace or ""
    return SECRET, where, name
