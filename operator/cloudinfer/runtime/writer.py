"""The reconciler's Kubernetes side effects for one object: finalizer and annotations,
status (patched only when it changed), the connection Secret, Events. Every answer to a
write goes back into the object cache, so the watch event it causes is recognised as the
operator's own and the next reconcile starts from what was written."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from cloudinfer.adapters.base import ManagedResource
from cloudinfer.api.kinds import KindInfo
from cloudinfer.kube import Kube, SecretNotOwned
from cloudinfer.reconcile.managed import FINALIZER
from cloudinfer.runtime.cache import (
    MANAGED_BY,
    OPERATOR,
    Key,
    ObjectCache,
    SecretFacts,
    data_digest,
)
from cloudinfer.runtime.events import EventSink


class KubeWriter:
    def __init__(
        self,
        kube: Kube,
        info: KindInfo,
        key: Key,
        body: dict[str, Any],
        objects: ObjectCache,
        secrets: Callable[[str, str], SecretFacts | None],
        wrote_secret: Callable[[str, str, str], None],
        events: EventSink,
    ) -> None:
        self.kube, self.info, self.key, self.body = kube, info, key, body
        self._events = events
        self._objects, self._secrets, self._wrote_secret = objects, secrets, wrote_secret

    @property
    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.body["metadata"]
        return meta

    def _keep(self, body: dict[str, Any] | None) -> None:
        if body is not None:
            self.body = body
            self._objects.put(self.key, body)

    async def prepare(
        self, resource: ManagedResource, annotations: dict[str, str | None], finalizer: bool
    ) -> None:
        patch: dict[str, Any] = {"annotations": annotations}
        self._objects.expect(self.key, annotations)
        finalizers = list(self._meta.get("finalizers") or [])
        if finalizer and FINALIZER not in finalizers:
            # A list is replaced whole: only safe against the version it was read from.
            patch["finalizers"] = [*finalizers, FINALIZER]
            patch["resourceVersion"] = self._meta["resourceVersion"]
        self._keep(
            await self.kube.patch_metadata(self.info, resource.namespace, resource.name, patch)
        )

    async def remove_finalizer(self, resource: ManagedResource) -> None:
        finalizers = [f for f in self._meta.get("finalizers") or [] if f != FINALIZER]
        self._keep(
            await self.kube.patch_metadata(
                self.info,
                resource.namespace,
                resource.name,
                {"finalizers": finalizers, "resourceVersion": self._meta["resourceVersion"]},
            )
        )

    async def write_status(self, resource: ManagedResource, status: dict[str, Any]) -> None:
        old = self.body.get("status") or {}
        changed = {
            k: v for k, v in status.items() if old.get(k) != v and not (v is None and k not in old)
        }
        if changed:
            self._keep(
                await self.kube.patch_status(self.info, resource.namespace, resource.name, changed)
            )

    async def write_connection_secret(
        self, resource: ManagedResource, data: dict[str, str]
    ) -> str | None:
        """Write only when the watched copy differs: no GET, no write at rest. Only a Secret
        that does not exist or that this resource controls is written; otherwise it is left
        untouched and the answer says why."""
        ref = resource.spec.write_connection_secret_to_ref
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        digest = data_digest(encoded)
        facts = self._secrets(resource.namespace, ref.name)
        conflict = (
            f'Secret "{resource.namespace}/{ref.name}" (spec.writeConnectionSecretToRef) '
            f"exists and is not controlled by this {self.info.kind}; it is left untouched: "
            "delete it or choose another name"
        )
        if facts is not None and resource.uid not in facts.owners:
            return conflict
        if facts is not None and facts.digest == digest:
            return None
        owner = {
            "apiVersion": self.info.api_version,
            "kind": self.info.kind,
            "name": resource.name,
            "uid": resource.uid,
            "controller": True,
            "blockOwnerDeletion": False,
        }
        self._wrote_secret(resource.namespace, ref.name, digest)
        try:
            await self.kube.apply_secret(
                resource.namespace,
                ref.name,
                data,
                owner,
                {MANAGED_BY: OPERATOR},
                resource_version=facts.resource_version if facts is not None else None,
            )
        except SecretNotOwned:  # the watch had not shown it yet
            return conflict
        return None

    async def event(self, resource: ManagedResource, type_: str, reason: str, message: str) -> None:
        meta = self._meta
        about = {  # what an Event names, not the whole object: it may wait a while
            "apiVersion": self.body.get("apiVersion"),
            "kind": self.body.get("kind"),
            "metadata": {k: meta.get(k) for k in ("name", "namespace", "uid")},
        }
        self._events.emit(about, type_, reason, message)
