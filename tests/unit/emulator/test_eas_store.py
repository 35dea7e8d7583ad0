"""The emulated EAS state machine, on a clock the test controls."""

from pathlib import Path

import pytest

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.eas.store import EasApiError, EasStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def store(tmp_path: Path | None = None) -> tuple[EasStore, Clock]:
    clock = Clock()
    timing = Timing(deploy_seconds=4, update_seconds=2, stop_seconds=2, delete_seconds=2)
    state = tmp_path / "eas.json" if tmp_path else None
    return EasStore(timing, state, clock=clock), clock


CONFIG = {"name": "svc", "processor": "p", "metadata": {"instance": 4, "cpu": 1, "memory": 1000}}


def test_instances_come_up_one_by_one() -> None:
    s, clock = store()
    s.create("r", CONFIG, {}, "", "acct")
    seen = []
    for _ in range(5):
        svc = s.get("r", "svc")
        seen.append((svc.status, svc.running))
        clock.now += 1
    assert seen == [
        ("Creating", 0),
        ("Creating", 1),
        ("Creating", 2),
        ("Creating", 3),
        ("Running", 4),
    ]
    api = s.get("r", "svc").to_api("h")
    assert api["TotalInstance"] == 4 and api["PendingInstance"] == 0


def test_update_stop_start_delete() -> None:
    s, clock = store()
    s.create("r", CONFIG, {}, "", "acct")
    clock.now += 10
    s.update("r", "svc", {"metadata": {"instance": 2}}, replace=False)
    assert s.get("r", "svc").status == "Updating"
    assert s.get("r", "svc").config["metadata"] == {"instance": 2, "cpu": 1, "memory": 1000}
    clock.now += 3
    assert (s.get("r", "svc").status, s.get("r", "svc").running) == ("Running", 2)
    s.stop("r", "svc")
    clock.now += 3
    assert (s.get("r", "svc").status, s.get("r", "svc").running) == ("Stopped", 0)
    s.start("r", "svc")
    assert s.get("r", "svc").status == "Starting"
    clock.now += 5
    assert s.get("r", "svc").status == "Running"
    s.update_version("r", "svc", 1)
    clock.now += 3
    assert s.get("r", "svc").running == 4
    s.delete("r", "svc")
    assert s.get("r", "svc").status == "Deleting"
    with pytest.raises(EasApiError) as busy:
        s.update("r", "svc", {"metadata": {"instance": 1}}, replace=False)
    assert busy.value.code == "InvalidServiceStatus"
    clock.now += 3
    with pytest.raises(EasApiError) as gone:
        s.get("r", "svc")
    assert gone.value.status == 404


def test_failed_config_and_fix_by_update() -> None:
    s, clock = store()
    s.create("r", {**CONFIG, "model_path": "oss://b/emulator-fail"}, {}, "", "acct")
    clock.now += 3
    assert s.get("r", "svc").status == "Failed" and "download model" in s.get("r", "svc").message
    s.update("r", "svc", {"model_path": "oss://b/good"}, replace=False)
    clock.now += 3
    assert s.get("r", "svc").status == "Running"


def test_names_unique_per_region_and_validated() -> None:
    s, _ = store()
    s.create("r", CONFIG, {}, "", "acct")
    s.create("other-region", CONFIG, {}, "", "acct")
    with pytest.raises(EasApiError) as dup:
        s.create("r", CONFIG, {}, "", "acct")
    assert dup.value.status == 409
    with pytest.raises(EasApiError) as bad:
        s.create("r", {**CONFIG, "name": "Bad-Name"}, {}, "", "acct")
    assert bad.value.code == "InvalidParameter" and "Bad-Name" in bad.value.message


def test_state_survives_a_restart(tmp_path: Path) -> None:
    s, clock = store(tmp_path)
    s.create("r", CONFIG, {"k": "v"}, "ws", "acct")
    again = EasStore(Timing(), tmp_path / "eas.json", clock=clock)
    svc = again.get("r", "svc")
    assert (
        svc.labels == {"k": "v"}
        and svc.workspace_id == "ws"
        and svc.service_id == s.get("r", "svc").service_id
    )
