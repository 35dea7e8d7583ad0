"""The EAS observer source over HTTP: a changes-only listing reads the pages that hold what
changed since the last mark (newest UpdateTime first) and no further."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudinfer.clouds.alibaba.eas import EasClient
from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread
from cloudinfer.emulator.config import DEFAULT_ACCOUNT
from cloudinfer.providers.alibaba_eas import EasServices
from tests.unit.clouds.test_eas_client import DEV
from tests.unit.emulator.helpers import Clock, config

REGION = "cn-shanghai"


@pytest.fixture
def emulator() -> Iterator[tuple[EmulatorThread, Clock]]:
    with EmulatorThread(EmulatorConfig(port=0)) as emu:
        clock = Clock()
        emu.emulator.eas_store.clock = clock
        yield emu, clock


def create(emu: EmulatorThread, clock: Clock, names: list[str]) -> None:
    for name in names:
        emu.emulator.eas_store.create(DEFAULT_ACCOUNT, REGION, config(name, instances=1), {}, "")
        clock.now += 0.3


async def test_only_the_pages_holding_changes_are_read(
    emulator: tuple[EmulatorThread, Clock],
) -> None:
    emu, clock = emulator
    create(emu, clock, [f"s{i:04d}" for i in range(350)])
    clock.now += 60  # all Running long ago
    source = EasServices(EasClient(REGION, DEV, endpoint=emu.url))
    try:
        mark = await source.newest_mark()
        full = await source.list_all()
        assert full.calls == 4 and len(full.items) == 350

        clock.now += 60
        create(emu, clock, ["fresh"])
        emu.emulator.eas_store.update(
            DEFAULT_ACCOUNT, REGION, "s0003", {"metadata": {"instance": 2}}, replace=False
        )
        changed = await source.list_changed(mark)
        assert changed.calls == 1
        assert {s.name for s in changed.items} >= {"fresh", "s0003"}
        assert changed.mark != mark

        clock.now += 60  # both settle: a change each, seen by the next pass
        settled = await source.list_changed(changed.mark)
        assert settled.calls == 1
        assert {s.name: s.status for s in settled.items if s.name in ("fresh", "s0003")} == {
            "fresh": "Running",
            "s0003": "Running",
        }

        clock.now += 60
        create(emu, clock, [f"b{i:03d}" for i in range(150)])  # a burst: two pages of news
        burst = await source.list_changed(settled.mark)
        assert {f"b{i:03d}" for i in range(150)} <= {s.name for s in burst.items}
        assert burst.calls == 2  # the second page ends before the mark: no third
    finally:
        await source.client.aclose()
