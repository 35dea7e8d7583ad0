"""ListServices costs O(page): with 10,000 services a page renders and advances only the
services on it, in the order the operator asks for (CreateTime asc), and the pages add up to
the whole account. Counted, never timed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_eas20210701 import models as m

from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread
from cloudinfer.emulator.config import DEFAULT_ACCOUNT
from cloudinfer.emulator.eas.listing import ListQuery
from cloudinfer.emulator.eas.service import Service
from tests.unit.emulator.helpers import ACCOUNT, Clock, config, fill, store
from tests.unit.emulator.test_eas_sdk import REGION, client

N = 10_000


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the services rendered as API objects, in order."""
    names: list[str] = []
    original = Service.to_api

    def counting(self: Service, host_id: str) -> dict[str, Any]:
        names.append(self.name)
        return original(self, host_id)

    monkeypatch.setattr(Service, "to_api", counting)
    return names


def test_a_full_pass_pages_through_everything_in_creation_order() -> None:
    s, clock = store()
    names = fill(s, N)
    fill(s, 50, account="someone-else", prefix="x")  # interleaved in time, never listed
    clock.now += 10
    s.get(ACCOUNT, "r", names[0])  # everything is due once: settle it outside the count

    seen: list[str] = []
    for page in range(1, N // 100 + 2):
        before = s.advanced
        services, total = s.list_services(
            ACCOUNT, ListQuery(page=page, size=100, sort="CreateTime", descending=False)
        )
        assert total == N and s.advanced - before == len(services) <= 100
        seen += [svc.name for svc in services]
    assert seen == names

    last, _ = s.list_services(ACCOUNT, ListQuery(page=1, size=3))  # the default: newest first
    assert [svc.name for svc in last] == names[-1:-4:-1]
    by_name, _ = s.list_services(ACCOUNT, ListQuery(page=2, size=2, sort="ServiceName"))
    assert [svc.name for svc in by_name] == sorted(names, reverse=True)[2:4]


def test_filters_and_changing_orders_still_answer_correctly() -> None:
    s, clock = store()
    names = fill(s, 30)
    clock.now += 5  # all Running
    s.create(ACCOUNT, "r", config("labelled", instances=1), {"team": "a"}, "ws")
    s.stop(ACCOUNT, "r", names[3])
    clock.now += 3  # stopped; "labelled" still Creating
    s.update(ACCOUNT, "r", names[5], {"metadata": {"instance": 2}}, replace=False)

    def listed(**query: Any) -> tuple[list[str], int]:
        services, total = s.list_services(ACCOUNT, ListQuery(**query))
        return [svc.name for svc in services], total

    assert listed(labels={"team": "a"}) == (["labelled"], 1)
    assert listed(labels={"team": None}, workspace="ws") == (["labelled"], 1)
    assert listed(labels={"team": "b"}) == ([], 0)
    assert listed(status="Stopped") == ([names[3]], 1)
    assert listed(name_contains="0002", descending=False, size=3) == (
        [names[2], names[20], names[21]],
        11,
    )
    assert listed(name_contains="0002", descending=False, size=3, page=4) == (names[28:], 11)
    assert listed(name=names[7]) == ([names[7]], 1)
    updated, total = listed(sort="UpdateTime", size=1)
    assert updated == [names[5]] and total == 31  # the last one to change
    assert listed(sort="Status", descending=False, size=1) == (["labelled"], 31)


def test_newest_changes_first_costs_a_page_and_follows_every_change() -> None:
    """Sort=UpdateTime, Order=desc is how the operator lists only what changed: it must be
    O(page) and move each service to the front when its status or config changes."""
    s, clock = store()
    names = fill(s, N)
    clock.now += 10
    s.get(ACCOUNT, "r", names[0])  # everything is Running: settle it outside the count
    s.update(ACCOUNT, "r", names[7], {"metadata": {"instance": 2}}, replace=False)
    clock.now += 1
    s.create(ACCOUNT, "r", config("newest", instances=1), {}, "")

    def newest(size: int, count: int = N + 1) -> list[str]:
        before = s.advanced
        services, total = s.list_services(ACCOUNT, ListQuery(size=size, sort="UpdateTime"))
        assert total == count and s.advanced - before <= len(services) + 2  # + what fell due
        return [svc.name for svc in services]

    assert newest(2) == ["newest", names[7]]
    clock.now += 10  # both settle: Running, stamped when that happened (update 2 s, deploy 4 s)
    assert newest(2) == ["newest", names[7]]
    clock.now += 1
    s.update(ACCOUNT, "r", names[7], {"metadata": {"instance": 3}}, replace=False)
    assert newest(2) == [names[7], "newest"]
    s.delete(ACCOUNT, "r", names[9])
    assert newest(1) == [names[9]]
    clock.now += 10
    assert names[9] not in newest(3, count=N)


@pytest.fixture
def crowded() -> Iterator[EmulatorThread]:
    """An emulator whose default account holds N settled services."""
    with EmulatorThread(EmulatorConfig(port=0)) as emu:
        s = emu.emulator.eas_store
        clock = Clock()
        s.clock = clock
        for i in range(N):
            s.create(DEFAULT_ACCOUNT, REGION, config(f"s{i:05d}", instances=1), {}, "")
            clock.now += 0.25
        clock.now += 10
        s.all()  # settle them all once, outside the count
        yield emu


def test_each_page_over_http_renders_and_advances_one_page(
    crowded: EmulatorThread, rendered: list[str]
) -> None:
    c = client(crowded)
    s = crowded.emulator.eas_store
    for page, first in ((1, 0), (50, 4900), (100, 9900)):
        rendered.clear()
        before = s.advanced
        body = c.list_services(
            m.ListServicesRequest(page_number=page, page_size=100, sort="CreateTime", order="asc")
        ).body
        assert body.total_count == N
        assert [svc.service_name for svc in body.services] == rendered
        assert rendered == [f"s{i:05d}" for i in range(first, first + 100)]
        assert s.advanced - before == 100

    rendered.clear()
    past_the_end = c.list_services(m.ListServicesRequest(page_number=101, page_size=100)).body
    assert past_the_end.total_count == N and not past_the_end.services and not rendered
