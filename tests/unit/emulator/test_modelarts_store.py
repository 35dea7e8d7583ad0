"""The ModelArts store and state machine on a clock the test moves: deploying with progress →
running; stop, start, config updates, delete; failure with error_msg; concerning while
instances are unhealthy; auto-stop; scoping by account and project; the state refusals and
quotas; only due services advance; the state survives a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudinfer.emulator.app import Emulator, EmulatorConfig
from cloudinfer.emulator.modelarts import views
from cloudinfer.emulator.modelarts.listing import ServiceQuery
from cloudinfer.emulator.modelarts.store import ModelArtsStore
from cloudinfer.emulator.pipeline import ApiError
from tests.unit.emulator.modelarts_support import (
    ACCOUNT,
    PROJECT,
    REGION,
    body,
    create,
    model,
    store,
)


def refused(code: str, call: object) -> ApiError:
    assert callable(call)
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.code == code, raised.value.message
    return raised.value


def infos(s: ModelArtsStore, service_id: str) -> list[tuple[str, str]]:
    return [(e.type, e.info) for e in s.get(ACCOUNT, PROJECT, service_id).events]


def test_deploying_shows_progress_then_running_at_the_instant_it_happened() -> None:
    s, clock = store()
    svc = create(s)
    created = clock.now
    assert (svc.status, svc.progress(clock.now)) == ("deploying", 0)
    clock.now += 1
    assert s.get(ACCOUNT, PROJECT, svc.service_id).progress(clock.now) == 25
    clock.now += 2
    shown = views.show(s.get(ACCOUNT, PROJECT, svc.service_id), clock.now)
    assert (shown["status"], shown["progress"]) == ("deploying", 75)
    assert shown["config"][0]["status"] == "deploying"
    clock.now += 10
    shown = views.show(s.get(ACCOUNT, PROJECT, svc.service_id), clock.now)
    assert (shown["status"], shown["progress"]) == ("running", 100)
    assert shown["transition_at"] == int((created + 4) * 1000)  # not when someone looked
    assert shown["publish_at"] == int(created * 1000)
    assert shown["access_address"].endswith(
        f".apig.{REGION}.huaweicloudapis.com/v1/infers/{svc.service_id}"
    )
    assert "error_msg" not in shown
    assert infos(s, svc.service_id) == [
        ("normal", "The service starts to deploy."),
        ("normal", "The service is running."),
    ]


def test_stop_start_config_updates_and_delete() -> None:
    s, clock = store()
    sid = create(s).service_id
    clock.now += 5

    s.update(ACCOUNT, PROJECT, sid, {"status": "stopped"})
    assert s.get(ACCOUNT, PROJECT, sid).status == "stopping"
    clock.now += 2
    assert s.get(ACCOUNT, PROJECT, sid).status == "stopped"

    # A stopped service takes a new config and stays stopped.
    s.update(ACCOUNT, PROJECT, sid, {"config": [model("m2", "100", 3)]})
    svc = s.get(ACCOUNT, PROJECT, sid)
    assert svc.status == "stopped" and svc.config[0]["instance_count"] == 3
    assert views.show(svc, clock.now)["update_time"] == int(clock.now * 1000)

    s.update(ACCOUNT, PROJECT, sid, {"status": "running"})
    assert s.get(ACCOUNT, PROJECT, sid).status == "deploying"
    clock.now += 4
    assert s.get(ACCOUNT, PROJECT, sid).status == "running"

    # A config update redeploys (update_seconds), progress from 0 again.
    s.update(ACCOUNT, PROJECT, sid, {"config": [model("m3")], "description": "v3"})
    svc = s.get(ACCOUNT, PROJECT, sid)
    assert (svc.status, svc.progress(clock.now), svc.attributes["description"]) == (
        "deploying",
        0,
        "v3",
    )
    clock.now += 2
    assert s.get(ACCOUNT, PROJECT, sid).status == "running"

    # Both status and config: status only, as documented.
    s.update(ACCOUNT, PROJECT, sid, {"status": "stopped", "config": [model("m4")]})
    svc = s.get(ACCOUNT, PROJECT, sid)
    assert svc.status == "stopping" and svc.config[0]["model_id"] == "m3"

    s.delete(ACCOUNT, PROJECT, [sid])
    assert s.get(ACCOUNT, PROJECT, sid).status == "deleting"
    clock.now += 2
    refused("ModelArts.3502", lambda: s.get(ACCOUNT, PROJECT, sid))
    assert s.list_services(ACCOUNT, PROJECT, ServiceQuery()) == ([], 0)


def test_a_failing_model_fails_half_way_with_error_msg_and_is_fixed_by_an_update() -> None:
    s, clock = store()
    sid = create(s, "bad", model("emulator-fail-model")).service_id
    clock.now += 1.9
    assert s.get(ACCOUNT, PROJECT, sid).status == "deploying"
    clock.now += 0.2
    svc = s.get(ACCOUNT, PROJECT, sid)
    shown = views.show(svc, clock.now)
    assert (shown["status"], shown["progress"]) == ("failed", 50)
    assert "emulator-fail-model" in shown["error_msg"]
    assert shown["config"][0]["status"] == "failed"
    assert svc.events[-1].type == "abnormal" and "failed" in svc.events[-1].info

    s.update(ACCOUNT, PROJECT, sid, {"status": "running"})  # a restart fails again
    clock.now += 2
    assert s.get(ACCOUNT, PROJECT, sid).status == "failed"
    s.update(ACCOUNT, PROJECT, sid, {"config": [model("good")]})
    assert "error_msg" not in views.show(s.get(ACCOUNT, PROJECT, sid), clock.now)
    clock.now += 2
    assert s.get(ACCOUNT, PROJECT, sid).status == "running"


def test_unhealthy_instances_make_a_running_service_concerning() -> None:
    s, clock = store()
    sid = create(s, "svc", model("a", 60, 2), model("b", 40, 1)).service_id
    s.set_unhealthy(sid, "b", 1)  # while deploying: applies once running
    clock.now += 4
    svc = s.get(ACCOUNT, PROJECT, sid)
    assert svc.status == "concerning"
    assert [i["status"] for i in views.show(svc, clock.now)["config"]] == ["running", "concerning"]
    s.set_unhealthy(sid, "b", 0)
    assert s.get(ACCOUNT, PROJECT, sid).status == "running"
    s.set_unhealthy(sid, None, 2)  # the first model
    assert s.get(ACCOUNT, PROJECT, sid).status == "concerning"
    assert ("abnormal", "2 instance(s) of model a are unhealthy.") in infos(s, sid)
    assert infos(s, sid)[-2] == ("normal", "All instances are healthy.")
    refused("ModelArts.0101", lambda: s.set_unhealthy(sid, "a", 3))
    refused("ModelArts.0101", lambda: s.set_unhealthy(sid, "zz", 1))
    s.update(ACCOUNT, PROJECT, sid, {"status": "stopped"})  # stopping clears the fault
    clock.now += 2
    s.update(ACCOUNT, PROJECT, sid, {"status": "running"})
    clock.now += 4
    assert s.get(ACCOUNT, PROJECT, sid).status == "running"


def test_a_stop_schedule_stops_the_service_when_due() -> None:
    s, clock = store()
    schedule = [{"type": "stop", "time_unit": "MINUTES", "duration": 1}]
    sid = create(s, schedule=schedule).service_id
    clock.now += 4
    shown = views.show(s.get(ACCOUNT, PROJECT, sid), clock.now)
    assert shown["schedule"] == schedule and shown["due_time"] == int((clock.now + 60) * 1000)
    clock.now += 61  # the stop began at due_time and takes stop_seconds (2)
    assert s.get(ACCOUNT, PROJECT, sid).status == "stopping"
    clock.now += 1
    svc = s.get(ACCOUNT, PROJECT, sid)
    assert svc.status == "stopped" and "due_time" not in views.show(svc, clock.now)
    assert ("normal", "The service stops when the auto stop time expires.") in infos(s, sid)


def test_services_are_scoped_by_account_and_project() -> None:
    s, clock = store()
    sid = create(s, "shared-name").service_id
    refused("ModelArts.3502", lambda: s.get("someone-else", PROJECT, sid))
    refused("ModelArts.3502", lambda: s.get(ACCOUNT, "p2", sid))
    refused("ModelArts.3502", lambda: s.update("someone-else", PROJECT, sid, {"status": "stopped"}))
    refused("ModelArts.3502", lambda: s.delete(ACCOUNT, "p2", [sid]))
    assert s.list_services(ACCOUNT, "p2", ServiceQuery()) == ([], 0)
    # Names are unique within a project of an account, not beyond.
    refused("ModelArts.3503", lambda: create(s, "shared-name"))
    create(s, "shared-name", project="p2")
    create(s, "shared-name", account="someone-else")
    s.delete(ACCOUNT, PROJECT, [sid])
    refused("ModelArts.3503", lambda: create(s, "shared-name"))  # until it is gone
    clock.now += 2
    create(s, "shared-name")


def test_updates_the_state_does_not_allow_are_refused_with_3519() -> None:
    s, clock = store()
    sid = create(s).service_id
    refused("ModelArts.3519", lambda: s.update(ACCOUNT, PROJECT, sid, {"config": [model("x")]}))
    clock.now += 4
    s.update(ACCOUNT, PROJECT, sid, {"status": "stopped"})
    refused("ModelArts.3519", lambda: s.update(ACCOUNT, PROJECT, sid, {"status": "running"}))
    refused("ModelArts.3519", lambda: s.update(ACCOUNT, PROJECT, sid, {"config": [model("x")]}))
    s.update(ACCOUNT, PROJECT, sid, {"status": "stopped"})  # already stopping: nothing to do
    clock.now += 2
    s.delete(ACCOUNT, PROJECT, [sid])
    refused("ModelArts.3519", lambda: s.update(ACCOUNT, PROJECT, sid, {"description": "x"}))
    s.delete(ACCOUNT, PROJECT, [sid])  # deleting again is harmless


def test_deleting_several_ids_is_all_or_nothing() -> None:
    s, _ = store()
    a, b = create(s, "a").service_id, create(s, "b").service_id
    refused("ModelArts.3502", lambda: s.delete(ACCOUNT, PROJECT, [a, "nope"]))
    assert s.get(ACCOUNT, PROJECT, a).status == "deploying"
    assert [svc.status for svc in s.delete(ACCOUNT, PROJECT, [a, b, a])] == ["deleting"] * 2


def test_quotas_refuse_with_their_codes() -> None:
    s, clock = store()
    s.quota.services = 2
    first = create(s, "one").service_id
    create(s, "two", project="p2")  # the quota is the account's, across projects
    refused("ModelArts.3520", lambda: create(s, "three"))
    create(s, "three", account="someone-else")
    s.quota.services = None

    s.quota.instances = 4
    refused("ModelArts.3522", lambda: create(s, "big", model(instances=3)))
    clock.now += 4
    refused(
        "ModelArts.3522",
        lambda: s.update(ACCOUNT, PROJECT, first, {"config": [model(instances=4)]}),
    )
    s.update(ACCOUNT, PROJECT, first, {"config": [model(instances=3)]})  # 3 + 1 ("two")
    s.quota.instances = None

    s.quota.running = 2
    s.update(ACCOUNT, PROJECT, first, {"status": "stopped"})
    clock.now += 2
    create(s, "runs")
    refused("ModelArts.3521", lambda: s.update(ACCOUNT, PROJECT, first, {"status": "running"}))


def test_only_due_services_are_advanced() -> None:
    s, clock = store()
    ids = [create(s, f"s{i}").service_id for i in range(200)]
    clock.now += 1
    before = s.advanced
    s.get(ACCOUNT, PROJECT, ids[0])
    assert s.advanced - before == 1  # nothing was due: only the one shown
    clock.now += 4
    before = s.advanced
    s.get(ACCOUNT, PROJECT, ids[0])
    assert s.advanced - before == 201  # all turned running at once, the one shown again
    before = s.advanced
    s.get(ACCOUNT, PROJECT, ids[1])
    assert s.advanced - before == 1


def test_mutations_only_mark_the_state_dirty() -> None:
    s, clock = store()
    marks: list[int] = []
    s.on_change = lambda: marks.append(1)
    sid = create(s).service_id
    s.update(ACCOUNT, PROJECT, sid, {"description": "d"})
    assert len(marks) == 2
    clock.now += 4
    s.get(ACCOUNT, PROJECT, sid)
    assert len(marks) == 3  # the status change is state too


def test_state_survives_a_restart() -> None:
    s, clock = store()
    sid = create(s, "svc", model(envs={"K": "v"}), description="kept").service_id
    s.set_unhealthy(sid, None, 1)
    s.quota.services = 7
    clock.now += 1
    saved = json.loads(json.dumps(s.to_state()))
    restored, _ = store(clock)
    restored.restore(saved)
    assert restored.quota.services == 7
    before = views.show(s.get(ACCOUNT, PROJECT, sid), clock.now)
    assert views.show(restored.get(ACCOUNT, PROJECT, sid), clock.now) == before
    clock.now += 4
    assert restored.get(ACCOUNT, PROJECT, sid).status == "concerning"  # timers kept too


def test_the_module_persists_its_state_file(tmp_path: Path) -> None:
    first = Emulator(EmulatorConfig(state_dir=tmp_path))
    sid = first.modelarts_store.create(ACCOUNT, PROJECT, REGION, body()).service_id
    module_state = first.modules["modelarts"].state
    assert module_state is not None and module_state.flush()
    assert (tmp_path / "modelarts.json").exists()
    second = Emulator(EmulatorConfig(state_dir=tmp_path))
    assert second.modelarts_store.get(ACCOUNT, PROJECT, sid).name == "svc"
