"""The VIAS store and state machine on a clock the test moves: the catalogue (one record per
algorithm and project, created lazily for an every-project algorithm, with an id derived
from account, project and algorithm); deploy (service_deploying → service_running), upgrade
(service_upgrading → service_running), stop (service_stopping → service_stopped) and their
refusals; a failing deploy_config or envs; admin-forced statuses; scoping by account and
project; only due services advance; the state survives a restart and the seeds apply on
top of it; `--vias-algorithm`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloudinfer import cli
from cloudinfer.emulator.app import Emulator, EmulatorConfig
from cloudinfer.emulator.config import DEFAULT_ACCOUNT, ViasAlgorithm, parse_vias_algorithm
from cloudinfer.emulator.pipeline import ApiError
from cloudinfer.emulator.vias import views
from cloudinfer.emulator.vias.errors import ViasError
from cloudinfer.emulator.vias.listing import ServiceQuery
from cloudinfer.emulator.vias.service import service_id_for
from tests.unit.emulator.vias_support import (
    ACCOUNT,
    ALG,
    EVERYWHERE,
    POOL,
    PROJECT,
    deploy,
    service,
    store,
)

INVALID = "VIAS.00010001"
NOT_FOUND = "VIAS.00010002"
EXISTS = "VIAS.00010003"
INVALID_OBJECT = "VIAS.00010004"


def refused(code: str, call: object, status: int = 400) -> ViasError:
    assert callable(call)
    with pytest.raises(ApiError) as raised:
        call()
    assert (raised.value.status, raised.value.code) == (status, code), raised.value.message
    assert isinstance(raised.value, ViasError)
    return raised.value


def status(s: Any, alg_id: str = ALG, project: str = PROJECT) -> str:
    return str(service(s, alg_id, project).status)


def test_each_algorithm_has_one_record_not_deployed_until_deployed() -> None:
    s, clock = store()
    page, total = s.list_services(ACCOUNT, PROJECT, ServiceQuery())
    assert total == 2 and {svc.alg_id for svc in page} == {ALG, EVERYWHERE}
    assert all(svc.status == "not_deployed" for svc in page)
    svc = service(s)
    assert svc.service_id == service_id_for(ACCOUNT, PROJECT, ALG)
    shown = views.detail(svc)
    assert (shown["alg_status"], shown["pool_id"], shown["alg_name"]) == (
        "not_deployed",
        "",
        "Intrusion Detection",
    )
    assert shown["created_at"] == shown["updated_at"] == int(clock.now * 1000)
    # The every-project algorithm is offered in any project the caller names.
    other, total = s.list_services(ACCOUNT, "p2", ServiceQuery())
    assert total == 1 and other[0].alg_id == EVERYWHERE
    assert other[0].service_id == service_id_for(ACCOUNT, "p2", EVERYWHERE)
    assert other[0].service_id != service(s, EVERYWHERE).service_id


def test_the_detail_has_every_field_of_the_seed() -> None:
    s, _ = store()
    shown = views.detail(service(s))
    assert set(shown) == {
        "service_id",
        "service_name",
        "function_version",
        "release_flag",
        "created_at",
        "updated_at",
        "release_at",
        "api",
        "pool_id",
        "alg_name",
        "alg_id",
        "request_mode",
        "package_name",
        "package_id",
        "alg_version",
        "alg_versions",
        "service_api_list",
        "deployment_constraints",
        "company",
        "tags",
        "deploy_type",
        "alg_class",
        "alg_status",
    }  # logo, description, diagram and error_msg: only when not empty
    assert (shown["api"], shown["alg_version"], shown["alg_versions"]) == (
        "c-alg-1",
        "1.0.0",
        ["1.0.0"],
    )
    assert (shown["deploy_type"], shown["alg_class"], shown["request_mode"]) == (
        "cloud",
        "self",
        "async",
    )
    assert shown["release_flag"] is True and shown["function_version"] == "1.0"
    assert [(a["request_type"], a["en"], a["request_url"]) for a in shown["service_api_list"]] == [
        ("POST", "create task", f"/v2/{PROJECT}/services/c-alg-1/tasks"),
        ("GET", "task detail", f"/v2/{PROJECT}/tasks/{{task_id}}"),
        ("GET", "task list", f"/v2/{PROJECT}/tasks"),
        ("DELETE", "delete task", f"/v2/{PROJECT}/tasks/{{task_id}}"),
        ("PUT", "start task", f"/v2/{PROJECT}/tasks/{{task_id}}/action/start"),
        ("PUT", "stop task", f"/v2/{PROJECT}/tasks/{{task_id}}/action/stop"),
    ]
    constraints = shown["deployment_constraints"]
    assert constraints["cpu_type"] == "x86_64" and constraints["request_mode"] == "async"
    assert constraints["accelerators"] == [
        {"type": "gp", "name": "Tnt004", "cuda_version": "cuda 10.2"}
    ]
    assert set(constraints) == {
        "request_mode",
        "cpu_type",
        "accelerators",
        "input_types",
        "output_types",
        "service_config",
        "task_config",
    }
    s.put_algorithm(ACCOUNT, PROJECT, ALG, "Intrusion Detection", description="d", logo="aGk=")
    shown = views.detail(service(s))
    assert (shown["description"], shown["logo"]) == ("d", "aGk=") and "diagram" not in shown


def test_deploy_is_deploying_then_running_at_the_deploy_time() -> None:
    s, clock = store()
    started = clock.now
    clock.now += 1
    svc = deploy(s, stream_count=8, deploy_config={"sub_scene": "common"}, envs={"A": "b"})
    assert (svc.status, svc.pool_id, svc.stream_count) == ("service_deploying", POOL, 8)
    assert (svc.deploy_config, svc.envs) == ({"sub_scene": "common"}, {"A": "b"})
    assert svc.updated == clock.now and svc.created == started
    clock.now += 3.9
    assert status(s) == "service_deploying"
    clock.now += 0.1
    shown = views.detail(service(s))
    assert shown["alg_status"] == "service_running" and "error_msg" not in shown
    assert shown["updated_at"] == int((started + 1) * 1000)  # the deploy, not the status change


def test_a_running_service_upgrades_with_the_new_settings() -> None:
    s, clock = store()
    deploy(s)
    clock.now += 4
    svc = s.deploy(ACCOUNT, PROJECT, ALG, {"stream_count": 16, "envs": {"B": "c"}})
    assert (svc.status, svc.stream_count, svc.envs, svc.pool_id) == (
        "service_upgrading",
        16,
        {"B": "c"},
        POOL,  # kept: a later deploy may leave the pool out
    )
    clock.now += 2
    assert status(s) == "service_running"
    s.force(svc.service_id, "service_concerning")
    assert deploy(s, pool_id="pool-2").status == "service_upgrading"  # concerning too
    assert service(s).pool_id == "pool-2"


def test_deploy_refusals_depend_on_the_status() -> None:
    s, clock = store()
    error = refused(INVALID, lambda: deploy(s, pool_id=None))
    assert "pool_id" in error.message and "first deployment" in error.message
    refused(INVALID, lambda: deploy(s, pool_id=""))  # empty is not sent
    assert status(s) == "not_deployed"
    refused(NOT_FOUND, lambda: deploy(s, "alg-none"))
    deploy(s)
    for current, wait in (("service_deploying", 0.0), ("service_upgrading", 4.0)):
        clock.now += wait
        if current == "service_upgrading":
            deploy(s)
        assert status(s) == current
        error = refused(EXISTS, lambda: deploy(s))
        assert error.message == "The object already exists." and current in error.detail
    clock.now += 2
    s.stop(ACCOUNT, PROJECT, ALG)
    refused(EXISTS, lambda: deploy(s))  # stopping
    clock.now += 2
    assert deploy(s, pool_id=None).status == "service_deploying"  # restarted on its pool
    svc = service(s)
    s.force(svc.service_id, "service_finished")
    error = refused(INVALID_OBJECT, lambda: deploy(s))
    assert "service_finished" in error.detail


def test_a_failing_config_fails_half_way_and_a_new_deploy_retries() -> None:
    s, clock = store()
    deploy(s, deploy_config={"model": {"path": "obs://b/emulator-fail/m"}})
    clock.now += 1.9
    assert status(s) == "service_deploying"
    clock.now += 0.1
    shown = views.detail(service(s))
    assert shown["alg_status"] == "service_failed" and "emulator-fail" in shown["error_msg"]
    svc = deploy(s, deploy_config={}, envs={"emulator-fail-key": "x"})  # a key counts too
    assert svc.status == "service_deploying" and svc.error_msg == ""
    clock.now += 2
    assert status(s) == "service_failed"
    deploy(s, envs={})  # from failed: deploying again, on the same pool
    clock.now += 4
    assert status(s) == "service_running"
    deploy(s, envs={"LEVEL": "emulator-fail"})  # an upgrade can fail too
    clock.now += 1
    assert status(s) == "service_failed"


def test_stop_is_stopping_then_stopped_and_idempotent() -> None:
    s, clock = store()
    refused(NOT_FOUND, lambda: s.stop(ACCOUNT, PROJECT, ALG))  # not deployed
    refused(NOT_FOUND, lambda: s.stop(ACCOUNT, PROJECT, "alg-none"))
    deploy(s)
    clock.now += 1
    svc = s.stop(ACCOUNT, PROJECT, ALG)  # even while deploying
    assert (svc.status, svc.updated) == ("service_stopping", clock.now)
    clock.now += 1
    again = s.stop(ACCOUNT, PROJECT, ALG)
    assert again.status == "service_stopping" and again.updated == clock.now - 1  # no change
    clock.now += 1
    assert status(s) == "service_stopped"
    assert s.stop(ACCOUNT, PROJECT, ALG).status == "service_stopped"
    s.force(svc.service_id, "service_failed", "broken")
    assert s.stop(ACCOUNT, PROJECT, ALG).status == "service_stopping"
    assert service(s).error_msg == ""


def test_forced_statuses_stay_until_the_next_operation() -> None:
    s, clock = store()
    sid = service(s).service_id
    forced = s.force(sid, "service_deploying", "")
    assert forced is not None and forced.status == "service_deploying"
    clock.now += 100
    assert status(s) == "service_deploying"  # not timed: the admin said so
    s.force(sid, "service_failed", "out of memory")
    assert views.detail(service(s))["error_msg"] == "out of memory"
    assert s.force("no-such-id", "service_running") is None
    # Forced running with no pool: deploying is an upgrade, and needs no pool_id.
    s.force(sid, "service_running")
    upgraded = deploy(s, pool_id=None)
    assert (upgraded.status, upgraded.pool_id) == ("service_upgrading", "")


def test_the_admin_listing_of_a_project_addresses_it() -> None:
    s, _ = store()
    assert {svc.alg_id for svc in s.all_services(project="p7")} == {EVERYWHERE}
    assert s.all_services(account="stranger", project="p7") == []
    assert {svc.project for svc in s.all_services(ACCOUNT)} == {PROJECT, "p7"}


def test_services_are_scoped_by_account_and_project() -> None:
    s, _ = store()
    mine = service(s).service_id
    s.put_algorithm("other", PROJECT, ALG, "Theirs")
    for account, project in (("other", PROJECT), (ACCOUNT, "p2")):
        refused(NOT_FOUND, lambda a=account, p=project: s.get(a, p, mine))
    refused(NOT_FOUND, lambda: deploy(s, project="p2"))  # ALG is p1's only
    refused(NOT_FOUND, lambda: s.stop(ACCOUNT, "p2", ALG))
    refused(NOT_FOUND, lambda: s.get(ACCOUNT, PROJECT, "user"))
    theirs = s.deploy("other", PROJECT, ALG, {"stream_count": 1, "pool_id": POOL})
    assert theirs.service_id != mine and theirs.spec.name == "Theirs"
    assert status(s) == "not_deployed"  # theirs is their own
    assert s.list_services("stranger", PROJECT, ServiceQuery()) == ([], 0)


def test_a_projects_own_algorithm_wins_and_updates_keep_the_state() -> None:
    s, _ = store()
    deploy(s, EVERYWHERE)
    s.put_algorithm(ACCOUNT, PROJECT, EVERYWHERE, "Crowd Counting (p1)", api="crowd")
    svc = service(s, EVERYWHERE)
    assert (svc.spec.name, svc.status, svc.pool_id) == (
        "Crowd Counting (p1)",
        "service_deploying",
        POOL,
    )
    assert service(s, EVERYWHERE, "p2").spec.name == "Crowd Counting"
    s.put_algorithm(ACCOUNT, None, EVERYWHERE, "Crowd Counting v2")
    assert service(s, EVERYWHERE).spec.name == "Crowd Counting (p1)"  # its own still wins
    assert service(s, EVERYWHERE, "p2").spec.name == "Crowd Counting v2"
    s.put_algorithm(ACCOUNT, None, "alg-new", "New")  # reaches projects already addressed
    assert service(s, "alg-new", "p2").status == "not_deployed"


def test_reset_brings_every_service_back_to_not_deployed() -> None:
    s, _ = store()
    deploy(s)
    deploy(s, EVERYWHERE)
    sid = service(s).service_id
    s.reset_services()
    assert {svc.alg_id for svc in s.all_services()} == {ALG}  # the lazy ones come back later
    assert s.get(ACCOUNT, PROJECT, sid).status == "not_deployed"
    page, total = s.list_services(ACCOUNT, PROJECT, ServiceQuery())
    assert total == 2 and all(svc.status == "not_deployed" for svc in page)


def test_only_due_services_are_advanced() -> None:
    s, clock = store()
    for i in range(200):
        s.put_algorithm(ACCOUNT, PROJECT, f"a-{i}", f"alg {i}")
        s.deploy(ACCOUNT, PROJECT, f"a-{i}", {"stream_count": 1, "pool_id": POOL})
    first = service_id_for(ACCOUNT, PROJECT, "a-0")
    clock.now += 1
    before = s.advanced
    s.get(ACCOUNT, PROJECT, first)
    assert s.advanced - before == 1  # nothing was due: only the one shown
    clock.now += 4
    before = s.advanced
    s.get(ACCOUNT, PROJECT, first)
    assert s.advanced - before == 201  # all turned running at once, the one shown again
    before = s.advanced
    s.get(ACCOUNT, PROJECT, service_id_for(ACCOUNT, PROJECT, "a-1"))
    assert s.advanced - before == 1


def test_mutations_only_mark_the_state_dirty() -> None:
    s, clock = store()
    service(s)  # addressed: records exist
    marks: list[int] = []
    s.on_change = lambda: marks.append(1)
    deploy(s)
    refused(EXISTS, lambda: deploy(s))  # no mark
    assert len(marks) == 1
    clock.now += 4
    s.list_services(ACCOUNT, PROJECT, ServiceQuery())
    assert len(marks) == 2  # the status change is state too
    s.stop(ACCOUNT, PROJECT, ALG)
    assert len(marks) == 3


def test_state_survives_a_restart() -> None:
    s, clock = store()
    deploy(s, stream_count=3, envs={"A": "b"})
    deploy(s, EVERYWHERE, deploy_config={"x": "emulator-fail"})
    s.list_services(ACCOUNT, "p2", ServiceQuery())  # p2 addressed
    clock.now += 1
    saved = json.loads(json.dumps(s.to_state()))
    restored, _ = store(clock)
    restored.restore(saved)
    for alg_id in (ALG, EVERYWHERE):
        assert views.detail(service(restored, alg_id)) == views.detail(service(s, alg_id))
    assert service(restored).envs == {"A": "b"} and service(restored).stream_count == 3
    clock.now += 4
    assert status(restored) == "service_running"  # timers kept too
    assert status(restored, EVERYWHERE) == "service_failed"
    assert service(restored, EVERYWHERE, "p2").service_id == service_id_for(
        ACCOUNT, "p2", EVERYWHERE
    )


def test_the_module_persists_its_state_and_seeds_apply_on_top(tmp_path: Path) -> None:
    seed = ViasAlgorithm(ALG, "Intrusion Detection", PROJECT, ACCOUNT)
    first = Emulator(EmulatorConfig(state_dir=tmp_path, vias_algorithms=[seed]))
    first.vias_store.deploy(ACCOUNT, PROJECT, ALG, {"stream_count": 2, "pool_id": POOL})
    first.vias_store.put_algorithm(ACCOUNT, PROJECT, ALG, "Renamed", company="ACME")
    module_state = first.modules["vias"].state
    assert module_state is not None and module_state.flush()
    assert (tmp_path / "vias.json").exists()
    second = Emulator(EmulatorConfig(state_dir=tmp_path, vias_algorithms=[seed]))
    svc = second.vias_store.get(ACCOUNT, PROJECT, service_id_for(ACCOUNT, PROJECT, ALG))
    assert (svc.stream_count, svc.pool_id) == (2, POOL)
    assert (svc.spec.name, svc.spec.company) == ("Intrusion Detection", "Huawei Cloud")  # seed


def test_vias_algorithm_flags_parse() -> None:
    assert parse_vias_algorithm("alg-1:Intrusion Detection") == ViasAlgorithm(
        "alg-1", "Intrusion Detection", None, DEFAULT_ACCOUNT
    )
    assert parse_vias_algorithm("alg-1:n:p_1:acct-2") == ViasAlgorithm(
        "alg-1", "n", "p_1", "acct-2"
    )
    assert parse_vias_algorithm("alg-1:n::acct-2") == ViasAlgorithm("alg-1", "n", None, "acct-2")
    for bad in ("alg-1", "alg-1: ", "alg_1:n", ":n", "a" * 65 + ":n", "a:n:p/1", "a:n:p:a:x"):
        with pytest.raises(ValueError, match="vias algorithm"):
            parse_vias_algorithm(bad)


def test_the_cli_passes_vias_algorithms_to_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    monkeypatch.setattr("cloudinfer.emulator.app.run", started.append)
    parser = cli.build_parser()
    args = parser.parse_args(
        ["emulator", "--vias-algorithm", "alg-1:Intrusion", "--vias-algorithm", "alg-2:C:p1:a"]
    )
    assert args.func(args) == 0
    (config,) = started
    assert config.vias_algorithms == [
        ViasAlgorithm("alg-1", "Intrusion", None, DEFAULT_ACCOUNT),
        ViasAlgorithm("alg-2", "C", "p1", "a"),
    ]
    bad = parser.parse_args(["emulator", "--vias-algorithm", "alg_1:n"])
    assert bad.func(bad) == 2
