"""The emulated EAS state machine and store, on a clock the test controls."""

from __future__ import annotations

import json

import pytest

from cloudinfer.emulator.eas.listing import ListQuery
from cloudinfer.emulator.eas.store import EasApiError
from tests.unit.emulator.helpers import ACCOUNT, config, fill, store

CONFIG = config()


def test_instances_come_up_one_by_one() -> None:
    s, clock = store()
    s.create(ACCOUNT, "r", CONFIG, {}, "")
    seen = []
    for _ in range(5):
        svc = s.get(ACCOUNT, "r", "svc")
        seen.append((svc.status, svc.running))
        clock.now += 1
    assert seen == [
        ("Creating", 0),
        ("Creating", 1),
        ("Creating", 2),
        ("Creating", 3),
        ("Running", 4),
    ]
    api = s.get(ACCOUNT, "r", "svc").to_api("h")
    assert api["TotalInstance"] == 4 and api["PendingInstance"] == 0
    assert api["CallerUid"] == ACCOUNT


def test_update_stop_start_delete() -> None:
    s, clock = store()
    s.create(ACCOUNT, "r", CONFIG, {}, "")
    clock.now += 10
    s.update(ACCOUNT, "r", "svc", {"metadata": {"instance": 2}}, replace=False)
    assert s.get(ACCOUNT, "r", "svc").status == "Updating"
    assert s.get(ACCOUNT, "r", "svc").config["metadata"] == {
        "instance": 2,
        "cpu": 1,
        "memory": 1000,
    }
    clock.now += 3
    svc = s.get(ACCOUNT, "r", "svc")
    assert (svc.status, svc.running) == ("Running", 2)
    s.stop(ACCOUNT, "r", "svc")
    clock.now += 3
    svc = s.get(ACCOUNT, "r", "svc")
    assert (svc.status, svc.running) == ("Stopped", 0)
    s.start(ACCOUNT, "r", "svc")
    assert s.get(ACCOUNT, "r", "svc").status == "Starting"
    clock.now += 5
    assert s.get(ACCOUNT, "r", "svc").status == "Running"
    s.update_version(ACCOUNT, "r", "svc", 1)
    clock.now += 3
    assert s.get(ACCOUNT, "r", "svc").running == 4
    s.delete(ACCOUNT, "r", "svc")
    assert s.get(ACCOUNT, "r", "svc").status == "Deleting"
    with pytest.raises(EasApiError) as busy:
        s.update(ACCOUNT, "r", "svc", {"metadata": {"instance": 1}}, replace=False)
    assert busy.value.code == "InvalidServiceStatus"
    clock.now += 3
    with pytest.raises(EasApiError) as gone:
        s.get(ACCOUNT, "r", "svc")
    assert gone.value.status == 404


def test_failed_config_and_fix_by_update() -> None:
    s, clock = store()
    s.create(ACCOUNT, "r", {**CONFIG, "model_path": "oss://b/emulator-fail"}, {}, "")
    clock.now += 1.9
    assert s.get(ACCOUNT, "r", "svc").status == "Creating"
    clock.now += 0.1  # half the deploy time: a pull or download fails part-way
    svc = s.get(ACCOUNT, "r", "svc")
    assert svc.status == "Failed" and "download model" in svc.message
    s.update(ACCOUNT, "r", "svc", {"model_path": "oss://b/good"}, replace=False)
    clock.now += 3
    assert s.get(ACCOUNT, "r", "svc").status == "Running"


def test_names_unique_per_region_and_validated() -> None:
    s, _ = store()
    s.create(ACCOUNT, "r", CONFIG, {}, "")
    s.create(ACCOUNT, "other-region", CONFIG, {}, "")
    with pytest.raises(EasApiError) as dup:
        s.create(ACCOUNT, "r", CONFIG, {}, "")
    assert dup.value.status == 409
    with pytest.raises(EasApiError) as bad:
        s.create(ACCOUNT, "r", {**CONFIG, "name": "Bad-Name"}, {}, "")
    assert bad.value.code == "InvalidParameter" and "Bad-Name" in bad.value.message


def test_a_deleted_name_is_free_again_for_anyone() -> None:
    s, clock = store()
    s.create(ACCOUNT, "r", CONFIG, {}, "")
    s.delete(ACCOUNT, "r", "svc")
    clock.now += 2
    assert s.create("someone-else", "r", CONFIG, {}, "").account == "someone-else"


def test_only_due_services_are_advanced() -> None:
    s, clock = store()
    fill(s, 10_000)
    clock.now += 10
    s.get(ACCOUNT, "r", "s00000")  # every service reached Running by now: each moves once
    assert s.all() and all(svc.status == "Running" for svc in s.all())

    s.update(ACCOUNT, "r", "s04242", {"metadata": {"instance": 2}}, replace=False)
    before = s.advanced
    s.get(ACCOUNT, "r", "s00001")  # not due yet: only the service asked for is touched
    assert s.advanced - before == 1
    clock.now += 5
    before = s.advanced
    s.get(ACCOUNT, "r", "s00001")  # the updated one is due: it and the one asked for
    assert s.advanced - before == 2
    assert s.get(ACCOUNT, "r", "s04242").status == "Running"


def test_mutations_only_mark_the_state_dirty() -> None:
    s, _ = store()
    changes: list[None] = []
    s.on_change = lambda: changes.append(None)
    fill(s, 3)
    s.update(ACCOUNT, "r", "s00000", {"metadata": {"instance": 2}}, replace=False)
    s.stop(ACCOUNT, "r", "s00001")
    s.delete(ACCOUNT, "r", "s00002")
    assert len(changes) == 6
    s.get(ACCOUNT, "r", "s00000")
    s.list_services(ACCOUNT, ListQuery())
    assert len(changes) == 6  # reads change nothing that needs writing


def test_state_survives_a_restart() -> None:
    s, clock = store()
    s.create(ACCOUNT, "r", CONFIG, {"k": "v"}, "ws")
    again, _ = store(clock)
    again.restore(json.loads(json.dumps(s.to_state())))
    svc = again.get(ACCOUNT, "r", "svc")
    assert svc.labels == {"k": "v"} and svc.workspace_id == "ws" and svc.account == ACCOUNT
    assert svc.service_id == s.get(ACCOUNT, "r", "svc").service_id
    clock.now += 5
    assert again.get(ACCOUNT, "r", "svc").status == "Running"  # restored services keep moving


def test_state_written_before_accounts_were_explicit_loads() -> None:
    """The old file format: no version, the owner named only as caller_uid."""
    s, clock = store()
    s.create("old-owner", "r", CONFIG, {}, "")
    legacy = s.to_state()
    del legacy["version"]
    for item in legacy["services"]:
        item["caller_uid"] = item.pop("account")
    again, _ = store(clock)
    again.restore(legacy)
    assert again.get("old-owner", "r", "svc").to_api("h")["CallerUid"] == "old-owner"
    with pytest.raises(EasApiError) as hidden:
        again.get(ACCOUNT, "r", "svc")
    assert hidden.value.code == "InvalidService.NotFound"
