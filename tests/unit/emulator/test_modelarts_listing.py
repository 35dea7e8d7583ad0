"""ListServices and ShowServiceEvents: `offset` is a page index, the orders and filters
answer correctly, and an unfiltered page costs O(page): the scope's index is sliced, never
walked, and only due services advance. Counted, never timed."""

from __future__ import annotations

import pytest

from cloudinfer.emulator.index import SortedIndex
from cloudinfer.emulator.modelarts.listing import EventQuery, Page, ServiceQuery
from cloudinfer.emulator.modelarts.service import Event, Service
from cloudinfer.emulator.pipeline import ApiError
from tests.unit.emulator.modelarts_support import (
    ACCOUNT,
    PROJECT,
    create,
    fill,
    model,
    store,
)

N = 5_000


def names(services: list[Service]) -> list[str]:
    return [svc.name for svc in services]


def test_offset_is_a_page_index_and_limit_the_page_size() -> None:
    s, _ = store()
    fill(s, 25)
    asc = ServiceQuery.from_params({"limit": "10", "order": "asc", "offset": "0"})
    page, total = s.list_services(ACCOUNT, PROJECT, asc)
    assert total == 25 and names(page) == [f"s{i:05d}" for i in range(10)]
    third = ServiceQuery.from_params({"limit": "10", "order": "asc", "offset": "2"})
    assert names(s.list_services(ACCOUNT, PROJECT, third)[0]) == [
        f"s{i:05d}" for i in range(20, 25)
    ]
    beyond = ServiceQuery.from_params({"limit": "10", "offset": "3"})
    assert s.list_services(ACCOUNT, PROJECT, beyond) == ([], 25)
    default, total = s.list_services(ACCOUNT, PROJECT, ServiceQuery.from_params({}))
    assert total == 25 and names(default)[0] == "s00024"  # publish_at, newest first
    assert ServiceQuery.from_params({}).page == Page(0, 1000)


def test_an_unfiltered_page_slices_the_index_and_advances_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, clock = store()
    ids = fill(s, N)
    fill(s, 50, project="p2", prefix="x")  # interleaved in time, never listed
    clock.now += 10
    s.get(ACCOUNT, PROJECT, ids[0])  # everything was due once: settle it outside the count

    def walked(_: SortedIndex[Service]) -> None:
        raise AssertionError("an unfiltered page walked the whole index")

    monkeypatch.setattr(SortedIndex, "__iter__", walked)
    seen: list[str] = []
    before = s.advanced
    for index in range(N // 100 + 1):
        query = ServiceQuery(page=Page(index, 100), descending=False)
        page, total = s.list_services(ACCOUNT, PROJECT, query)
        assert total == N and len(page) <= 100
        seen += [svc.service_id for svc in page]
    assert seen == ids and s.advanced == before

    by_name = ServiceQuery(page=Page(1, 2), sort="service_name")
    assert names(s.list_services(ACCOUNT, PROJECT, by_name)[0]) == ["s04997", "s04996"]
    by_id = ServiceQuery(service_id=ids[7])  # one lookup
    assert names(s.list_services(ACCOUNT, PROJECT, by_id)[0]) == ["s00007"]


def test_filters() -> None:
    s, clock = store()
    a = create(s, "alpha", model("m-a"), workspace_id="ws1")
    create(s, "alphabet", model("m-b"))
    c = create(s, "gamma", model("m-a", 50), model("m-c", 50))
    other = create(s, "alpha", project="p2")
    clock.now += 4
    s.update(ACCOUNT, PROJECT, c.service_id, {"status": "stopped"})

    def listed(**params: str) -> list[str]:
        page, total = s.list_services(ACCOUNT, PROJECT, ServiceQuery.from_params(params))
        assert total == len(page)
        return sorted(names(page))

    assert listed(service_name="alpha") == ["alpha", "alphabet"]  # a substring
    assert listed(model_id="m-a") == ["alpha", "gamma"]
    assert listed(status="stopping") == ["gamma"]
    assert listed(status="running", model_id="m-a") == ["alpha"]
    assert listed(workspace_id="ws1") == ["alpha"]
    assert listed(workspace_id="0") == ["alphabet", "gamma"]
    assert listed(infer_type="batch") == []
    assert listed(service_id=a.service_id) == ["alpha"]
    assert listed(service_id=other.service_id) == []  # another project's id
    assert listed(tags="k=v") == ["alpha", "alphabet", "gamma"]  # accepted, not applied


def test_transition_at_order_follows_every_status_change() -> None:
    s, clock = store()
    ids = fill(s, 6)
    clock.now += 10
    s.update(ACCOUNT, PROJECT, ids[2], {"status": "stopped"})
    clock.now += 1
    s.update(ACCOUNT, PROJECT, ids[4], {"status": "stopped"})
    query = ServiceQuery(page=Page(0, 3), sort="transition_at")
    assert [svc.service_id for svc in s.list_services(ACCOUNT, PROJECT, query)[0]] == [
        ids[4],
        ids[2],
        ids[5],
    ]
    clock.now += 5  # both stopped: their transition_at moves again
    s.update(ACCOUNT, PROJECT, ids[2], {"status": "running"})
    assert s.list_services(ACCOUNT, PROJECT, query)[0][0].service_id == ids[2]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"sort_by": "status"},
        {"order": "up"},
    ],
)
def test_bad_list_queries_are_invalid_arguments(params: dict[str, str]) -> None:
    with pytest.raises(ApiError) as raised:
        ServiceQuery.from_params(params)
    assert (raised.value.status, raised.value.code) == (400, "ModelArts.0101")


def test_event_queries() -> None:
    events = [
        Event(1.0, "normal", "The service starts to deploy."),
        Event(2.0, "abnormal", "Service s failed. Error: boom"),
        Event(3.0, "normal", "The service is being started."),
        Event(4.0, "normal", "The service is running."),
    ]

    def infos(**params: str) -> tuple[list[str], int]:
        page, total = EventQuery.from_params(params).select(events)
        return [e.info for e in page], total

    assert infos()[0][0] == "The service is running."  # occur_time, newest first
    assert infos(event_type="abnormal") == (["Service s failed. Error: boom"], 1)
    assert infos(event_info="service is", order="asc")[0] == [
        "The service is being started.",
        "The service is running.",
    ]
    assert infos(start_time="2000", end_time="3000", order="asc")[1] == 2
    assert infos(limit="3", offset="1") == (["The service starts to deploy."], 4)
    for bad in ({"event_type": "odd"}, {"sort_by": "x"}, {"start_time": "x"}):
        with pytest.raises(ApiError):
            EventQuery.from_params(bad)
