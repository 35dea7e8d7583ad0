"""Bring the cluster's CRDs up to the ones this build generates (`run --manage-crds`).

`helm upgrade` never touches a chart's `crds/` (Helm's documented rule), so a chart upgrade
alone would leave new fields unknown to the API server and pruned from every object. As
Crossplane does, the operator applies its own CRDs at start, before it watches anything:
a server-side apply by the field manager "cloudinfer", forced, so the fields a first install
(`helm install`, `kubectl apply`) wrote are taken over and the next version can change them.
The objects are the same generated ones as `crds/` and the chart's `crds/`: one source.

Each applied CRD is stamped with the operator version that applied it, and an operator never
applies over a newer one: an old replica restarting during a rollout, or a rollback of the
operator alone, must not prune the newer fields from every object."""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from typing import Any

import kubernetes.client
from kubernetes.client.exceptions import ApiException

from cloudinfer import __version__
from cloudinfer.api import crds

FIELD_MANAGER = "cloudinfer"
VERSION_ANNOTATION = "cloudinfer.io/operator-version"
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


def _release(version: str) -> tuple[int, ...]:
    """(major, minor, patch) of a version string; anything unparsable sorts first."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def newer_than_ours(existing: dict[str, Any] | None, ours: str = __version__) -> str | None:
    """The version that applied `existing`, when it is newer than `ours`."""
    annotations = ((existing or {}).get("metadata") or {}).get("annotations") or {}
    theirs = annotations.get(VERSION_ANNOTATION)
    if theirs and _release(theirs) > _release(ours):
        return str(theirs)
    return None


def apply_crds(api_client: kubernetes.client.ApiClient) -> list[str]:
    """Server-side apply every CRD this build defines; the names applied, in order. Only
    existing CRDs are updated: creating one needs the cluster-wide `create` on CRDs, which
    the chart does not grant (it installs them from its `crds/`). One applied by a newer
    operator is left as it is."""
    api = kubernetes.client.ApiextensionsV1Api(api_client)
    applied = []
    for generated in crds.all_crds():
        name = generated["metadata"]["name"]
        doc = copy.deepcopy(generated)
        doc["metadata"].setdefault("annotations", {})[VERSION_ANNOTATION] = __version__
        try:
            existing = api.read_custom_resource_definition(name)
            if not isinstance(existing, dict):
                existing = api_client.sanitize_for_serialization(existing)
            newer = newer_than_ours(existing)
            if newer:
                log.warning(
                    "CustomResourceDefinition %s was applied by cloudinfer %s, newer than this "
                    "%s: left as it is",
                    name,
                    newer,
                    __version__,
                )
                continue
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
    if applied:
        log.info("applied CustomResourceDefinitions: %s", ", ".join(applied))
    return applied
