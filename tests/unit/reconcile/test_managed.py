"""Reconcile decisions with a recording adapter and writer: no Kubernetes, no cloud."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cloudinfer.adapters.base import ManagedResource, Observation
from cloudinfer.api.inferenceservice import InferenceServiceSpec
from cloudinfer.clouds import errors
from cloudinfer.observer.batch import Intervals
from cloudinfer.reconcile.managed import CREATE_PENDING, EXTERNAL_NAME, FINALIZER, Reconciler


@dataclass
class FakeAdapter:
    observations: list[Observation]
    create_error: Exception | None = None
    update_error: Exception | None = None
    calls: list[str] = field(default_factory=list)

    async def observe(self, resource: ManagedResource, fresh: bool = False) -> Observation:
        self.calls.append("observe-fresh" if fresh else "observe")
        return self.observations.pop(0) if len(self.observations) > 1 else self.observations[0]

    async def create(self, resource: ManagedResource) -> None:
        self.calls.append("create")
        if self.create_error:
            raise self.create_error

    async def update(self, resource: ManagedResource, observation: Observation) -> dict[str, Any]:
        self.calls.append("update")
        if self.update_error:
            raise self.update_error
        return {}

    async def delete(self, resource: ManagedResource) -> None:
        self.calls.append("delete")


@dataclass
class FakeWriter:
    log: list[Any] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)

    async def prepare(self, resource: ManagedResource, annotations: dict[str, str | None]) -> None:
        self.log.append(("prepare", dict(annotations)))

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


def res(**spec_fields: Any) -> ManagedResource:
    spec = InferenceServiceSpec.model_validate(
        {"providerConfigRef": {"name": "pc"}, "eas": {"processor": "p"}, **spec_fields}
    )
    return ManagedResource("ns", "n", "uid-1", 1, spec, "n", {}, {}, (), False)


RUNNING = Observation(
    exists=True,
    owner_uid="uid-1",
    phase="Running",
    cloud_status="Running",
    progress=100,
    endpoint="http://e",
)
ABSENT = Observation(exists=False)


async def run(resource: ManagedResource, adapter: FakeAdapter) -> tuple[FakeWriter, float | None]:
    writer = FakeWriter()
    after = await Reconciler(adapter, writer, Intervals(2, 60)).reconcile(resource)
    return writer, after


async def test_finalizer_and_name_are_written_before_create() -> None:
    adapter = FakeAdapter([ABSENT])
    writer, after = await run(res(), adapter)
    assert adapter.calls == ["observe", "create"]
    assert writer.log[0] == ("prepare", {EXTERNAL_NAME: "n"})
    assert writer.log[1][0] == "prepare" and CREATE_PENDING in writer.log[1][1]
    assert ("event", "CreatedExternal") in writer.log and after == 2
    assert writer.status["phase"] == "Creating"


async def test_conflict_is_adopted_only_when_it_carries_our_uid() -> None:
    ours = FakeAdapter([ABSENT, RUNNING], create_error=errors.Conflict("exists"))
    writer, _ = await run(res(), ours)
    assert ours.calls == ["observe", "create", "observe-fresh"] and writer.ready() == (
        "True",
        "Available",
    )
    theirs = FakeAdapter(
        [ABSENT, replace(RUNNING, owner_uid="someone")], create_error=errors.Conflict("x")
    )
    writer, after = await run(res(), theirs)
    assert writer.ready() == ("False", "NameConflict") and after is None


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


async def test_throttling_and_transient_errors_requeue() -> None:
    throttled = FakeAdapter([ABSENT], create_error=errors.Throttled("slow down", retry_after=7))
    writer, after = await run(res(), throttled)
    assert after == 7 and writer.status["conditions"][1]["reason"] == "Throttled"
    flaky = FakeAdapter([ABSENT], create_error=errors.ServerError("boom"))
    writer, after = await run(res(), flaky)
    assert after is not None and 1 <= after <= 3 and "failedGeneration" not in writer.status


async def test_drift_is_updated_but_not_mid_transition() -> None:
    drifted = replace(
        RUNNING, up_to_date=False, drift=("metadata.instance: cloud has 5, spec wants 2",)
    )
    adapter = FakeAdapter([drifted])
    writer, after = await run(res(), adapter)
    assert after == 2  # changed on the cloud: look again at the fast rate
    assert adapter.calls == ["observe", "update"] and ("event", "UpdatingExternal") in writer.log
    busy = FakeAdapter([replace(drifted, phase="Updating", transitional=True)])
    writer, _ = await run(res(), busy)
    assert busy.calls == ["observe"] and "waiting for the cloud" in writer.status["message"]


async def test_observe_mode_never_writes_and_reports_drift() -> None:
    drifted = replace(RUNNING, owner_uid=None, up_to_date=False, drift=("x: differs",))
    adapter = FakeAdapter([drifted])
    writer, _ = await run(res(managementPolicy="Observe", serviceName="legacy"), adapter)
    assert adapter.calls == ["observe"] and writer.ready() == ("True", "Available")
    assert ("event", "DriftDetected") in writer.log
    assert not any(isinstance(e, tuple) and e[0] == "prepare" for e in writer.log)


async def test_deletion_policies() -> None:
    deleting = replace(res(), deleting=True, finalizers=(FINALIZER,))
    adapter = FakeAdapter([RUNNING])
    writer, after = await run(deleting, adapter)
    assert adapter.calls == ["observe-fresh", "delete"] and after == 2
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
    assert writer.status["conditions"][1]["reason"] == "ReconcilePaused"
