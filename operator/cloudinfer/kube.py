"""The few Kubernetes API calls the operator makes itself (kopf makes the rest).

The official client is synchronous; calls run in worker threads so the event loop never
blocks. Nothing here logs object contents: Secrets pass through this module."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import kubernetes
from kubernetes.client.exceptions import ApiException

from cloudinfer.api.kinds import GROUP, VERSION, KindInfo

EVENT_COMPONENT = "cloudinfer"
log = logging.getLogger(__name__)


def load_api_client(kubeconfig: str | None = None) -> kubernetes.client.ApiClient:
    """An API client from the given kubeconfig, else $KUBECONFIG/~/.kube/config, else the
    in-cluster service account."""
    configuration = kubernetes.client.Configuration()
    if kubeconfig:
        kubernetes.config.load_kube_config(
            config_file=kubeconfig, client_configuration=configuration
        )
    else:
        try:
            kubernetes.config.load_kube_config(client_configuration=configuration)
        except kubernetes.config.ConfigException:
            kubernetes.config.load_incluster_config(client_configuration=configuration)
    # One kept-alive connection per client thread (the default is 5 per core, fewer than the
    # runtime's threads on small machines): a full pool drops connections, and every
    # dropped one costs a new TLS handshake on the next write.
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize, 32)
    return kubernetes.client.ApiClient(configuration)


class SecretNotOwned(Exception):
    """The Secret exists and is not controlled by the object that wanted to write it."""

    def __init__(self, namespace: str, name: str) -> None:
        super().__init__(f'Secret "{namespace}/{name}" exists and is not controlled by it')
        self.namespace, self.name = namespace, name


class FinalizerState(NamedTuple):
    """An object's finalizers as some view saw them, and the version that view is of."""

    finalizers: tuple[str, ...]
    deleting: bool  # deletionTimestamp is set
    resource_version: str


# (current finalizers, deleting) -> the finalizers wanted, or None to leave them
FinalizerChange = Callable[[tuple[str, ...], bool], list[str] | None]


class Kube:
    def __init__(
        self, api_client: kubernetes.client.ApiClient, cluster_events_namespace: str = "default"
    ) -> None:
        """`cluster_events_namespace`: where Events about cluster-scoped objects go (client-go's
        recorder uses `default`; an operator that may only write in some namespaces uses its
        own)."""
        self._cluster_events_namespace = cluster_events_namespace
        self._core = kubernetes.client.CoreV1Api(api_client)
        self._custom_api = kubernetes.client.CustomObjectsApi(api_client)

    async def read_secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's base64 `.data`, or None when it does not exist."""
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return {str(k): str(v) for k, v in (secret.data or {}).items()}

    async def _custom(
        self, verb: str, info: KindInfo, namespace: str | None, name: str, *extra: object
    ) -> Any:
        """Call `{verb}_{cluster|namespaced}_custom_object` for the kind's scope."""
        if info.scope == "Cluster":
            scope, args = "cluster", (GROUP, VERSION, info.plural, name, *extra)
        elif namespace is None:
            raise ValueError(f"{info.kind} {name} is namespaced but no namespace was given")
        else:
            scope, args = "namespaced", (GROUP, VERSION, namespace, info.plural, name, *extra)
        method = verb.replace("{scope}", scope)
        return await asyncio.to_thread(getattr(self._custom_api, method), *args)

    async def exists_any(self, info: KindInfo, namespace: str | None, field_selector: str) -> bool:
        """Whether any object of a namespaced kind matches `field_selector` (in `namespace`,
        or in all namespaces): one LIST of at most one item."""
        api = self._custom_api
        if namespace is None:
            found = await asyncio.to_thread(
                api.list_cluster_custom_object,
                GROUP,
                VERSION,
                info.plural,
                field_selector=field_selector,
                limit=1,
            )
        else:
            found = await asyncio.to_thread(
                api.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                info.plural,
                field_selector=field_selector,
                limit=1,
            )
        return bool(found["items"])  # type: ignore[index]

    async def get(self, info: KindInfo, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            obj = await self._custom("get_{scope}_custom_object", info, namespace, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(obj)

    async def patch_status(
        self, info: KindInfo, namespace: str | None, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patch `.status` through the status subresource (never touches spec).
        Returns the object as written, or None when it is gone."""
        try:
            obj = await self._custom(
                "patch_{scope}_custom_object_status", info, namespace, name, {"status": status}
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing left to report on
                raise
            return None
        return dict(obj)

    async def patch_metadata(
        self, info: KindInfo, namespace: str | None, name: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch metadata (finalizers, annotations). Include `resourceVersion` for
        optimistic concurrency: a stale patch fails with 409 instead of clobbering."""
        obj = await self._custom(
            "patch_{scope}_custom_object", info, namespace, name, {"metadata": metadata}
        )
        return dict(obj)

    async def change_finalizers(
        self,
        info: KindInfo | None,
        namespace: str,
        name: str,
        change: FinalizerChange,
        known: FinalizerState | None = None,
        attempts: int = 5,
    ) -> FinalizerState | None:
        """Set the finalizers of a custom object (`info`) or, with `info` None, of a Secret
        (core API) to what `change` wants, starting from the `known` view (a watch's) or a
        read. Optimistic concurrency: the merge patch carries resourceVersion (a merge patch
        replaces the whole list, so a stale one would drop others' finalizers); on 409 the
        object is read again and `change` asked again. Returns the state as written, or None
        when nothing was written (no change wanted, or the object is gone)."""
        state = known
        for attempt in range(attempts):
            if state is None:
                state = await self._read_finalizers(info, namespace, name)
                if state is None:
                    return None
            wanted = change(state.finalizers, state.deleting)
            if wanted is None:
                return None
            patch = {"metadata": {"finalizers": wanted, "resourceVersion": state.resource_version}}
            try:
                if info is None:
                    written = await asyncio.to_thread(
                        self._core.patch_namespaced_secret,
                        name,
                        namespace,
                        patch,
                        # Not the default strategic merge, which unions finalizer lists.
                        _content_type="application/merge-patch+json",
                    )
                    return _secret_finalizers(written)
                obj = await self._custom(
                    "patch_{scope}_custom_object", info, namespace or None, name, patch
                )
                return _custom_finalizers(obj)
            except ApiException as exc:
                if exc.status == 404:
                    return None
                if exc.status != 409 or attempt == attempts - 1:
                    raise
                state = None  # someone else wrote meanwhile: read it and decide again
        return None  # not reached: the last attempt returns or raises

    async def _read_finalizers(
        self, info: KindInfo | None, namespace: str, name: str
    ) -> FinalizerState | None:
        if info is not None:
            obj = await self.get(info, namespace or None, name)
            return None if obj is None else _custom_finalizers(obj)
        try:
            secret = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _secret_finalizers(secret)

    async def apply_secret(
        self,
        namespace: str,
        name: str,
        data: dict[str, str],
        owner: dict[str, Any],
        labels: dict[str, str],
        resource_version: str | None = None,
    ) -> None:
        """Make the Opaque Secret hold exactly `data`, owned by `owner` (an ownerReference).
        With `resource_version` (the caller's cached view says it exists) it is replaced
        directly; otherwise created. Either way, a stale view falls back to reading it, and
        a Secret that `owner` does not control is left alone: SecretNotOwned."""
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        body: Any = {  # the client accepts plain dicts for V1Secret
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "ownerReferences": [owner],
            },
            "data": encoded,
        }
        try:
            if resource_version:
                body["metadata"]["resourceVersion"] = resource_version
                await asyncio.to_thread(self._core.replace_namespaced_secret, name, namespace, body)
            else:
                await asyncio.to_thread(self._core.create_namespaced_secret, namespace, body)
            return
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise
            body["metadata"].pop("resourceVersion", None)
        try:
            existing = await asyncio.to_thread(self._core.read_namespaced_secret, name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            await asyncio.to_thread(self._core.create_namespaced_secret, namespace, body)
            return
        meta = existing.metadata
        controllers = [
            o.uid for o in (meta.owner_references if meta else None) or [] if o.controller
        ]
        if owner["uid"] not in controllers:
            # Someone else's Secret (the provider config's credentials, another resource's
            # connection Secret, a user's): never overwritten.
            raise SecretNotOwned(namespace, name)
        if (existing.data or {}) == encoded:
            return
        body["metadata"]["resourceVersion"] = meta.resource_version if meta else None
        await asyncio.to_thread(self._core.replace_namespaced_secret, name, namespace, body)

    async def post_event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """A core/v1 Event about `obj`. Failing to post is logged, never raised: an Event
        is a courtesy, not part of reconciling."""
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace") or self._cluster_events_namespace
        now = datetime.now(UTC)
        body: Any = {
            "metadata": {"generateName": f"{meta.get('name', 'object')}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": EVENT_COMPONENT},
            "reportingComponent": EVENT_COMPONENT,
            "reportingInstance": socket.gethostname(),
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await asyncio.to_thread(self._core.create_namespaced_event, namespace, body)
        except ApiException as exc:
            log.warning(
                "could not post event %s on %s/%s: %s",
                reason,
                namespace,
                meta.get("name"),
                exc.reason,
            )


def _custom_finalizers(obj: Any) -> FinalizerState:
    meta = dict(obj).get("metadata") or {}
    return FinalizerState(
        tuple(meta.get("finalizers") or ()),
        bool(meta.get("deletionTimestamp")),
        str(meta.get("resourceVersion") or ""),
    )


def _secret_finalizers(secret: Any) -> FinalizerState:
    """From a V1Secret (the client's model, not a dict); nothing of its data is kept."""
    meta = secret.metadata
    return FinalizerState(
        tuple(meta.finalizers or ()),
        meta.deletion_timestamp is not None,
        str(meta.resource_version or ""),
    )
