"""Reconcile decisions with recording adapters and writer: no Kubernetes, no cloud.

Both identity strategies: client-named (a fake with EAS's behaviour) and server-named (a fake
cloud that chooses ids, as ModelArts and DataArts Fabric do), including a crash between the
create call and the write of the id."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from cloudinfer.adapters.base import (
    EXTERNAL_NAME,
    CallContext,
    CreatePending,
    Drift,
    Identity,
    Lookup,
    ManagedResource,
    Observation,
)
from cloudinfer.api.inferenceservice import InferenceServiceSpec
from cloudinfer.api.kinds import INFERENCE_SERVICE_KIND
from cloudinfer.clouds import errors
from cloudinfer.clouds.ratelimit import Parked
from cloudinfer.reconcile.managed import (
    ACCOUNT,
    CREATE_PENDING,
    FINALIZER,
    RETRY,
    Reconciler,
    reason_from_code,
)

CTX = CallContext("cn-shanghai")


@dataclass
class FakeAdapter:
    """Client-named: scripted observations."""

    observations: list[Observation]
    create_error: Exception | None = None
    update_error: Exception | None = None
    delete_error: Exception | None = None
    calls: list[str] = field(default_factory=list)
    identity: Identity = "client-named"

    def external_name(self, spec: Any, metadata_name: str) -> str:
        return metadata_name

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        self.calls.append("observe-fresh" if fresh else "observe")
        return self.observations.pop(0) if len(self.observations) > 1 else self.observations[0]

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        return Lookup(resource.external_name, True)

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        self.calls.append("create")
        if self.create_error:
            raise self.create_error
        return resource.external_name

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        self.calls.append("update")
        if self.update_error:
            raise self.update_error
        return {}

    async def claim(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> None:
        self.calls.append("claim")

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None:
        self.calls.append("delete")
        if self.delete_error:
            raise self.delete_error

    def gone(self, observation: Observation) -> bool:
        return not observation.exists


@dataclass
class FakeWriter:
    log: list[Any] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    fail_id_writes: int = 0  # the next writes of the id fail (the API server is down)

    async def prepare(
        self, resource: ManagedResource, annotations: dict[str, str | None], finalizer: bool
    ) -> None:
        if EXTERNAL_NAME in annotations and self.fail_id_writes:
            self.fail_id_writes -= 1
            raise ConnectionError("API server unreachable")
        self.log.append(("prepare", dict(annotations), finalizer))
        for key, value in annotations.items():
            if value is None:
                self.annotations.pop(key, None)
            else:
                self.annotations[key] = value

    async def remove_finalizer(self, resource: ManagedResource) -> None:
        self.log.append("remove-finalizer")

    async def write_status(self, resource: ManagedResource, status: dict[str, Any]) -> None:
        self.status = status
        self.log.append("status")

    async def write_connection_secret(
        self, resource: ManagedResource, data: dict[str, str]
    ) -> None:
        self.log.append("secret")

    async def event(self, resource: ManagedResource, type_: str, reason: str, message: str) -> None:
        self.log.append(("event", reason))

    def ready(self) -> tuple[str, str]:
        cond = next(c for c in self.status["conditions"] if c["type"] == "Ready")
        return cond["status"], cond["reason"]

    def synced(self) -> tuple[str, str]:
        cond = next(c for c in self.status["conditions"] if c["type"] == "Synced")
        return cond["status"], cond["reason"]


def res(**spec_fields: Any) -> ManagedResource:
    spec = InferenceServiceSpec.model_validate(
        {"providerConfigRef": {"name": "pc"}, "eas": {"processor": "p"}, **spec_fields}
    )
    return ManagedResource("InferenceService", "ns", "n", "uid-1", 1, spec, "n")


RUNNING = Observation(
    exists=True,
    owner_uid="uid-1",
    phase="Running",
    cloud_status="Running",
    progress=100,
    endpoint="http://e",
)
ABSENT = Observation(exists=False)


async def run(
    resource: ManagedResource,
    adapter: Any,
    writer: FakeWriter | None = None,
    ctx: CallContext = CTX,
    unsent: dict[tuple[str, str, str], str] | None = None,
) -> tuple[FakeWriter, float | None]:
    writer = writer or FakeWriter()
    reconciler = Reconciler(
        INFERENCE_SERVICE_KIND, adapter, writer, ctx, retry_base=2, unsent=unsent
    )
    after = await reconciler.reconcile(resource)
    return writer, after


# -- client-named --------------------------------------------------------------------------


async def test_finalizer_and_name_are_written_before_create() -> None:
    adapter = FakeAdapter([ABSENT])
    writer, after = await run(res(), adapter)
    assert adapter.calls == ["observe", "create"]
    assert writer.log[0] == ("prepare", {EXTERNAL_NAME: "n"}, True)
    # Client-named: no create-pending marker (the name is the marker): one metadata write.
    assert not any(e[0] == "prepare" and CREATE_PENDING in e[1] for e in writer.log[1:])
    assert ("event", "CreatedExternal") in writer.log
    assert after is None  # the observer follows the new service, no polling here
    # No status write after the create: the observer's first sight of it says more.
    assert "status" not in writer.log


async def test_first_sight_of_our_new_service_is_not_an_event_but_running_is() -> None:
    """After a create, CreatedExternal said it: the first status (Creating) adds no Event;
    the phase it settles in does."""
    creating = replace(RUNNING, phase="Creating", transitional=True, progress=0)
    seen = replace(res(), finalizers=(FINALIZER,), annotations={EXTERNAL_NAME: "n"})
    writer, _ = await run(seen, FakeAdapter([creating]))
    assert writer.status["phase"] == "Creating"
    assert not [e for e in writer.log if isinstance(e, tuple) and e[0] == "event"]
    writer, _ = await run(replace(seen, status=dict(writer.status)), FakeAdapter([RUNNING]))
    assert ("event", "Running") in writer.log


async def test_conflict_is_adopted_only_when_it_carries_our_uid() -> None:
    ours = FakeAdapter([ABSENT, RUNNING], create_error=errors.Conflict("exists"))
    writer, _ = await run(res(), ours)
    assert ours.calls == ["observe", "create", "observe-fresh"]
    assert writer.ready() == ("True", "Available")
    theirs = FakeAdapter(
        [ABSENT, replace(RUNNING, owner_uid="someone")], create_error=errors.Conflict("x")
    )
    writer, after = await run(res(), theirs)
    assert writer.ready() == ("False", "NameConflict") and after is None
    # The name recorded for that create is taken back: it must not later pass for ours on a
    # cloud that keeps no owner marker (VIAS goes by the record).
    assert EXTERNAL_NAME not in writer.annotations
    recorded = replace(res(), annotations={EXTERNAL_NAME: "n"})
    theirs = FakeAdapter(
        [ABSENT, replace(RUNNING, owner_uid="someone")], create_error=errors.Conflict("x")
    )
    writer, _ = await run(recorded, theirs)
    assert writer.ready() == ("False", "NameConflict")
    assert ("prepare", {EXTERNAL_NAME: None}, False) not in writer.log  # recorded before: kept


async def test_terminal_refusal_is_recorded_and_not_retried() -> None:
    adapter = FakeAdapter([ABSENT], create_error=errors.Invalid("bad cpu", code="InvalidParameter"))
    writer, after = await run(res(), adapter)
    assert after is None and writer.status["failedGeneration"] == 1
    assert writer.ready() == ("False", "InvalidParameter")
    again = replace(
        res(), status=writer.status, finalizers=(FINALIZER,), annotations={EXTERNAL_NAME: "n"}
    )
    adapter2 = FakeAdapter([ABSENT])
    _, after2 = await run(again, adapter2)
    assert adapter2.calls == ["observe"] and after2 is None  # same generation: no create
    _, _ = await run(replace(again, generation=2), adapter2)
    assert adapter2.calls[-1] == "create"  # spec changed: try again


async def test_retry_annotation_retries_a_terminal_refusal_once_per_value() -> None:
    adapter = FakeAdapter([ABSENT], create_error=errors.Invalid("quota", code="QuotaExceeded"))
    writer, _ = await run(res(), adapter)
    refused = replace(
        res(), status=writer.status, finalizers=(FINALIZER,), annotations={EXTERNAL_NAME: "n"}
    )
    asked = replace(refused, annotations={**refused.annotations, RETRY: "1"})
    writer, _ = await run(asked, adapter)
    assert adapter.calls == ["observe", "create", "observe", "create"]
    assert writer.status["failedRetry"] == "1"  # refused again: recorded with the request
    again = replace(asked, status=writer.status)
    await run(again, adapter)
    assert adapter.calls.count("create") == 2  # the same value does not retry twice
    ok = FakeAdapter([RUNNING])
    writer, _ = await run(replace(again, annotations={**again.annotations, RETRY: "2"}), ok)
    assert writer.status["failedGeneration"] is None and writer.status["failedRetry"] is None


async def test_permission_and_credential_refusals_retry_slowly_with_one_event() -> None:
    for error, reason in (
        (errors.Forbidden("no permission", code="Forbidden.RAM"), "Forbidden"),
        (errors.AuthFailed("bad key", code="InvalidAccessKeyId.NotFound"), "CredentialsRejected"),
    ):
        adapter = FakeAdapter([ABSENT], create_error=error)
        writer, after = await run(res(), adapter)
        assert after is not None and after >= 30 and writer.ready() == ("False", reason)
        assert "failedGeneration" not in writer.status  # not final: retried without a change
        assert writer.log.count(("event", reason)) == 1
        seen = replace(res(), status=writer.status, finalizers=(FINALIZER,))
        writer, after = await run(seen, adapter)
        assert after is not None and ("event", reason) not in writer.log  # no Event storm


async def test_deletion_is_retried_whatever_the_error() -> None:
    deleting = replace(res(), deleting=True, finalizers=(FINALIZER,))
    for error in (
        errors.Invalid("refused", code="InvalidParameter"),
        errors.Unrecognised("who knows", code="Odd"),
        errors.Forbidden("no", code="Forbidden"),
        errors.AuthFailed("bad", code="SignatureDoesNotMatch"),
    ):
        adapter = FakeAdapter([RUNNING], delete_error=error)
        writer, after = await run(deleting, adapter)
        assert after is not None and after > 0, error
        assert "remove-finalizer" not in writer.log


async def test_ready_is_false_after_an_update_until_an_observation_shows_it_live() -> None:
    drifted = replace(RUNNING, drift=(Drift("metadata.instance", 5, 2),))
    seen = replace(res(), finalizers=(FINALIZER,), annotations={EXTERNAL_NAME: "n"})
    writer, _ = await run(seen, FakeAdapter([drifted]))
    assert writer.ready() == ("False", "Updating")
    ready = next(c for c in writer.status["conditions"] if c["type"] == "Ready")
    assert "metadata.instance" in ready["message"]
    writer, _ = await run(replace(seen, status=writer.status), FakeAdapter([RUNNING]))
    assert writer.ready() == ("True", "Available")


async def test_a_refused_update_is_not_ready() -> None:
    drifted = replace(RUNNING, drift=(Drift("metadata.cpu", 5, 2),))
    seen = replace(res(), finalizers=(FINALIZER,), annotations={EXTERNAL_NAME: "n"})
    adapter = FakeAdapter([drifted], update_error=errors.Invalid("no", code="InvalidParameter"))
    writer, _ = await run(seen, adapter)
    assert writer.ready() == ("False", "InvalidParameter")
    writer, _ = await run(replace(seen, status=writer.status), FakeAdapter([drifted]))
    assert writer.ready() == ("False", "InvalidParameter")  # still not what the spec says


ADOPT = {"cloudinfer.io/adopt": "true"}


async def test_adopt_annotation_takes_over_unowned_or_same_namespace_services() -> None:
    for owner, namespace in ((None, None), ("old-uid", "ns")):  # made by hand; a restore
        adapter = FakeAdapter([replace(RUNNING, owner_uid=owner, owner_namespace=namespace)])
        writer, _ = await run(replace(res(), annotations=ADOPT), adapter)
        assert adapter.calls == ["observe", "claim"], owner
        assert ("event", "AdoptedExternal") in writer.log
        assert ("prepare", {EXTERNAL_NAME: "n"}, True) in writer.log  # managed from now on
        assert writer.ready() == ("True", "Available")
    # Without the annotation: a conflict, as before.
    plain = FakeAdapter([replace(RUNNING, owner_uid=None)])
    writer, _ = await run(res(), plain)
    assert "claim" not in plain.calls and writer.ready() == ("False", "NameConflict")
    assert "cloudinfer.io/adopt" in writer.status["message"]


async def test_another_namespaces_service_is_adopted_only_when_the_config_allows() -> None:
    theirs = replace(RUNNING, owner_uid="their-uid", owner_namespace="team-b")
    for resource in (
        replace(res(), annotations=ADOPT),
        res(managementPolicy="Observe", serviceName="theirs"),
    ):
        adapter = FakeAdapter([theirs])
        writer, _ = await run(resource, adapter)
        assert "claim" not in adapter.calls
        assert writer.ready() == ("False", "CrossNamespaceAdoption")
        assert "team-b" in writer.status["message"]
        assert "url" not in writer.status or writer.status["url"] is None  # nothing of theirs
    allowed = CallContext("cn-shanghai", cross_namespace=True)
    writer, _ = await run(
        res(managementPolicy="Observe", serviceName="t"), FakeAdapter([theirs]), ctx=allowed
    )
    assert writer.ready() == ("True", "Available")
    # Unlabelled (made outside Kubernetes): adoptable read-only from anywhere.
    anyone = FakeAdapter([replace(RUNNING, owner_uid=None)])
    writer, _ = await run(res(managementPolicy="Observe", serviceName="legacy"), anyone)
    assert writer.ready() == ("True", "Available")


async def test_the_account_is_recorded_and_a_changed_one_stops_everything() -> None:
    here = CallContext("cn-shanghai", account="acct-1")
    adapter = FakeAdapter([ABSENT])
    writer, _ = await run(res(), adapter, ctx=here)
    assert writer.log[0] == ("prepare", {EXTERNAL_NAME: "n", ACCOUNT: "acct-1"}, True)
    made = replace(res(), annotations={EXTERNAL_NAME: "n", ACCOUNT: "acct-1"})
    elsewhere = CallContext("cn-shanghai", account="acct-2")
    for resource in (made, replace(made, deleting=True, finalizers=(FINALIZER,))):
        moved = FakeAdapter([ABSENT])
        writer, after = await run(resource, moved, ctx=elsewhere)
        assert moved.calls == [] and after is None  # no create there, no delete of a namesake
        assert writer.ready() == ("False", "AccountChanged")
        assert "remove-finalizer" not in writer.log
    orphan = replace(made, deleting=True, finalizers=(FINALIZER,))
    orphan = replace(orphan, spec=res(deletionPolicy="Orphan").spec)
    writer, _ = await run(orphan, FakeAdapter([RUNNING]), ctx=elsewhere)
    assert "remove-finalizer" in writer.log  # nothing to do on the cloud: let it go
    # Resources made before accounts were recorded get it at their next sync.
    writer, _ = await run(
        replace(res(), annotations={EXTERNAL_NAME: "n"}), FakeAdapter([RUNNING]), ctx=here
    )
    assert ("prepare", {ACCOUNT: "acct-1"}, True) in writer.log


async def test_an_edited_external_name_is_refused() -> None:
    edited = replace(
        res(), annotations={EXTERNAL_NAME: "someone_elses"}, external_name="someone_elses"
    )
    adapter = FakeAdapter([RUNNING])
    writer, _ = await run(edited, adapter)
    assert adapter.calls == [] and writer.ready() == ("False", "ExternalNameChanged")
    assert "someone_elses" in writer.status["message"]


def test_reasons_from_cloud_codes_fit_the_crd_pattern() -> None:
    assert reason_from_code("QuotaExceeded.Instance-Count") == "QuotaExceededInstanceCount"
    assert reason_from_code("ModelArts.3520") == "ModelArts3520"
    assert reason_from_code("400") == "Refused" and reason_from_code("") == "Refused"


async def test_throttling_and_transient_errors_requeue() -> None:
    throttled = FakeAdapter([ABSENT], create_error=errors.Throttled("slow down", retry_after=7))
    writer, after = await run(res(), throttled)
    assert after == 7 and writer.synced() == ("False", "Throttled")
    flaky = FakeAdapter([ABSENT], create_error=errors.ServerError("boom"))
    writer, after = await run(res(), flaky)
    assert after is not None and 1 <= after <= 3 and "failedGeneration" not in writer.status
    busy = FakeAdapter([ABSENT], create_error=errors.Busy("deleting", code="InvalidServiceStatus"))
    writer, after = await run(res(), busy)
    assert after is not None and writer.synced() == ("False", "ReconcileError")


async def test_our_own_rate_limiter_requeues_without_a_status_write() -> None:
    local = errors.Throttled("next slot in 3s", retry_after=3, local=True)
    adapter = FakeAdapter([ABSENT], create_error=local)
    writer, after = await run(res(), adapter)
    assert after == 3 and "status" not in writer.log


async def test_drift_is_updated_but_not_mid_transition() -> None:
    drifted = replace(RUNNING, drift=(Drift("metadata.instance", 5, 2),))
    adapter = FakeAdapter([drifted])
    writer, after = await run(res(), adapter)
    assert after is None  # the update invalidated the observer's copy; it follows it
    assert adapter.calls == ["observe", "update"] and ("event", "UpdatingExternal") in writer.log
    busy = FakeAdapter([replace(drifted, phase="Updating", transitional=True)])
    writer, _ = await run(res(), busy)
    assert busy.calls == ["observe"] and "waiting for the cloud" in writer.status["message"]


async def test_messages_name_paths_never_values() -> None:
    secret = Drift("containers.0.env.0.value", "old-token-XYZ", "new-token-ABC")
    adapter = FakeAdapter([replace(RUNNING, owner_uid=None, drift=(secret,))])
    writer, _ = await run(res(managementPolicy="Observe", serviceName="legacy"), adapter)
    assert "containers.0.env.0.value" in writer.status["message"]
    assert "token" not in writer.status["message"].replace("env.0.value", "")


async def test_observe_mode_never_writes_and_reports_drift() -> None:
    drifted = replace(RUNNING, owner_uid=None, drift=(Drift("x", 1, 2),))
    adapter = FakeAdapter([drifted])
    writer, _ = await run(res(managementPolicy="Observe", serviceName="legacy"), adapter)
    assert adapter.calls == ["observe"] and writer.ready() == ("True", "Available")
    assert ("event", "DriftDetected") in writer.log
    assert not any(isinstance(e, tuple) and e[0] == "prepare" for e in writer.log)


async def test_deletion_policies() -> None:
    deleting = replace(res(), deleting=True, finalizers=(FINALIZER,))
    adapter = FakeAdapter([RUNNING])
    writer, after = await run(deleting, adapter)
    # Asked directly: a listing's silence never releases a finalizer.
    assert adapter.calls == ["observe-fresh", "delete"] and after is None
    gone = FakeAdapter([ABSENT])
    writer, _ = await run(deleting, gone)
    assert "remove-finalizer" in writer.log
    orphan = replace(res(deletionPolicy="Orphan"), deleting=True, finalizers=(FINALIZER,))
    keep = FakeAdapter([RUNNING])
    writer, _ = await run(orphan, keep)
    assert keep.calls == [] and "remove-finalizer" in writer.log
    not_ours = FakeAdapter([replace(RUNNING, owner_uid="other")])
    writer, _ = await run(deleting, not_ours)
    assert "delete" not in not_ours.calls and "remove-finalizer" in writer.log


async def test_paused_does_nothing_but_say_so() -> None:
    paused = replace(res(), annotations={"cloudinfer.io/paused": "true"})
    adapter = FakeAdapter([ABSENT])
    writer, after = await run(paused, adapter)
    assert adapter.calls == [] and after is None
    assert writer.synced() == ("False", "ReconcilePaused")


# -- server-named --------------------------------------------------------------------------


@dataclass
class ServerNamedCloud:
    """A cloud that picks ids (as ModelArts does), names need not be unique, and the owner
    marker is whatever the create stamped. `listing_works` says whether a lookup can prove
    absence."""

    services: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    listing_works: bool = True
    creates: int = 0
    refuse: BaseException | None = None  # every create raises this (before sending)
    lookups: int = 0


@dataclass
class ServerNamedAdapter:
    cloud: ServerNamedCloud
    lose_answer: bool = False  # the create commits, then the answer is lost
    identity: Identity = "server-named"

    def external_name(self, spec: Any, metadata_name: str) -> str:
        return metadata_name

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        service = self.cloud.services.get(resource.external_id)
        if service is None:
            return ABSENT
        return replace(RUNNING, owner_uid=service["owner"], external_id=resource.external_id)

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        self.cloud.lookups += 1
        if not self.cloud.listing_works:
            return Lookup(detail="listing failed")
        for sid, service in self.cloud.services.items():
            if service["owner"] == resource.uid:
                return Lookup(found=sid)
        return Lookup(authoritative=True)

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        self.cloud.creates += 1
        if self.cloud.refuse is not None:
            raise self.cloud.refuse
        sid = f"svc-{next(self.cloud.ids)}"
        self.cloud.services[sid] = {"name": resource.external_name, "owner": resource.uid}
        if self.lose_answer:
            raise errors.TransportError("connection reset", maybe_committed=True)
        return sid

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        return {}

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None:
        self.cloud.services.pop(resource.external_id, None)

    def gone(self, observation: Observation) -> bool:
        return not observation.exists


def after_writes(resource: ManagedResource, writer: FakeWriter) -> ManagedResource:
    """The object as the next reconcile reads it: what the writer persisted, nothing else."""
    return replace(
        resource,
        finalizers=(FINALIZER,),
        external_id=writer.annotations.get(EXTERNAL_NAME, ""),
        create_pending=CreatePending.parse(writer.annotations.get(CREATE_PENDING)),
        annotations=dict(writer.annotations),
        status=dict(writer.status),
    )


async def test_server_named_records_pending_then_the_id_at_once() -> None:
    cloud = ServerNamedCloud()
    writer, after = await run(res(), ServerNamedAdapter(cloud))
    # Back soon: the runtime follows the service by the id it reads at the next reconcile.
    assert after is not None and after <= 5.0
    prepares = [e for e in writer.log if isinstance(e, tuple) and e[0] == "prepare"]
    assert CREATE_PENDING in prepares[0][1] and prepares[0][1][CREATE_PENDING].startswith("uid-1 ")
    assert prepares[1][1] == {EXTERNAL_NAME: "svc-1", CREATE_PENDING: None}
    assert writer.annotations == {EXTERNAL_NAME: "svc-1"} and cloud.creates == 1
    # The next reconcile finds it by id: no second create; the id reaches status.
    await run(after_writes(res(), writer), ServerNamedAdapter(cloud), writer)
    assert cloud.creates == 1 and writer.ready() == ("True", "Available")
    assert writer.status["serviceId"] == "svc-1"


async def test_server_named_kill_between_create_and_id_write_never_duplicates() -> None:
    """The process dies after the create call returned and before the id was written (the
    id write fails every attempt): the marker alone leads the next reconcile to it."""
    cloud = ServerNamedCloud()
    dying = FakeWriter(fail_id_writes=99)
    try:
        await run(res(), ServerNamedAdapter(cloud), dying)
        raise AssertionError("the id write failure must surface")
    except ConnectionError:
        pass
    assert cloud.creates == 1 and CREATE_PENDING in dying.annotations
    assert EXTERNAL_NAME not in dying.annotations
    # A new process: same object (create-pending, no id), fresh writer.
    restarted = after_writes(res(), dying)
    writer = FakeWriter(annotations=dict(dying.annotations))
    await run(restarted, ServerNamedAdapter(cloud), writer)
    assert cloud.creates == 1, "a second create: the service leaked"
    assert writer.annotations == {EXTERNAL_NAME: "svc-1"}
    assert ("event", "AdoptedExternal") in writer.log and writer.ready() == ("True", "Available")


async def test_server_named_lost_answer_then_lookup() -> None:
    cloud = ServerNamedCloud()
    writer, after = await run(res(), ServerNamedAdapter(cloud, lose_answer=True))
    assert cloud.creates == 1 and after is not None  # transient: retried with backoff
    await run(after_writes(res(), writer), ServerNamedAdapter(cloud), writer)
    assert cloud.creates == 1 and writer.annotations[EXTERNAL_NAME] == "svc-1"


@pytest.mark.parametrize(
    ("answer", "pending_kept"),
    [
        (errors.AuthFailed("bad token", code="APIGW.0301"), False),
        (errors.Invalid("quota", code="ModelArts.3522"), False),
        (errors.TransportError("reset", maybe_committed=True), True),
        (errors.ServerError("boom", status=503), True),
    ],
)
async def test_server_named_create_refused_outright_drops_the_marker(
    answer: errors.CloudError, pending_kept: bool
) -> None:
    """A create the cloud answered with a refusal made nothing: the marker goes, so the
    retry creates without a project listing first (or, after a refused listing, a
    misleading CreateIncomplete). After no answer, or a 5xx, it stays."""
    cloud = ServerNamedCloud(refuse=answer)
    writer, _ = await run(res(), ServerNamedAdapter(cloud))
    assert cloud.creates == 1
    assert (CREATE_PENDING in writer.annotations) is pending_kept
    assert writer.synced()[0] == "False"


async def test_server_named_name_taken_by_someone_else_is_a_name_conflict() -> None:
    cloud = ServerNamedCloud(refuse=errors.Conflict("name exists", code="ModelArts.3503"))
    writer, _ = await run(res(), ServerNamedAdapter(cloud))
    assert cloud.creates == 1 and writer.ready() == ("False", "NameConflict")
    assert "spec.serviceName" in writer.status["message"]
    assert CREATE_PENDING not in writer.annotations


async def test_server_named_name_taken_by_our_slow_create_is_adopted() -> None:
    """An earlier create landed after its lookup found nothing: the retry's 409 leads to it
    by the marker, and nothing is created twice."""
    cloud = ServerNamedCloud(refuse=errors.Conflict("name exists", code="ModelArts.3503"))
    cloud.services["svc-7"] = {"name": "svc", "owner": "uid-1"}
    writer, _ = await run(res(), ServerNamedAdapter(cloud))
    assert writer.annotations.get(EXTERNAL_NAME) == "svc-7"
    assert ("event", "AdoptedExternal") in writer.log and writer.ready() == ("True", "Available")


@pytest.mark.parametrize(
    "held", [Parked(), errors.Throttled("client-side rate limit", retry_after=3, local=True)]
)
async def test_server_named_create_held_back_before_sending_needs_no_lookup(
    held: BaseException,
) -> None:
    """The account had no room (Parked) or no rate (our own limiter): nothing was sent, so
    the next attempt creates under the same marker, with no lookup and no second marker
    write. A new process (nothing remembered) looks first: it cannot know."""
    cloud = ServerNamedCloud(refuse=held)
    unsent: dict[tuple[str, str, str], str] = {}
    writer = FakeWriter()
    with contextlib.suppress(Parked):
        await run(res(), ServerNamedAdapter(cloud), writer, unsent=unsent)
    marker = writer.annotations[CREATE_PENDING]
    cloud.refuse = None
    again = after_writes(res(), writer)
    await run(again, ServerNamedAdapter(cloud), writer, unsent=unsent)
    assert cloud.lookups == 0 and writer.annotations == {EXTERNAL_NAME: "svc-1"}
    marks = [e[1] for e in writer.log if isinstance(e, tuple) and e[0] == "prepare"]
    assert [m[CREATE_PENDING] for m in marks if m.get(CREATE_PENDING)] == [marker]
    assert unsent == {}

    restarted = ServerNamedCloud(refuse=held)
    writer = FakeWriter()
    with contextlib.suppress(Parked):
        await run(res(), ServerNamedAdapter(restarted), writer)
    restarted.refuse = None
    await run(after_writes(res(), writer), ServerNamedAdapter(restarted), writer)
    assert restarted.lookups == 1


async def test_waiting_for_capacity_is_checked_again_not_terminal() -> None:
    """Refused because others hold the endpoint's capacity: the resource says why (the
    error's reason, its numbers), no refusal is recorded against the generation, and it is
    checked again within the cap, without a marker left for a lookup."""

    class Full(errors.Waiting):
        reason = "EndpointCapacityExceeded"

    cloud = ServerNamedCloud(refuse=Full("3 in use + 2 requested > 4"))
    writer, after = await run(res(), ServerNamedAdapter(cloud))
    assert writer.ready() == ("False", "EndpointCapacityExceeded")
    assert "3 in use + 2 requested > 4" in writer.status["message"]
    assert "failedGeneration" not in writer.status
    assert after is not None and after <= 60.0 * 1.5
    assert CREATE_PENDING not in writer.annotations


async def test_server_named_provably_absent_creates_again() -> None:
    """The marker is there but the create never reached the cloud (crash before the call):
    an authoritative lookup proves it, so creating is safe."""
    cloud = ServerNamedCloud()
    pending = replace(
        res(),
        finalizers=(FINALIZER,),
        create_pending=CreatePending("uid-1", "2026-01-01T00:00:00Z"),
    )
    writer, _ = await run(pending, ServerNamedAdapter(cloud))
    assert cloud.creates == 1 and writer.annotations[EXTERNAL_NAME] == "svc-1"


async def test_server_named_undecidable_never_creates_blindly() -> None:
    cloud = ServerNamedCloud(listing_works=False)
    pending = replace(
        res(),
        finalizers=(FINALIZER,),
        create_pending=CreatePending("uid-1", "2026-01-01T00:00:00Z"),
    )
    writer, after = await run(pending, ServerNamedAdapter(cloud))
    assert cloud.creates == 0 and after is not None
    assert writer.synced() == ("False", "CreateIncomplete")
    assert "cloudinfer-uid=uid-1" in writer.status["message"]


async def test_server_named_marker_of_another_object_is_ignored() -> None:
    """A resource restored from a backup (new uid) carries the old object's marker: it does
    not adopt what the old uid made, it creates its own."""
    cloud = ServerNamedCloud()
    cloud.services["svc-old"] = {"name": "n", "owner": "old-uid"}
    restored = replace(
        res(),
        finalizers=(FINALIZER,),
        create_pending=CreatePending("old-uid", "2026-01-01T00:00:00Z"),
    )
    writer, _ = await run(restored, ServerNamedAdapter(cloud))
    assert writer.annotations[EXTERNAL_NAME] != "svc-old" and cloud.creates == 1


async def test_server_named_delete_with_only_a_marker_finds_and_deletes() -> None:
    cloud = ServerNamedCloud()
    cloud.services["svc-9"] = {"name": "n", "owner": "uid-1"}
    doomed = replace(
        res(),
        deleting=True,
        finalizers=(FINALIZER,),
        create_pending=CreatePending("uid-1", "2026-01-01T00:00:00Z"),
    )
    writer, _ = await run(doomed, ServerNamedAdapter(cloud))
    assert "svc-9" not in cloud.services and writer.annotations[EXTERNAL_NAME] == "svc-9"
    never = replace(res(), deleting=True, finalizers=(FINALIZER,))
    writer, _ = await run(never, ServerNamedAdapter(ServerNamedCloud()))
    assert writer.log == ["remove-finalizer"]  # nothing was ever created: nothing to ask


async def test_a_refused_create_takes_back_the_name_it_recorded() -> None:
    """Refused (nothing made): a name recorded for this create is taken back, so that it
    never passes for ownership later (VIAS keeps no owner marker); one recorded before is
    kept."""
    refused = errors.Invalid("spec.poolId is required", code="PoolIdRequired")
    writer, _ = await run(res(), FakeAdapter([ABSENT], create_error=refused))
    assert ("prepare", {EXTERNAL_NAME: None}, False) in writer.log
    assert EXTERNAL_NAME not in writer.annotations
    recorded = replace(res(), annotations={EXTERNAL_NAME: "n"}, finalizers=(FINALIZER,))
    writer, _ = await run(recorded, FakeAdapter([ABSENT], create_error=refused))
    assert ("prepare", {EXTERNAL_NAME: None}, False) not in writer.log
