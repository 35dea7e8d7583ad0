"""What the watches delivered, kept so reconciles read memory instead of the API server.

- Managed objects: the latest body of each (trimmed of managedFields), replaced by newer
  watch events and by the answers to the operator's own writes. The predicate `relevant`
  tells a change someone made (spec, labels, annotations, deletion) from the echo of the
  operator's own status and metadata writes, which must not cause another reconcile.
- Secrets: small facts per Secret (its credential keys, its values for specs that reference
  them, or a digest of a connection Secret the operator writes), built by a kopf index so
  they are complete before any reconcile."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudinfer.credentials import CREDENTIAL_KEYS, decode_secret_data
from cloudinfer.runtime.reverse import ReverseIndex

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
    def __init__(
        self, own_annotations: frozenset[str] = frozenset(), name_annotation: str = ""
    ) -> None:
        self._bodies: dict[Key, dict[str, Any]] = {}
        # (Kind, value of `name_annotation`) → the objects carrying it: who recorded a cloud
        # name, across namespaces (names_held), kept with every put and drop.
        self._name_annotation = name_annotation
        self._by_name: ReverseIndex[tuple[str, str], Key] = ReverseIndex()
        self.own_annotations = own_annotations
        # Per object, the own annotations' values as the operator last wrote (or first saw)
        # them: an edit by someone else is told from the echo of our own write by these.
        self._expected: dict[Key, dict[str, str | None]] = {}
        # Own annotations written and not yet seen back (by the answer or the watch).
        self._pending: dict[Key, set[str]] = {}

    def expect(self, key: Key, annotations: Mapping[str, str | None]) -> None:
        """The operator is about to write these own annotations (None removes one)."""
        own = {k: v for k, v in annotations.items() if k in self.own_annotations}
        self._expected.setdefault(key, {}).update(own)
        self._pending.setdefault(key, set()).update(own)

    def relevant(
        self, old: Mapping[str, Any] | None, new: Mapping[str, Any], key: Key | None = None
    ) -> bool:
        """Whether going from `old` to `new` needs a reconcile: a new object, or a change to
        what others write. Status, the finalizer and the own annotations are the operator's
        (unless someone else edited one)."""
        if old is None:
            return True
        own = self.own_annotations
        if user_view(old, own) != user_view(new, own):
            return True
        # An own annotation changed to something the operator did not write: someone
        # edited it (told apart from the echo of our write by what we said we would write).
        expected = self._expected.get(key, {}) if key is not None else {}
        before = (old.get("metadata") or {}).get("annotations") or {}
        after = (new.get("metadata") or {}).get("annotations") or {}
        return any(
            after.get(k) != before.get(k) and after.get(k) != expected.get(k, before.get(k))
            for k in own
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
        self._bodies[key] = trimmed = trim(body)
        present = trimmed["metadata"].get("annotations") or {}
        self._index_name(key, old, present)
        if key not in self._expected:  # first sight: what it carries now is the baseline
            self._expected[key] = {k: present.get(k) for k in self.own_annotations}
        if old is None:
            return True
        if self.relevant(old, body, key):
            return True
        # Our own write seen back: done. Any later change of an own annotation (even back
        # to what we wrote, after someone's edit) is someone else's.
        before = (old.get("metadata") or {}).get("annotations") or {}
        pending = self._pending.get(key, set())
        expected = self._expected[key]
        changed = {k for k in self.own_annotations if present.get(k) != before.get(k)}
        echoed = {k for k in changed if k in pending and present.get(k) == expected.get(k)}
        pending -= echoed
        return bool(changed - echoed)

    def _index_name(
        self, key: Key, old: Mapping[str, Any] | None, present: Mapping[str, str]
    ) -> None:
        if not self._name_annotation:
            return
        before = ((old or {}).get("metadata") or {}).get("annotations") or {}
        was, now = before.get(self._name_annotation), present.get(self._name_annotation)
        if was == now:
            return
        if was:
            self._by_name.discard((key[0], was), key)
        if now:
            self._by_name.add((key[0], now), key)

    def names_held(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Every object of `kind` whose name annotation records `name`, in any namespace."""
        keys = self._by_name.get((kind, name))
        return [self._bodies[k] for k in sorted(keys) if k in self._bodies]

    def drop(self, key: Key) -> None:
        old = self._bodies.get(key)
        if old is not None:
            self._index_name(key, old, {})
        self._bodies.pop(key, None)
        self._expected.pop(key, None)
        self._pending.pop(key, None)

    def all_keys(self) -> list[Key]:
        """The key of every object held."""
        return list(self._bodies)


# Values a spec may reference (env valueFrom.secretKeyRef) are kept for Secrets of at most
# this much data, and not of these types: large, or the cluster's own credentials, which no
# spec should hand to a cloud.
MAX_REFERENCED_BYTES = 64 * 1024
UNREFERENCEABLE_TYPES = frozenset({"helm.sh/release.v1", "kubernetes.io/service-account-token"})


@dataclass(frozen=True)
class SecretFacts:
    """What the operator needs to know about one Secret, and nothing more."""

    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)  # decoded
    # Decoded values (UTF-8 text) for specs that reference them, if the Secret may be
    # referenced (see MAX_REFERENCED_BYTES); `keys` names every key of its data.
    values: Mapping[str, str] = field(default_factory=dict, repr=False)
    keys: frozenset[str] = frozenset()
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
    referenceable = body.get("type") not in UNREFERENCEABLE_TYPES and (
        sum(len(k) + len(v) for k, v in data.items()) <= MAX_REFERENCED_BYTES * 4 // 3
    )
    return SecretFacts(
        credentials=credentials,
        values=decode_secret_data(data) if referenceable else {},
        keys=frozenset(data),
        digest=data_digest(data) if managed else "",
        owners=tuple(str(o.get("uid")) for o in controllers) if managed else (),
        owner_refs=tuple(
            (str(o.get("apiVersion")), str(o.get("kind")), str(o.get("name"))) for o in controllers
        )
        if managed
        else (),
        resource_version=str(meta.get("resourceVersion") or ""),
    )
