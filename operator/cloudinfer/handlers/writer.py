"""The reconciler's Kubernetes side effects for one object: finalizer and annotations,
status (patched only when it changed), the connection Secret, Events."""

from __future__ import annotations

from typing import Any

from cloudinfer.adapters.base import ManagedResource
from cloudinfer.api.kinds import KindInfo
from cloudinfer.kube import Kube
from cloudinfer.reconcile.managed import FINALIZER


class KubeWriter:
    def __init__(self, kube: Kube, info: KindInfo, body: dict[str, Any]) -> None:
        self.kube, self.info, self.body = kube, info, body

    @property
    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.body["metadata"]
        return meta

    async def prepare(self, resource: ManagedResource, annotations: dict[str, str | None]) -> None:
        finalizers = list(self._meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        self.body = await self.kube.patch_metadata(
            self.info,
            resource.namespace,
            resource.name,
            {
                "finalizers": finalizers,
                "annotations": annotations,
                "resourceVersion": self._meta["resourceVersion"],
            },
        )

    async def remove_finalizer(self, resource: ManagedResource) -> None:
        finalizers = [f for f in self._meta.get("finalizers") or [] if f != FINALIZER]
        self.body = await self.kube.patch_metadata(
            self.info,
            resource.namespace,
            resource.name,
            {
                "finalizers": finalizers,
                "resourceVersion": self._meta["resourceVersion"],
            },
        )

    async def write_status(self, resource: ManagedResource, status: dict[str, Any]) -> None:
        old = resource.status
        changed = {
            k: v for k, v in status.items() if old.get(k) != v and not (v is None and k not in old)
        }
        if changed:
            await self.kube.patch_status(self.info, resource.namespace, resource.name, changed)

    async def write_connection_secret(
        self, resource: ManagedResource, data: dict[str, str]
    ) -> None:
        ref = resource.spec.write_connection_secret_to_ref
        owner = {
            "apiVersion": self.info.api_version,
            "kind": self.info.kind,
            "name": resource.name,
            "uid": resource.uid,
            "controller": True,
            "blockOwnerDeletion": False,
        }
        await self.kube.apply_secret(
            resource.namespace,
            ref.name,
            data,
            owner,
            {"app.kubernetes.io/managed-by": "cloudinfer"},
        )

    async def event(self, resource: ManagedResource, type_: str, reason: str, message: str) -> None:
        await self.kube.post_event(self.body, type_, reason, message)
