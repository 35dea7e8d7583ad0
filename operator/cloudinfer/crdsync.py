"""Bring the cluster's CRDs up to the ones this build generates (`run --manage-crds`).

`helm upgrade` never touches a chart's `crds/` (Helm's documented rule), so a chart upgrade
alone would leave new fields unknown to the API server and pruned from every object. As
Crossplane does, the operator applies its own CRDs at start, before it watches anything:
a server-side apply by the field manager "cloudinfer", forced, so the fields a first install
(`helm install`, `kubectl apply`) wrote are taken over and the next version can change them.
The objects are the same generated ones as `crds/` and the chart's `crds/`: one source."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import kubernetes.client
from kubernetes.client.exceptions import ApiException

from cloudinfer.api import crds

FIELD_MANAGER = "cloudinfer"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrdSyncError(Exception):
    name: str
    status: int
    reason: str

    def __str__(self) -> str:
        hint = ""
        if self.status == 403:
            hint = (
                " (the operator's ServiceAccount may not patch it: grant `patch` on this CRD, "
                "or run without --manage-crds and apply crds/ yourself)"
            )
        elif self.status == 404:
            hint = (
                " (it is not installed, and the operator only updates its CRDs: install them "
                "with the chart or `kubectl apply --server-side -k crds/`)"
            )
        return (
            f"cannot apply CustomResourceDefinition {self.name}: {self.status} {self.reason}{hint}"
        )


def apply_crds(api_client: kubernetes.client.ApiClient) -> list[str]:
    """Server-side apply every CRD this build defines; their names, in order. Only existing
    CRDs are updated: creating one needs the cluster-wide `create` on CRDs, which the chart
    does not grant (it installs them from its `crds/`)."""
    api = kubernetes.client.ApiextensionsV1Api(api_client)
    applied = []
    for doc in crds.all_crds():
        name = doc["metadata"]["name"]
        try:
            api.read_custom_resource_definition(name)
            api.patch_custom_resource_definition(
                name,
                doc,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type="application/apply-patch+yaml",
            )
        except ApiException as exc:
            raise CrdSyncError(name, exc.status or 0, str(exc.reason)) from exc
        applied.append(name)
    log.info("applied CustomResourceDefinitions: %s", ", ".join(applied))
    return applied
