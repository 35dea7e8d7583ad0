"""VIAS AlgorithmService mapping with a stand-in client (no HTTP): phases, what counts as
absent, whose a deployment is (the recorded algorithm id, this process's claims), the
applied-settings digests that drive redeploys, and what status and the Secret get."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cloudinfer.adapters.base import EXTERNAL_NAME, CallContext, Holder, ManagedResource
from cloudinfer.adapters.vias import (
    APPLIED,
    Listed,
    ViasAlgorithmServiceAdapter,
    parse_applied,
    render_applied,
    wanted,
)
from cloudinfer.api.algorithmservice import AlgorithmServiceSpec
from cloudinfer.clouds.errors import Conflict, Invalid, NotFound, ServerError
from cloudinfer.clouds.huawei.vias import ServiceApi, ServiceDetail, ServiceSummary
from cloudinfer.observer.batch import BatchObserver, ListResult

ALG, SID = "alg-1", "svc-1"
CTX = CallContext(region="cn-north-4", project_id="p1")
SECRET = "spec.envs[1].valueFrom.secretKeyRef"


class Client:
    class Transport:
        base_url = "https://vias.cn-north-4.myhuaweicloud.com"

    transport = Transport()

    def __init__(self, status: str = "not_deployed", updated_at: int = 1) -> None:
        self.status, self.updated_at = status, updated_at
        self.calls: list[tuple[str, Any]] = []

    async def show_service(self, service_id: str) -> ServiceDetail:
        self.calls.append(("show", service_id))
        return ServiceDetail(
            service_id=SID,
            alg_id=ALG,
            alg_name="Intrusion Detection",
            alg_status=self.status,
            updated_at=self.updated_at,
            service_apis=(
                ServiceApi("POST", "/v2/p1/services/x/tasks", "create task"),
                ServiceApi("GET", "/v2/p1/tasks", "task list"),
            ),
        )

    async def deploy(self, alg_id: str, **body: Any) -> str:
        self.calls.append(("deploy", body))
        return "Intrusion Detection"

    async def stop(self, alg_id: str) -> None:
        self.calls.append(("stop", alg_id))


class Source:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def list_all(self) -> ListResult[Listed]:
        s = ServiceSummary(alg_id=ALG, service_id=SID, alg_status=self.client.status)
        return ListResult([Listed(ALG, s), Listed(SID, s, alias=True)], 1)

    async def describe(self, key: str) -> Listed | None:
        return None

    def key_of(self, item: Listed) -> str:
        return item.key

    def owner_of(self, item: Listed) -> str | None:
        return None

    def fingerprint(self, item: Listed) -> object:
        return item

    def transition(self, item: Listed) -> str | None:
        return None


def deploys(client: Client) -> list[Any]:
    return [body for call, body in client.calls if call == "deploy"]


async def adapter(client: Client) -> ViasAlgorithmServiceAdapter:
    observer: BatchObserver[Listed, Any] = BatchObserver(
        "t", Source(client), lambda key, settled: None
    )
    await observer.refresh()
    return ViasAlgorithmServiceAdapter(client, observer)  # type: ignore[arg-type]


def resource(
    uid: str = "uid-1", recorded: bool = True, status: dict[str, Any] | None = None, **spec: Any
) -> ManagedResource:
    body = {
        "providerConfigRef": {"name": "pc"},
        "algId": ALG,
        "poolId": "pool-1",
        "streamCount": 2,
        "envs": [
            {"name": "A", "value": "1"},
            {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
        **spec,
    }
    return ManagedResource(
        "AlgorithmService",
        "ns",
        "as",
        uid,
        1,
        AlgorithmServiceSpec.model_validate(body),
        ALG,
        status=status or {},
        annotations={EXTERNAL_NAME: ALG} if recorded else {},
        secret_values={SECRET: "s3cret"},
    )


async def test_not_deployed_is_absent_and_the_first_deploy_needs_a_pool() -> None:
    client = Client("not_deployed")
    vias = await adapter(client)
    assert not (await vias.observe(resource(), CTX)).exists
    with pytest.raises(Invalid, match=r"spec\.poolId"):
        await vias.create(resource(poolId=None), CTX)
    assert await vias.create(resource(), CTX) == ALG
    assert client.calls[0] == ("show", SID)  # what runs now decides, not the listing
    [body] = deploys(client)
    assert body == {
        "stream_count": 2,
        "pool_id": "pool-1",
        "deploy_config": {},
        "envs": {"A": "1", "T": "s3cret"},
    }


async def test_running_is_ours_only_by_the_recorded_algorithm_id() -> None:
    client = Client("service_running")
    vias = await adapter(client)
    mine = await vias.observe(resource(), CTX)
    assert mine.exists and mine.owner_uid == "uid-1" and mine.phase == "Running"
    assert mine.external_id == SID and mine.endpoint == (
        "https://vias.cn-north-4.myhuaweicloud.com/v2/p1/services/x/tasks"
    )
    assert mine.endpoints == {
        "create task": "POST /v2/p1/services/x/tasks",
        "task list": "GET /v2/p1/tasks",
    }
    assert mine.recorded["serviceApis"][0]["requestType"] == "POST"
    assert "s3cret" not in str(mine.recorded) and "s3cret" not in str(mine)
    stranger = await vias.observe(resource(recorded=False), CTX)
    assert stranger.exists and stranger.owner_uid is None  # → NameConflict


async def test_a_stopped_deployment_is_free_to_take() -> None:
    vias = await adapter(Client("service_stopped"))
    assert not (await vias.observe(resource(recorded=False), CTX)).exists
    mine = await vias.observe(resource(), CTX)
    assert mine.exists and mine.stopped and mine.phase == "Stopped"
    assert [d.path for d in mine.drift] == ["spec.stopped"]  # to start again
    assert vias.gone(mine)


async def test_a_second_resource_is_refused_while_the_first_deploys() -> None:
    client = Client("not_deployed")
    vias = await adapter(client)
    await vias.create(resource("first"), CTX)
    with pytest.raises(Conflict, match="another resource"):
        await vias.create(resource("second"), CTX)
    assert len(deploys(client)) == 1
    client.status = "service_deploying"
    seen = await vias.observe(resource("second"), CTX, fresh=True)
    assert seen.exists and seen.owner_uid == "first"  # → NameConflict for the second


async def test_settings_are_compared_by_digest_and_values_never_recorded() -> None:
    client = Client("service_running", updated_at=7)
    vias = await adapter(client)
    base = resource()
    applied = render_applied(wanted(base), 7)
    status = {"cloudStatus": "service_running", "serviceApis": [{}], APPLIED: applied}
    same = await vias.observe(resource(status=status), CTX)
    assert same.drift == () and client.calls == []  # nothing to show: no call
    more = await vias.observe(resource(status=status, streamCount=5), CTX)
    assert [d.path for d in more.drift] == ["spec.streamCount"]
    rotated = replace(resource(status=status), secret_values={SECRET: "new"})
    assert [d.path for d in (await vias.observe(rotated, CTX)).drift] == ["spec.envs"]
    assert "s3cret" not in applied and parse_applied(applied)[1] == "7"
    await vias.update(resource(status=status, streamCount=5), CTX, more)
    assert client.calls[-1][1]["stream_count"] == 5


async def test_a_moved_updated_at_is_recorded_never_redeployed() -> None:
    # updated_at is not known to be the deployment's (seed 004: equal to release_at), so a
    # new value says nothing the operator could act on.
    client = Client("service_running", updated_at=9)
    vias = await adapter(client)
    status = {
        "cloudStatus": "service_upgrading",  # seen changing: show it when it settles
        "serviceApis": [{}],
        APPLIED: render_applied(wanted(resource()), 7),
    }
    seen = await vias.observe(resource(status=status), CTX)
    assert ("show", SID) in client.calls
    assert seen.drift == ()
    assert parse_applied(seen.recorded[APPLIED]) == (wanted(resource()), "9")


async def test_stopping_deleting_and_observe_by_service_id() -> None:
    client = Client("service_running")
    vias = await adapter(client)
    stop = await vias.observe(resource(stopped=True), CTX)
    assert [d.path for d in stop.drift] == ["spec.stopped"]
    await vias.update(resource(stopped=True), CTX, stop)
    assert client.calls[-1] == ("stop", ALG)
    observed = resource(
        recorded=False,
        managementPolicy="Observe",
        algId=None,
        serviceId=SID,
        streamCount=None,
        poolId=None,
        envs=[],
    )
    observed = replace(observed, external_name=SID)
    seen = await vias.observe(observed, CTX)
    assert seen.exists and seen.drift == () and seen.recorded["algId"] == ALG
    assert seen.phase == "Running"


async def test_a_spec_change_during_the_first_deploy_or_after_adoption_is_deployed() -> None:
    client = Client("not_deployed")
    vias = await adapter(client)
    await vias.create(resource(), CTX)  # status records nothing applied yet
    client.status = "service_running"
    changed = await vias.observe(resource(streamCount=5), CTX, fresh=True)
    assert [d.path for d in changed.drift] == ["spec.streamCount"]
    assert APPLIED not in changed.recorded  # the new spec is not taken as deployed

    taken = await adapter(Client("service_running"))
    recorded = await taken.claim(resource(), CTX, changed)
    assert recorded is not None and parse_applied(recorded[APPLIED])[0] == wanted(resource())
    later = await taken.observe(resource(streamCount=6), CTX)
    assert [d.path for d in later.drift] == ["spec.streamCount"]


async def test_removed_envs_and_deploy_config_are_sent_empty() -> None:
    client = Client("service_running")
    vias = await adapter(client)
    status = {"cloudStatus": "service_running", "serviceApis": [{}]}
    status[APPLIED] = render_applied(wanted(resource()), 1)
    bare = resource(status=status, envs=[], deployConfig=None)
    seen = await vias.observe(bare, CTX)
    assert [d.path for d in seen.drift] == ["spec.envs"]
    await vias.update(bare, CTX, seen)
    body = client.calls[-1][1]
    assert body["envs"] == {} and body["deploy_config"] == {}  # sent, so VIAS drops them


def held_by(*holders: Holder) -> CallContext:
    return replace(CTX, holders=lambda name: holders if name == ALG else ())


OLDER = Holder("team-a", "detector", "uid-a", "2026-01-01T00:00:00Z")
SELF = Holder("ns", "as", "uid-1", "2026-06-01T00:00:00Z")


async def test_the_oldest_resource_recording_the_algorithm_owns_it_in_any_namespace() -> None:
    client = Client("service_stopped")
    vias = await adapter(client)
    ctx = held_by(OLDER, SELF)
    seen = await vias.observe(resource(), ctx)  # recorded here too, but later
    assert seen.exists and (seen.owner_uid, seen.owner_namespace) == ("uid-a", "team-a")
    assert seen.drift == ()  # never started (or stopped) for a resource that does not own it
    with pytest.raises(Conflict, match="another resource"):
        await vias.create(resource(), ctx)
    # Stopped and held by another: not free to take, as it is when nobody holds it.
    assert (await vias.observe(resource(recorded=False), held_by(OLDER))).exists
    assert not (await vias.observe(resource(recorded=False), CTX)).exists
    assert deploys(client) == []


async def test_a_stale_listing_never_turns_a_deploy_into_an_upgrade_of_another_s() -> None:
    client = Client("not_deployed")
    vias = await adapter(client)  # listed not deployed
    client.status = "service_running"  # deployed since, from the console
    with pytest.raises(Conflict, match="already deployed"):
        await vias.create(resource(), CTX)
    assert deploys(client) == []


async def test_stopped_from_the_start_never_deploys() -> None:
    client = Client("not_deployed")
    vias = await adapter(client)
    seen = await vias.observe(resource(stopped=True), CTX)
    assert seen.exists and seen.stopped and seen.owner_uid == "uid-1" and seen.drift == ()
    assert vias.gone(seen) and client.calls == []


async def test_a_refused_deploy_leaves_no_claim() -> None:
    class Unknown(Client):
        async def deploy(self, alg_id: str, **body: Any) -> str:
            raise NotFound("The object does not exist.", code="VIAS.00010002")

    client = Unknown("not_deployed")
    vias = await adapter(client)
    with pytest.raises(Invalid, match=r"spec\.algId"):
        await vias.create(resource(recorded=False), CTX)
    client.status = "service_running"  # someone else deploys it meanwhile
    seen = await vias.observe(resource(recorded=False), CTX, fresh=True)
    assert seen.owner_uid is None  # → NameConflict, not taken for this resource's


async def test_maybe_deployed_and_never_listed_is_not_taken_for_absent() -> None:
    client = Client("service_deploying")
    observer: BatchObserver[Listed, Any] = BatchObserver(
        "t", Source(client), lambda key, settled: None
    )
    vias = ViasAlgorithmServiceAdapter(client, observer)  # type: ignore[arg-type]
    with pytest.raises(ServerError, match="could not be listed"):
        await vias.observe(resource(), CTX, fresh=True)  # it recorded the id: maybe sent
    assert not (await vias.observe(resource(recorded=False), CTX, fresh=True)).exists


async def test_observe_mode_sees_who_holds_the_deployment() -> None:
    vias = await adapter(Client("service_running"))
    mirror = resource(recorded=False, managementPolicy="Observe", serviceId=SID)
    seen = await vias.observe(mirror, held_by(OLDER))
    assert (seen.owner_uid, seen.owner_namespace) == ("uid-a", "team-a")  # → refused
    assert seen.drift == ()
    assert (await vias.observe(mirror, CTX)).owner_uid is None  # made outside: mirrored
