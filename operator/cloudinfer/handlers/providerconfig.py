"""ProviderConfig / ClusterProviderConfig: report whether the credentials Secret is usable.

Re-evaluated when the provider config's spec changes, when the operator starts, and whenever
a Secret that some provider config references changes (an index maps Secrets to their users),
so creating or fixing the Secret later makes the config Ready without a restart.

Only the replica that acts (the leader, with leader election) evaluates and writes; a standby
lets kopf's handlers pass, and every provider config is evaluated again when it takes over."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from cloudinfer import conditions
from cloudinfer.api.kinds import CLUSTER_PROVIDER_CONFIG, GROUP, PROVIDER_CONFIG, VERSION, KindInfo
from cloudinfer.handlers.options import RunOptions
from cloudinfer.kube import Kube
from cloudinfer.reconcile.providerconfig import desired_conditions, error_conditions, evaluate

_log = logging.getLogger(__name__)
_locks: dict[tuple[str, str | None, str], asyncio.Lock] = {}


def _secret_location(
    info: KindInfo, namespace: str | None, spec: Mapping[str, Any], options: RunOptions
) -> tuple[str, str | None]:
    ref = (spec.get("credentialsSecretRef") or {}).get("name")
    secret_ns = options.operator_namespace if info.scope == "Cluster" else namespace
    assert secret_ns is not None
    return secret_ns, ref


def acting(memo: kopf.Memo) -> bool:
    """Whether this replica acts: it leads, or runs without leader election."""
    elector = getattr(memo, "elector", None)
    return elector is None or bool(elector.leading)


async def sync(memo: kopf.Memo, info: KindInfo, body: Mapping[str, Any], logger: Any) -> None:
    """Evaluate the Secret, write Ready/Synced, post an Event when Ready changes, and wake
    the resources that use this provider config (its readiness or settings may have changed).
    A standby does nothing: the leader does it, or this replica when it takes over."""
    try:
        if not acting(memo):
            meta = body.get("metadata", {})
            _log.debug(
                "standing by: %s %s/%s is evaluated by the leader",
                info.kind,
                meta.get("namespace") or "",
                meta.get("name"),
            )
            return
        await _evaluate(memo.kube, info, body, memo.options, logger)
    finally:
        runtime = getattr(memo, "runtime", None)
        if runtime is not None:
            meta = body.get("metadata", {})
            runtime.requeue_users(info.kind, meta.get("namespace"), meta["name"])


async def _evaluate(
    kube: Kube, info: KindInfo, body: Mapping[str, Any], options: RunOptions, logger: Any
) -> None:
    meta = body.get("metadata", {})
    name, namespace = meta["name"], meta.get("namespace")
    async with _locks.setdefault((info.plural, namespace, name), asyncio.Lock()):
        # Re-read under the lock: another trigger may have written status meanwhile.
        fresh = await kube.get(info, namespace, name)
        if fresh is None or fresh.get("metadata", {}).get("deletionTimestamp"):
            return
        spec = fresh.get("spec", {})
        generation = fresh["metadata"].get("generation")
        old = (fresh.get("status") or {}).get("conditions") or []
        secret_ns, secret_name = _secret_location(info, namespace, spec, options)
        try:
            data = await kube.read_secret_data(secret_ns, secret_name) if secret_name else None
        except ApiException as exc:
            message = f'cannot read Secret "{secret_ns}/{secret_name}": {exc.status} {exc.reason}'
            new = conditions.merge(old, error_conditions(message, generation))
            await kube.patch_status(info, namespace, name, {"conditions": new})
            raise kopf.TemporaryError(message, delay=30) from exc
        verdict = evaluate(spec.get("cloud", ""), secret_ns, secret_name or "", data)
        new = conditions.merge(old, desired_conditions(verdict, generation))
        observed = (fresh.get("status") or {}).get("observedGeneration")
        if conditions.same(old, new) and observed == generation:
            return
        await kube.patch_status(
            info, namespace, name, {"conditions": new, "observedGeneration": generation}
        )
        before = conditions.find(old, conditions.READY)
        if (
            before is None
            or before.get("status") != ("True" if verdict.ready else "False")
            or before.get("reason") != verdict.reason
        ):
            await kube.post_event(
                fresh, "Normal" if verdict.ready else "Warning", verdict.reason, verdict.message
            )
            log = logger.info if verdict.ready else logger.warning
            log("Ready=%s (%s): %s", verdict.ready, verdict.reason, verdict.message)


# --- ProviderConfig -------------------------------------------------------------------------


@kopf.on.resume(GROUP, VERSION, PROVIDER_CONFIG.plural)
@kopf.on.create(GROUP, VERSION, PROVIDER_CONFIG.plural)
@kopf.on.update(GROUP, VERSION, PROVIDER_CONFIG.plural, field="spec")
async def providerconfig(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    await sync(memo, PROVIDER_CONFIG, body, logger)


@kopf.on.resume(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural)
@kopf.on.create(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural)
@kopf.on.update(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural, field="spec")
async def clusterproviderconfig(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    await sync(memo, CLUSTER_PROVIDER_CONFIG, body, logger)


@kopf.on.event(GROUP, VERSION, PROVIDER_CONFIG.plural)
@kopf.on.event(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural)
async def providerconfig_event(
    type: str | None, body: kopf.Body, namespace: str | None, name: str, memo: kopf.Memo, **_: Any
) -> None:
    """A deleted provider config: its users must stop using its account and say so.

    One not evaluated at its generation yet is evaluated by the replica that acts: with two
    replicas, a standby's kopf marks a creation or a spec change handled (it writes the diff
    base) and the leader's kopf, seeing that write in the same batch, may not call its own
    handler. Otherwise this finds it evaluated already (kopf's handler came first) or does
    the handler's work first, which then finds nothing to change."""
    runtime = getattr(memo, "runtime", None)
    if type == "DELETED":
        if runtime is not None:
            runtime.requeue_users(body.get("kind", ""), namespace, name)
        return
    generation = body.get("metadata", {}).get("generation")
    if (body.get("status") or {}).get("observedGeneration") == generation or not acting(memo):
        return
    info = PROVIDER_CONFIG if body.get("kind") == PROVIDER_CONFIG.kind else CLUSTER_PROVIDER_CONFIG
    try:
        await sync(memo, info, body, _log)
    except kopf.TemporaryError as exc:  # kopf's own handler retries it
        _log.warning("evaluating %s %s/%s failed: %s", info.plural, namespace, name, exc)


async def evaluate_all(memo: kopf.Memo, refs: list[tuple[str, str, str]]) -> None:
    """Evaluate every provider config named (kind, namespace, name): when this replica takes
    over, for what it let pass while it stood by."""
    kinds = {info.kind: info for info in (PROVIDER_CONFIG, CLUSTER_PROVIDER_CONFIG)}
    for kind, namespace, name in refs:
        body = {"metadata": {"name": name, "namespace": namespace or None}}
        try:
            await sync(memo, kinds[kind], body, _log)
        except Exception as exc:  # the next change or Secret event tries again
            _log.warning("evaluating %s %s/%s failed: %s", kind, namespace, name, exc)


# --- Secrets they reference -----------------------------------------------------------------

Ref = tuple[str, str | None, str]  # (plural, namespace, name) of a provider config


@kopf.index(GROUP, VERSION, PROVIDER_CONFIG.plural)
def providerconfigs_by_secret(
    namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str | None, str], Ref] | None:
    ref = (spec.get("credentialsSecretRef") or {}).get("name")
    return {(namespace, ref): (PROVIDER_CONFIG.plural, namespace, name)} if ref else None


@kopf.index(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural)
def clusterproviderconfigs_by_secret(
    name: str, spec: kopf.Spec, memo: kopf.Memo, **_: Any
) -> dict[tuple[str | None, str], Ref] | None:
    ref = (spec.get("credentialsSecretRef") or {}).get("name")
    ns = memo.options.operator_namespace
    return {(ns, ref): (CLUSTER_PROVIDER_CONFIG.plural, None, name)} if ref else None


SecretIndex = kopf.Index[tuple[str | None, str], Ref]


def _users(namespace: str | None, name: str, indices: dict[str, Any]) -> list[Ref]:
    """Provider configs that reference Secret namespace/name (kopf passes indices as kwargs)."""
    found: list[Ref] = []
    for index_name in ("providerconfigs_by_secret", "clusterproviderconfigs_by_secret"):
        index: SecretIndex = indices[index_name]
        found.extend(index.get((namespace, name), []))
    return found


@kopf.on.event("", "v1", "secrets")
async def secret_changed(
    type: str | None,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Provider configs that reference this Secret are re-evaluated (and wake their users);
    a connection Secret the operator wrote goes back to its owner."""
    runtime = getattr(memo, "runtime", None)
    if runtime is not None:
        runtime.secret_event(type, body)
    kinds = {info.plural: info for info in (PROVIDER_CONFIG, CLUSTER_PROVIDER_CONFIG)}
    for plural, ns, pc_name in _users(namespace, name, kwargs):
        ref = {"metadata": {"name": pc_name, "namespace": ns}}
        try:
            # The Secret's own logger would post Events on the Secret; use the module's.
            await sync(memo, kinds[plural], ref, _log)
        except kopf.TemporaryError as exc:
            # Event handlers are not retried; the provider config's own handler will be.
            _log.warning("re-evaluating %s %s/%s failed: %s", plural, ns, pc_name, exc)
