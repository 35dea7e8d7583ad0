"""What the watches delivered, kept so reconciles read memory instead of the API server.

- Managed objects: the latest body of each (trimmed of managedFields), replaced by newer
  watch events and by the answers to the operator's own writes. The predicate `relevant`
  tells a change someone made (spec, labels, annotations, deletion) from the echo of the
  operator's own status and metadata writes, which must not cause another reconcile.
- Secrets: small facts per Secret (its credential keys, or a digest of a connection Secret
  the operator writes), built by a kopf index so they are complete before any reconcile."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.credentials import CREDENTIAL_KEYS

Key = tuple[str, str, str]  # (Kind, namespace, name)
MANAGED_BY = "app.kubernetes.io/managed-by"
OPERATOR = "cloudinfer"

_KEPT_METADATA = (
    "name",
    "namespace",
    "uid",
    "generation",
    "resourceVersion",
    "labels",
    "annotations",
    "finalizers",
    "deletionTimestamp",
    "creationTimestamp",
)


def trim(body: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an object the operator reads (managedFields alone can be most of it)."""
    meta = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {k: meta[k] for k in _KEPT_METADATA if k in meta},
        "spec": body.get("spec") or {},
        "status": body.get("status") or {},
    }


def _version(body: Mapping[str, Any]) -> int | None:
    try:
        return int((body.get("metadata") or {}).get("resourceVersion") or "")
    except ValueError:
        return None


def user_view(body: Mapping[str, Any], own_annotations: frozenset[str]) -> tuple[object, ...]:
    """What others (users, GitOps, other controllers) change, without the operator's own
    annotations and finalizers: the echo of the operator's own write never differs here,
    even when it arrives before the answer to that write."""
    meta = body.get("metadata") or {}
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in own_annotations
    }
    return (
        meta.get("generation"),
        meta.get("labels") or {},
        annotations,
        meta.get("deletionTimestamp"),
    )


class ObjectCache:
    def __init__(self, own_annotations: frozenset[str] = frozenset()) -> None:
        self._bodies: dict[Key, dict[str, Any]] = {}
        self.own_annotations = own_annotations

    def relevant(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
        """Whether going from `old` to `new` needs a reconcile: a new object, or a change to
        what others write. Status, the finalizer and the own annotations are the operator's."""
        return old is None or user_view(old, self.own_annotations) != user_view(
            new, self.own_annotations
        )

    def get(self, key: Key) -> dict[str, Any] | None:
        return self._bodies.get(key)

    def put(self, key: Key, body: Mapping[str, Any]) -> bool:
        """Keep `body` unless an equal or newer version is held (a watch event may arrive
        after the answer to our own write). True when the change needs a reconcile."""
        old = self._bodies.get(key)
        new_version, old_version = _version(body), _version(old) if old else None
        if new_version is not None and old_version is not None and new_version <= old_version:
            return False
        self._bodies[key] = trim(body)
        return self.relevant(old, body)

    def drop(self, key: Key) -> None:
        self._bodies.pop(key, None)


@dataclass(frozen=True)
class SecretFacts:
    """What the operator needs to know about one Secret, and nothing more."""

    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)  # decoded
    digest: str = ""  # of the data, for Secrets the operator writes
    owners: tuple[str, ...] = ()  # uids of controller owners
    owner_refs: tuple[tuple[str, str, str], ...] = ()  # (apiVersion, kind, name) of those
    resource_version: str = ""


def data_digest(encoded: Mapping[str, str]) -> str:
    """Digest of a Secret's base64 `.data`, the same however it was ordered."""
    text = "\0".join(f"{k}={v}" for k, v in sorted(encoded.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def secret_facts(body: Mapping[str, Any]) -> SecretFacts:
    meta = body.get("metadata") or {}
    data: Mapping[str, str] = body.get("data") or {}
    credentials: dict[str, str] = {}
    for key in CREDENTIAL_KEYS:
        if key in data:
            try:
                credentials[key] = base64.b64decode(data[key], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
    managed = (meta.get("labels") or {}).get(MANAGED_BY) == OPERATOR
    controllers = [o for o in meta.get("ownerReferences") or () if o.get("controller")]
    return SecretFacts(
        credentials=credentials,
        digest=data_digest(data) if managed else "",
        owners=tuple(str(o.get("uid")) for o in controllers) if managed else (),
        owner_refs=tuple(
            (str(o.get("apiVersion")), str(o.get("kind")), str(o.get("name"))) for o in controllers
        )
        if managed
        else (),
        resource_version=str(meta.get("resourceVersion") or ""),
    )
