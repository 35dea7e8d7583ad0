"""kopf wiring of the in-use finalizer (runtime/usage.py, runtime/inuse.py): indexes of the
configs' and Secrets' finalizers and of which configs reference a Secret, and their watch
events. Users are counted from the managed kinds' one event handler (handlers/managed.py),
not a kopf index (see runtime/usage.py), and a release is confirmed by the API server."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf

from cloudinfer.api.kinds import (
    CLUSTER_PROVIDER_CONFIG,
    GROUP,
    PROVIDER_CONFIG,
    VERSION,
    KindInfo,
)
from cloudinfer.handlers.indexes import first
from cloudinfer.runtime.inuse import InUseFinalizers
from cloudinfer.runtime.usage import (
    IN_USE_FINALIZER,
    SECRET,
    Meta,
    Target,
    UserCounts,
    meta_of,
    secret_of,
)

METAS = ("providerconfig_meta", "clusterproviderconfig_meta", "secret_meta")
BY_SECRET = ("providerconfigs_of_secret", "clusterproviderconfigs_of_secret")


def _config_entry(
    info: KindInfo, namespace: str | None, name: str, body: kopf.Body, memo: kopf.Memo
) -> tuple[Target, Target | None]:
    ref: Target = (info.kind, namespace or "", name)
    return ref, secret_of(info.kind, namespace, body.get("spec") or {}, _operator_ns(memo))


def _operator_ns(memo: kopf.Memo) -> str:
    return str(memo.options.operator_namespace)


@kopf.index(GROUP, VERSION, PROVIDER_CONFIG.plural, id=METAS[0])
def providerconfig_meta(
    namespace: str | None, name: str, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[Target, Meta]:
    ref, secret = _config_entry(PROVIDER_CONFIG, namespace, name, body, memo)
    return {ref: meta_of(body, secret)}


@kopf.index(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural, id=METAS[1])
def clusterproviderconfig_meta(
    name: str, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[Target, Meta]:
    ref, secret = _config_entry(CLUSTER_PROVIDER_CONFIG, None, name, body, memo)
    return {ref: meta_of(body, secret)}


@kopf.index("", "v1", "secrets", id=METAS[2])
def secret_meta(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Target, Meta]:
    return {(SECRET, namespace or "", name): meta_of(body)}


@kopf.index(GROUP, VERSION, PROVIDER_CONFIG.plural, id=BY_SECRET[0])
def providerconfigs_of_secret(
    namespace: str | None, name: str, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[Target, Target]:
    ref, secret = _config_entry(PROVIDER_CONFIG, namespace, name, body, memo)
    return {secret: ref} if secret is not None else {}


@kopf.index(GROUP, VERSION, CLUSTER_PROVIDER_CONFIG.plural, id=BY_SECRET[1])
def clusterproviderconfigs_of_secret(
    name: str, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> dict[Target, Target]:
    ref, secret = _config_entry(CLUSTER_PROVIDER_CONFIG, None, name, body, memo)
    return {secret: ref} if secret is not None else {}


@kopf.on.startup()
async def start_in_use(memo: kopf.Memo, **kwargs: Any) -> None:
    metas = [kwargs[i] for i in METAS]
    by_secret = [kwargs[i] for i in BY_SECRET]
    # Fed by the managed kinds' event handler (handlers/managed.py), not a kopf index: see
    # runtime/usage.py for why.
    memo.user_counts = counts = UserCounts()

    def meta(target: Target) -> Meta | None:
        for index in metas:
            found: Meta | None = first(index, target)
            if found is not None:
                return found
        return None

    def configs_of_secret(secret: Target) -> Iterable[Target]:
        return [ref for index in by_secret for ref in index.get(secret, ())]

    def acting() -> bool:
        # With leader election (memo.elector, handlers/startup.py) only the leader writes.
        elector = getattr(memo, "elector", None)
        return elector is None or bool(elector.leading)

    memo.in_use = InUseFinalizers(
        memo.kube,
        counts.count,
        meta,
        configs_of_secret,
        cluster_wide=not memo.options.namespaces,
        acting=acting,
    )


@kopf.on.cleanup()
async def stop_in_use(memo: kopf.Memo, **_: Any) -> None:
    in_use = getattr(memo, "in_use", None)
    if in_use is not None:
        await in_use.stop()


def _config_event(info: KindInfo) -> None:
    @kopf.on.event(GROUP, VERSION, info.plural, id=f"{info.singular}-in-use")
    async def config_changed(
        type: str | None,
        namespace: str | None,
        name: str,
        body: kopf.Body,
        memo: kopf.Memo,
        **_: Any,
    ) -> None:
        ref, secret = _config_entry(info, namespace, name, body, memo)
        memo.in_use.config_event(ref, type == "DELETED", secret)


_config_event(PROVIDER_CONFIG)
_config_event(CLUSTER_PROVIDER_CONFIG)


def _concerns_usage(namespace: str | None, name: str, body: kopf.Body, **kwargs: Any) -> bool:
    """Only a Secret that a provider config references or that holds the finalizer matters
    (most Secrets in a cluster do not; this filter spares each of them a handler call)."""
    if IN_USE_FINALIZER in (body.get("metadata", {}).get("finalizers") or ()):
        return True
    secret = (SECRET, namespace or "", name)
    return any(secret in kwargs[index] for index in BY_SECRET)


@kopf.on.event("", "v1", "secrets", id="secret-in-use", when=_concerns_usage)
async def secret_changed(namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
    memo.in_use.secret_event(namespace or "", name)
