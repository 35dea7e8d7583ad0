"""The DataArts Fabric store and state machine on a clock the test moves: PENDING → CREATING →
RUNNING; updates (UPDATING → RUNNING, or at once for a name) and what they cannot change;
delete (DELETING → gone); a failing source; the capacity rule and the endpoint checks;
scoping by account and workspace; only due instances advance; the state survives a restart
and the seeds apply on top of it; `--fabric-endpoint`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloudinfer import cli
from cloudinfer.emulator.app import Emulator, EmulatorConfig
from cloudinfer.emulator.config import (
    DEFAULT_ACCOUNT,
    DEFAULT_FABRIC_WORKSPACE,
    FabricEndpoint,
    parse_fabric_endpoint,
)
from cloudinfer.emulator.fabric import views
from cloudinfer.emulator.fabric.listing import InstanceQuery
from cloudinfer.emulator.pipeline import ApiError
from tests.unit.emulator.fabric_support import (
    ACCOUNT,
    ENDPOINT,
    REGION,
    SPEC,
    WORKSPACE,
    body,
    deploy,
    resource,
    store,
)

CAPACITY = "common.01000030"
INVALID = "common.01000001"


def refused(code: str, call: object, status: int = 400) -> ApiError:
    assert callable(call)
    with pytest.raises(ApiError) as raised:
        call()
    assert (raised.value.status, raised.value.code) == (status, code), raised.value.message
    return raised.value


def test_deploy_is_pending_then_creating_then_running_at_the_instants_it_happened() -> None:
    s, clock = store()
    created = clock.now
    inst = deploy(s, "svc", 3, description="an llm")
    sid = inst.instance_id
    assert len(sid) == 36 and inst.status == "PENDING"
    clock.now += 0.5
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "PENDING"
    clock.now += 0.5  # a fifth of the 4 s deploy time has passed
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "CREATING"
    clock.now += 10
    shown = views.detail(s.get(ACCOUNT, WORKSPACE, sid), clock.now)
    assert shown["status"] == "RUNNING"
    assert shown["create_time"] == views.iso(created)
    assert shown["update_time"] == views.iso(created + 4)  # not when someone looked
    assert shown["create_time"].endswith("Z") and len(shown["create_time"]) == 24
    assert shown["duration"] == 11
    assert shown["config"] == {
        "model_instance_config": {"resource": {"min": 1, "max": 3, "spec_code": SPEC}}
    }
    assert shown["url"] == {
        "name": "ApiInvoke",
        "address": f"https://fabric-ep.{REGION}.myhuaweicloud.com/v1/workspaces/{WORKSPACE}"
        f"/services/instances/{sid}/invocations",
        "type": "PUBLIC",
    }
    assert (shown["type"], shown["visibility"], shown["description"]) == (
        "LLM_MODEL",
        "PRIVATE",
        "an llm",
    )
    assert shown["source"] == {"id": "m-1", "version_id": "v-1"}
    assert (
        shown["create_user"]
        == shown["update_user"]
        == {
            "domain_name": ACCOUNT,
            "user_name": ACCOUNT,
        }
    )
    assert "error_code" not in shown and "error_msg" not in shown


def test_views_write_milliseconds_in_utc() -> None:
    assert views.iso(1_685_449_470.401) == "2023-05-30T12:24:30.401Z"


def test_a_new_max_updates_through_updating_and_a_name_changes_at_once() -> None:
    s, clock = store()
    sid = deploy(s, "svc", 2).instance_id
    clock.now += 5
    s.update("acct", WORKSPACE, sid, {"name": "renamed", "description": "new"})
    inst = s.get(ACCOUNT, WORKSPACE, sid)
    assert (inst.status, inst.name, inst.description) == ("RUNNING", "renamed", "new")
    assert inst.updated == clock.now

    same = {"source": {"id": "m-1", "version_id": "v-1"}, "config": resource(max_=2, min_=1)}
    s.update(ACCOUNT, WORKSPACE, sid, same)  # nothing changes: no phase
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "RUNNING"

    s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=5)})
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "UPDATING"
    clock.now += 2
    inst = s.get(ACCOUNT, WORKSPACE, sid)
    assert (inst.status, inst.max, inst.min) == ("RUNNING", 5, 1)


def test_update_refuses_what_the_api_cannot_change() -> None:
    s, clock = store()
    sid = deploy(s).instance_id
    clock.now += 5
    for raw, parameter in (
        ({"config": resource(min_=2)}, "resource.min"),
        ({"source": {"id": "m-2"}}, "source.id"),
        ({"source": {"id": "m-1", "version_id": "v-2"}}, "source.version_id"),
    ):
        error = refused(INVALID, lambda raw=raw: s.update(ACCOUNT, WORKSPACE, sid, raw))
        assert parameter in error.message and "cannot be changed" in error.message
    s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=1)})  # max down to min
    error = refused(INVALID, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(1)}))
    assert "UPDATING" in error.message  # mid-operation
    clock.now += 2
    error = refused(INVALID, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(0)}))
    assert "resource.max" in error.message


def test_updates_are_refused_mid_operation() -> None:
    s, clock = store()
    sid = deploy(s).instance_id
    for status, wait in (("PENDING", 0.0), ("CREATING", 1.0)):
        clock.now += wait
        assert s.get(ACCOUNT, WORKSPACE, sid).status == status
        error = refused(INVALID, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"name": "n"}))
        assert status in error.message
    clock.now += 4
    s.delete(ACCOUNT, WORKSPACE, sid)
    refused(INVALID, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"name": "n"}))


def test_delete_is_deleting_then_gone() -> None:
    s, clock = store()
    sid = deploy(s).instance_id
    s.delete(ACCOUNT, WORKSPACE, sid)  # even while PENDING
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "DELETING"
    s.delete(ACCOUNT, WORKSPACE, sid)  # again: nothing changes
    clock.now += 2
    error = refused(INVALID, lambda: s.get(ACCOUNT, WORKSPACE, sid), 404)
    assert error.message == "response status exception, code: 404"
    refused(INVALID, lambda: s.delete(ACCOUNT, WORKSPACE, sid), 404)
    assert s.all_instances() == []


def test_a_failing_source_fails_half_way_with_an_error_and_an_update_retries() -> None:
    s, clock = store()
    sid = deploy(s, source="emulator-fail-7").instance_id
    clock.now += 1.9
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "CREATING"
    clock.now += 0.2
    shown = views.detail(s.get(ACCOUNT, WORKSPACE, sid), clock.now)
    assert shown["status"] == "FAILED" and shown["error_code"] == "common.00000500"
    assert "emulator-fail-7" in shown["error_msg"]
    s.update(ACCOUNT, WORKSPACE, sid, {"name": "renamed"})  # a name alone: still FAILED
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "FAILED"
    s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=2)})  # same max: a retry
    shown = views.detail(s.get(ACCOUNT, WORKSPACE, sid), clock.now)
    assert shown["status"] == "UPDATING" and "error_code" not in shown
    clock.now += 2
    assert s.get(ACCOUNT, WORKSPACE, sid).status == "FAILED"


def test_capacity_sums_the_max_of_the_instances_holding_resources() -> None:
    s, clock = store(limit=10)
    first = deploy(s, "a", 4).instance_id
    deploy(s, "b", 4)
    deploy(s, "c", 2)  # exactly at the limit
    error = refused(CAPACITY, lambda: deploy(s, "d", 1))
    assert error.message == (
        f"The maximum resources of the inference services on endpoint {ENDPOINT} would "
        "exceed its maximum: 10 in use + 1 requested > 10."
    )
    s.delete(ACCOUNT, WORKSPACE, first)  # DELETING holds nothing
    failing = deploy(s, "e", 4, source="emulator-fail").instance_id
    refused(CAPACITY, lambda: deploy(s, "f", 1))
    clock.now += 2.1
    assert s.get(ACCOUNT, WORKSPACE, failing).status == "FAILED"  # FAILED holds nothing
    deploy(s, "d", 4)
    assert s.in_use((ACCOUNT, WORKSPACE, ENDPOINT)) == 10
    # Reviving the FAILED instance needs room again, even for its own max.
    error = refused(
        CAPACITY, lambda: s.update(ACCOUNT, WORKSPACE, failing, {"config": resource(4)})
    )
    assert "10 in use + 4 requested > 10" in error.message


def test_an_update_raising_max_counts_the_others_only() -> None:
    s, clock = store(limit=10)
    sid = deploy(s, "a", 4).instance_id
    deploy(s, "b", 4)
    clock.now += 5
    s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=6)})  # 4 others + 6
    clock.now += 2
    error = refused(
        CAPACITY, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=7)})
    )
    assert "4 in use + 7 requested > 10" in error.message
    s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=3)})  # lowering: never refused


def test_a_lowered_endpoint_keeps_its_instances_and_refuses_growth() -> None:
    s, clock = store(limit=10)
    sid = deploy(s, "a", 6).instance_id
    clock.now += 5
    s.put_endpoint(ACCOUNT, WORKSPACE, ENDPOINT, SPEC, 4)
    assert s.get(ACCOUNT, WORKSPACE, sid).max == 6
    s.update(ACCOUNT, WORKSPACE, sid, {"name": "renamed"})  # no new max: not checked
    refused(CAPACITY, lambda: deploy(s, "b", 1))
    assert (
        "0 in use + 7 requested > 4"
        in refused(
            CAPACITY, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=7)})
        ).message
    )
    s.update(ACCOUNT, WORKSPACE, sid, {"config": resource(max_=5)})  # lower, still above


def test_the_endpoint_must_be_a_running_inference_endpoint_of_the_workspace() -> None:
    s, _ = store()
    error = refused(INVALID, lambda: deploy(s, endpoint="ep-none"), 404)
    assert error.message == "response status exception, code: 404"
    refused(INVALID, lambda: deploy(s, workspace="ws-2"), 404)  # ep-1 is ws-1's
    refused(INVALID, lambda: deploy(s, account="someone-else"), 404)
    s.put_endpoint(ACCOUNT, WORKSPACE, "ep-ray", SPEC, 10, type_="ray")
    assert "inference" in refused(INVALID, lambda: deploy(s, endpoint="ep-ray")).message
    s.put_endpoint(ACCOUNT, WORKSPACE, ENDPOINT, SPEC, 10, status="FROZEN")
    assert "FROZEN" in refused(INVALID, lambda: deploy(s)).message


def test_instances_are_scoped_by_account_and_workspace() -> None:
    s, _ = store()
    sid = deploy(s).instance_id
    s.put_endpoint("other", WORKSPACE, ENDPOINT, SPEC, 10)
    theirs = deploy(s, "theirs", account="other").instance_id
    for account, workspace in (("other", WORKSPACE), (ACCOUNT, "ws-2")):
        refused(INVALID, lambda a=account, w=workspace: s.get(a, w, sid), 404)
        refused(INVALID, lambda a=account, w=workspace: s.delete(a, w, sid), 404)
        refused(INVALID, lambda a=account, w=workspace: s.update(a, w, sid, {}), 404)
    page, total = s.list_instances(ACCOUNT, WORKSPACE, InstanceQuery())
    assert ([i.instance_id for i in page], total) == ([sid], 1)
    assert s.list_instances(ACCOUNT, "ws-2", InstanceQuery()) == ([], 0)
    assert s.get("other", WORKSPACE, theirs).name == "theirs"
    assert s.in_use((ACCOUNT, WORKSPACE, ENDPOINT)) == 2  # the other account's is its own


def test_only_due_instances_are_advanced() -> None:
    s, clock = store(limit=1000)
    ids = [deploy(s, f"s{i}", 1).instance_id for i in range(200)]
    clock.now += 0.5
    before = s.advanced
    s.get(ACCOUNT, WORKSPACE, ids[0])
    assert s.advanced - before == 1  # nothing was due: only the one shown
    clock.now += 4
    before = s.advanced
    s.get(ACCOUNT, WORKSPACE, ids[0])
    assert s.advanced - before == 201  # all turned running at once, the one shown again
    before = s.advanced
    s.get(ACCOUNT, WORKSPACE, ids[1])
    assert s.advanced - before == 1


def test_mutations_only_mark_the_state_dirty() -> None:
    s, clock = store()
    marks: list[int] = []
    s.on_change = lambda: marks.append(1)
    sid = deploy(s).instance_id
    refused(INVALID, lambda: s.update(ACCOUNT, WORKSPACE, sid, {"name": "n"}))  # no mark
    assert len(marks) == 1
    clock.now += 4
    s.get(ACCOUNT, WORKSPACE, sid)
    assert len(marks) == 2  # the status changes are state too
    s.update(ACCOUNT, WORKSPACE, sid, {"description": "d"})
    assert len(marks) == 3


def test_state_survives_a_restart() -> None:
    s, clock = store()
    sid = deploy(s, "svc", 3, description="kept").instance_id
    failing = deploy(s, "bad", 1, source="emulator-fail").instance_id
    clock.now += 1
    saved = json.loads(json.dumps(s.to_state()))
    restored, _ = store(clock, limit=5)  # the endpoint is replaced by the saved one
    restored.restore(saved)
    assert restored.endpoint(ACCOUNT, WORKSPACE, ENDPOINT).max == 10
    before = views.detail(s.get(ACCOUNT, WORKSPACE, sid), clock.now)
    assert views.detail(restored.get(ACCOUNT, WORKSPACE, sid), clock.now) == before
    clock.now += 4
    assert restored.get(ACCOUNT, WORKSPACE, sid).status == "RUNNING"  # timers kept too
    assert restored.get(ACCOUNT, WORKSPACE, failing).status == "FAILED"
    assert restored.in_use((ACCOUNT, WORKSPACE, ENDPOINT)) == 3


def test_the_module_persists_its_state_and_seeds_apply_on_top(tmp_path: Path) -> None:
    seed = FabricEndpoint(ENDPOINT, SPEC, 8, WORKSPACE, ACCOUNT)
    first = Emulator(EmulatorConfig(state_dir=tmp_path, fabric_endpoints=[seed]))
    sid = first.fabric_store.deploy(ACCOUNT, WORKSPACE, REGION, body()).instance_id
    module_state = first.modules["fabric"].state
    assert module_state is not None and module_state.flush()
    assert (tmp_path / "fabric.json").exists()
    grown = FabricEndpoint(ENDPOINT, SPEC, 20, WORKSPACE, ACCOUNT)
    second = Emulator(EmulatorConfig(state_dir=tmp_path, fabric_endpoints=[grown]))
    assert second.fabric_store.get(ACCOUNT, WORKSPACE, sid).name == "svc"
    assert second.fabric_store.endpoint(ACCOUNT, WORKSPACE, ENDPOINT).max == 20


def test_fabric_endpoint_flags_parse() -> None:
    assert parse_fabric_endpoint("ep-1:mu.llama3.8b:8") == FabricEndpoint(
        "ep-1", "mu.llama3.8b", 8, DEFAULT_FABRIC_WORKSPACE, DEFAULT_ACCOUNT
    )
    assert parse_fabric_endpoint("ep-1:s:1000:ws-9:acct-2") == FabricEndpoint(
        "ep-1", "s", 1000, "ws-9", "acct-2"
    )
    assert parse_fabric_endpoint("ep-1:s:1::acct-2").workspace == DEFAULT_FABRIC_WORKSPACE
    for bad in ("ep-1:s", "ep-1:s:0", "ep-1:s:1001", "ep-1:s:x", "ep_1:s:1", ":s:1", "e:s:1:w/s"):
        with pytest.raises(ValueError):
            parse_fabric_endpoint(bad)


def test_the_cli_passes_fabric_endpoints_to_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr("cloudinfer.emulator.app.run", started.append)
    parser = cli.build_parser()
    args = parser.parse_args(
        ["emulator", "--fabric-endpoint", "ep-1:s:4", "--fabric-endpoint", "ep-2:s:2:ws:a"]
    )
    assert args.func(args) == 0
    (config,) = started
    assert [(e.endpoint_id, e.max, e.workspace, e.account) for e in config.fabric_endpoints] == [
        ("ep-1", 4, DEFAULT_FABRIC_WORKSPACE, DEFAULT_ACCOUNT),
        ("ep-2", 2, "ws", "a"),
    ]
    bad = parser.parse_args(["emulator", "--fabric-endpoint", "ep-1:s:0"])
    assert bad.func(bad) == 2
