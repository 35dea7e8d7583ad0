"""State on disk is written behind the requests: mutations mark it dirty, a background task
writes it at most once per interval, shutdown writes it once more. Writes are counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alibabacloud_eas20210701 import models as m

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread
from cloudinfer.emulator.eas.module import EasModule
from cloudinfer.emulator.persist import StateFile
from tests.support import wait_for
from tests.unit.emulator.helpers import ACCOUNT, fill, store
from tests.unit.emulator.test_eas_sdk import REGION, client, config


def test_a_burst_of_mutations_costs_one_write(tmp_path: Path) -> None:
    s, _ = store()
    state = StateFile(tmp_path / "eas.json", s.to_state)
    s.on_change = state.mark_dirty
    fill(s, 1000)
    s.delete(ACCOUNT, "r", "s00000")
    assert state.writes == 0 and not (tmp_path / "eas.json").exists()
    assert state.flush() and state.writes == 1
    assert not state.flush() and state.writes == 1  # nothing changed since
    saved = state.read()
    assert isinstance(saved, dict) and len(saved["services"]) == 1000


def test_a_failed_write_leaves_the_old_file_and_stays_dirty(tmp_path: Path) -> None:
    s, _ = store()
    path = tmp_path / "eas.json"
    state = StateFile(path, s.to_state)
    s.on_change = state.mark_dirty
    fill(s, 1)
    state.flush()
    fill(s, 1, prefix="t")
    state.snapshot = lambda: {"unserialisable": object()}
    with pytest.raises(TypeError):
        state.flush()
    assert state.dirty and len(json.loads(path.read_text())["services"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["eas.json"]  # no temporary file left


def test_the_emulator_writes_in_the_background_and_at_shutdown(tmp_path: Path) -> None:
    config_ = EmulatorConfig(port=0, state_dir=tmp_path, persist_interval=0.05)
    with EmulatorThread(config_) as emu:
        module = emu.emulator.modules["eas"]
        assert isinstance(module, EasModule) and module.state is not None
        c = client(emu)
        c.create_service(m.CreateServiceRequest(body=config("kept")))
        wait_for(lambda: module.state is not None and module.state.writes >= 1, 10, "a write")
        for i in range(20):
            c.create_service(m.CreateServiceRequest(body=config(f"burst_{i}")))
    # Shutdown wrote whatever the background task had not yet; far fewer writes than changes.
    assert module.state.writes < 21 and not module.state.dirty
    with EmulatorThread(EmulatorConfig(port=0, state_dir=tmp_path)) as again:
        names = {
            s.service_name
            for s in client(again).list_services(m.ListServicesRequest()).body.services
        }
        assert names == {"kept", *(f"burst_{i}" for i in range(20))}
        assert client(again).describe_service(REGION, "kept").body.caller_uid == "emulator-account"
