"""The in-use finalizer: the pure decision (add while used, release when the last user is
gone, never add to an object being deleted), who counts as a user, and the coordinator that
writes it only when a count crosses 0 <-> 1 or the target itself changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from cloudinfer.api.kinds import MANAGED_KINDS, KindInfo
from cloudinfer.kube import FinalizerChange, FinalizerState, Kube
from cloudinfer.runtime.inuse import InUseFinalizers
from cloudinfer.runtime.usage import (
    IN_USE_FINALIZER,
    Action,
    Meta,
    Target,
    changed,
    config_of,
    decide,
    secret_of,
    uses,
)
from tests.support import async_wait_for

OTHER = "example.com/keep"
PC: Target = ("ProviderConfig", "ns", "pc")
CPC: Target = ("ClusterProviderConfig", "", "cpc")
SECRET: Target = ("Secret", "ns", "creds")

# -- the decision ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("users", "finalizers", "deleting", "action"),
    [
        (1, (), False, Action.ADD),
        (1, (OTHER,), False, Action.ADD),
        (3, (IN_USE_FINALIZER,), False, Action.NOTHING),
        (3, (IN_USE_FINALIZER,), True, Action.NOTHING),  # being deleted: kept while used
        (1, (), True, Action.NOTHING),  # being deleted without it: too late to add
        (0, (IN_USE_FINALIZER,), False, Action.REMOVE),
        (0, (OTHER, IN_USE_FINALIZER), True, Action.REMOVE),  # the last user went
        (0, (), False, Action.NOTHING),
        (0, (OTHER,), True, Action.NOTHING),
    ],
)
def test_decide(users: int, finalizers: tuple[str, ...], deleting: bool, action: Action) -> None:
    assert decide(users, finalizers, deleting) is action


def test_changed_keeps_other_finalizers_in_order() -> None:
    assert changed(1, (OTHER,), False) == [OTHER, IN_USE_FINALIZER]
    assert changed(0, ("a", IN_USE_FINALIZER, "b"), True) == ["a", "b"]
    assert changed(2, (IN_USE_FINALIZER,), False) is None
    assert changed(0, (), False) is None


def isvc(ref: dict[str, str], deleting: bool = False, finalizers: tuple[str, ...] = ()) -> Any:
    meta: dict[str, Any] = {"name": "svc", "namespace": "ns", "finalizers": list(finalizers)}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"providerConfigRef": ref}}


def test_a_managed_object_uses_its_config_until_its_own_finalizer_is_released() -> None:
    assert uses(isvc({"name": "pc"})) == PC  # new, not reconciled yet: already a user
    assert uses(isvc({"name": "cpc", "kind": "ClusterProviderConfig"})) == CPC
    held = ("cloudinfer.io/finalizer",)
    assert uses(isvc({"name": "pc"}, deleting=True, finalizers=held)) == PC  # deleting
    assert uses(isvc({"name": "pc"}, deleting=True, finalizers=(OTHER,))) is None  # done
    assert config_of(isvc({"name": "pc"}, deleting=True)) == PC
    assert uses({"metadata": {"name": "x", "namespace": "ns"}, "spec": {}}) is None


def test_the_secret_of_a_config() -> None:
    spec = {"credentialsSecretRef": {"name": "creds"}}
    assert secret_of("ProviderConfig", "ns", spec, "op") == SECRET
    assert secret_of("ClusterProviderConfig", None, spec, "op") == ("Secret", "op", "creds")
    assert secret_of("ProviderConfig", "ns", {}, "op") is None


# -- the coordinator -----------------------------------------------------------------------------


class FakeApi:
    """An API server's view of finalizers: resourceVersions, 409 on a stale one."""

    def __init__(self) -> None:
        self.objects: dict[Target, FinalizerState] = {}
        self.calls: list[tuple[str, Target]] = []
        self.fail = 0  # the next N writes fail with 500
        self._rv = 100
        # Users as the API server knows them (a LIST), set by the world; may be ahead of
        # the watch-fed counts.
        self.truth: Callable[[Target], int] = lambda ref: 0

    async def exists_any(self, info: KindInfo, namespace: str | None, field_selector: str) -> bool:
        fields = dict(part.split("=", 1) for part in field_selector.split(","))
        kind, name = fields["spec.providerConfigRef.kind"], fields["spec.providerConfigRef.name"]
        self.calls.append(("list-users", (kind, namespace or "", name)))
        return self.truth((kind, namespace or "", name)) > 0

    def put(self, target: Target, finalizers: tuple[str, ...] = (), deleting: bool = False) -> Meta:
        self._rv += 1
        state = FinalizerState(finalizers, deleting, str(self._rv))
        self.objects[target] = state
        return Meta(*state)

    async def change_finalizers(
        self,
        info: KindInfo | None,
        namespace: str,
        name: str,
        change: FinalizerChange,
        known: FinalizerState | None = None,
        attempts: int = 5,
    ) -> FinalizerState | None:
        target = (info.kind if info else "Secret", namespace, name)
        state = known
        while True:
            if state is None:
                self.calls.append(("read", target))
                state = self.objects.get(target)
                if state is None:
                    return None
            wanted = change(state.finalizers, state.deleting)
            if wanted is None:
                return None
            self.calls.append(("patch", target))
            if self.fail:
                self.fail -= 1
                raise ApiException(status=500, reason="boom")
            if self.objects[target].resource_version != state.resource_version:
                state = None  # 409
                continue
            self.put(target, tuple(wanted), state.deleting)
            return self.objects[target]


class World:
    """Indexes as plain dicts, and the coordinator on them."""

    def __init__(self, cluster_wide: bool = True) -> None:
        self.api = FakeApi()
        self.users: dict[Target, set[str]] = {}
        self.api.truth = lambda ref: len(self.users.get(ref, ()))
        self.metas: dict[Target, Meta] = {}
        self.by_secret: dict[Target, list[Target]] = {}
        self.in_use = InUseFinalizers(
            self.api,
            lambda ref: len(self.users.get(ref, ())),
            self.metas.get,
            lambda secret: self.by_secret.get(secret, []),
            cluster_wide=cluster_wide,
            retry=0.01,
        )

    def config(self, ref: Target, secret: Target | None = SECRET, deleting: bool = False) -> None:
        """A config appears (or changes) with its Secret, as its watch would tell."""
        old = self.metas.get(ref)
        finalizers = self.api.objects[ref].finalizers if ref in self.api.objects else ()
        meta = self.api.put(ref, finalizers, deleting)
        self.metas[ref] = Meta(meta.finalizers, meta.deleting, meta.resource_version, secret)
        if old is not None and old.secret is not None:
            self.by_secret[old.secret].remove(ref)
        if secret is not None:
            self.by_secret.setdefault(secret, []).append(ref)
        self.in_use.config_event(ref, False, secret)

    def secret(self, target: Target = SECRET, deleting: bool = False) -> None:
        finalizers = self.api.objects[target].finalizers if target in self.api.objects else ()
        self.metas[target] = self.api.put(target, finalizers, deleting)
        self.in_use.secret_event(target[1], target[2])

    def user(self, name: str, ref: Target = PC, gone: bool = False) -> None:
        users = self.users.setdefault(ref, set())
        if gone:
            users.discard(name)
        else:
            users.add(name)
        kind = {"kind": ref[0], "name": ref[2]}
        self.in_use.user_event(
            {"metadata": {"name": name, "namespace": "ns"}, "spec": {"providerConfigRef": kind}}
        )

    def watch(self, *targets: Target) -> None:
        """The watch delivers what the API server holds now."""
        for target in targets:
            state = self.api.objects[target]
            secret = self.metas[target].secret
            self.metas[target] = Meta(*state[:3], secret=secret)
            if target[0] == "Secret":
                self.in_use.secret_event(target[1], target[2])
            else:
                self.in_use.config_event(target, False, secret)

    def held(self, target: Target) -> bool:
        return IN_USE_FINALIZER in self.api.objects[target].finalizers

    async def settled(self) -> None:
        await async_wait_for(lambda: not self.in_use.busy, 5, "writes to finish")


async def test_ten_thousand_users_cost_one_patch_per_target() -> None:
    w = World()
    w.secret()
    w.config(PC)
    assert not w.api.calls  # no users: nothing to write
    for i in range(10_000):
        w.user(f"svc-{i}")  # the config's watch echo arrives only after the burst
    await w.settled()
    assert w.held(PC) and w.held(SECRET)
    assert w.api.calls == [("patch", PC), ("patch", SECRET)]
    w.watch(PC, SECRET)
    for i in range(1, 10_000):
        w.user(f"svc-{i}", gone=True)
    await w.settled()
    assert len(w.api.calls) == 2 and w.held(PC)
    w.user("svc-0", gone=True)  # the last one
    await w.settled()
    assert not w.held(PC) and not w.held(SECRET)
    # A release is first confirmed by the API server (one LIST per managed kind), then
    # written.
    lists = [("list-users", PC)] * len(MANAGED_KINDS)
    assert w.api.calls[2:] == [*lists, ("patch", PC), *lists, ("patch", SECRET)]


async def test_a_release_waits_for_users_the_watch_has_not_shown_yet() -> None:
    """Just after a start the watch-fed counts may lag the API server: a count of 0 is not
    enough to release; the LIST says a user exists, so the finalizer stays."""
    w = World()
    w.secret()
    w.config(PC)
    w.user("a")
    await w.settled()
    w.watch(PC, SECRET)
    w.api.truth = lambda ref: 1  # a user the watch has not delivered yet
    w.user("a", gone=True)
    await w.settled()
    assert w.held(PC) and w.held(SECRET)
    assert ("list-users", PC) in w.api.calls


async def test_a_config_being_deleted_keeps_it_until_its_last_user_is_gone() -> None:
    w = World()
    w.secret()
    w.config(PC)
    w.user("a")
    w.user("b")
    await w.settled()
    w.watch(PC, SECRET)
    w.secret(deleting=True)  # deleted first: both stay usable
    w.config(PC, deleting=True)
    w.user("a", gone=True)
    await w.settled()
    assert w.held(PC) and w.held(SECRET)
    w.user("b", gone=True)
    await w.settled()
    assert not w.held(PC) and not w.held(SECRET)


async def test_too_late_for_a_config_deleted_before_it_was_used() -> None:
    w = World()
    w.secret()
    w.config(PC, deleting=True)
    w.user("a")
    await w.settled()
    assert not w.held(PC) and ("patch", PC) not in w.api.calls


async def test_a_stale_view_is_corrected_by_reading_again() -> None:
    w = World()
    w.secret()
    w.config(PC)
    w.api.put(PC, (OTHER,))  # someone added a finalizer; the watch has not said so yet
    w.user("a")
    await w.settled()
    assert w.api.objects[PC].finalizers == (OTHER, IN_USE_FINALIZER)
    assert w.api.calls[:3] == [("patch", PC), ("read", PC), ("patch", PC)]


async def test_a_failed_write_is_retried() -> None:
    w = World()
    w.config(PC, secret=None)
    w.api.fail = 2
    w.user("a")
    await w.settled()
    assert w.held(PC)
    assert w.api.calls == [("patch", PC)] * 3


async def test_a_secret_reference_that_moves_releases_the_old_secret() -> None:
    w = World()
    new: Target = ("Secret", "ns", "new")
    w.secret()
    w.secret(new)
    w.config(PC)
    w.user("a")
    await w.settled()
    w.watch(PC, SECRET)
    w.config(PC, secret=new)
    await w.settled()
    assert not w.held(SECRET) and w.held(new)


async def test_a_secret_shared_by_two_configs_is_held_while_either_is_used() -> None:
    w = World()
    other: Target = ("ProviderConfig", "ns", "other")
    w.secret()
    w.config(PC)
    w.config(other)
    w.user("a")
    w.user("b", ref=other)
    await w.settled()
    w.watch(PC, other, SECRET)
    w.user("a", gone=True)
    await w.settled()
    assert not w.held(PC) and w.held(other) and w.held(SECRET)


async def test_a_cluster_config_is_left_alone_when_only_some_namespaces_are_watched() -> None:
    w = World(cluster_wide=False)
    op_secret: Target = ("Secret", "op", "creds")
    w.secret(op_secret)
    w.config(CPC, secret=op_secret)
    w.secret()
    w.config(PC)
    w.user("a", ref=CPC)
    w.user("b")
    await w.settled()
    assert not w.held(CPC) and not w.held(op_secret)
    assert w.held(PC) and w.held(SECRET)


# -- the write itself ------------------------------------------------------------------------------


class FakeCustomApi:
    def __init__(self) -> None:
        self.body: dict[str, Any] = {
            "metadata": {"name": "pc", "finalizers": ["x"], "resourceVersion": "2"}
        }
        self.patches: list[dict[str, Any]] = []

    def get_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        return self.body

    def patch_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        patch = args[-1]
        self.patches.append(patch)
        if patch["metadata"]["resourceVersion"] != self.body["metadata"]["resourceVersion"]:
            raise ApiException(status=409, reason="Conflict")
        self.body["metadata"].update(patch["metadata"], resourceVersion="3")
        return self.body


async def test_kube_patches_with_the_version_and_reads_again_on_conflict() -> None:
    from cloudinfer.api.kinds import PROVIDER_CONFIG

    kube = Kube.__new__(Kube)
    api = FakeCustomApi()
    kube._custom_api = api  # type: ignore[assignment]
    seen: list[tuple[tuple[str, ...], bool]] = []

    def change(finalizers: tuple[str, ...], deleting: bool) -> list[str] | None:
        seen.append((finalizers, deleting))
        return [*finalizers, IN_USE_FINALIZER]

    stale = FinalizerState((), False, "1")
    written = await kube.change_finalizers(PROVIDER_CONFIG, "ns", "pc", change, stale)
    assert written == FinalizerState(("x", IN_USE_FINALIZER), False, "3")
    assert seen == [((), False), (("x",), False)]  # decided again on what was read
    assert [p["metadata"]["resourceVersion"] for p in api.patches] == ["1", "2"]
    assert api.body["metadata"]["finalizers"] == ["x", IN_USE_FINALIZER]

    assert await kube.change_finalizers(PROVIDER_CONFIG, "ns", "pc", lambda f, d: None) is None
    assert len(api.patches) == 2


async def test_a_standby_writes_nothing_until_it_takes_over() -> None:
    w = World()
    leading = False
    w.in_use = InUseFinalizers(
        w.api,
        lambda ref: len(w.users.get(ref, ())),
        w.metas.get,
        lambda secret: w.by_secret.get(secret, []),
        acting=lambda: leading,
    )
    w.secret()
    w.config(PC)
    w.user("a")
    assert not w.in_use.busy and not w.api.calls  # nothing started, nothing written
    leading = True
    await async_wait_for(lambda: w.held(PC) and w.held(SECRET), 5, "the writes after taking over")
    await w.settled()
