"""ListUserServices in the store: everything in one answer unless `is_paged`, page numbers
and sizes and their bounds, the created_at and function_version orders with a stable
tie-break, `name_like`, `alg_status` as repeated keys and as CSV, and the refused queries."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from cloudinfer.emulator.pipeline import ApiError
from cloudinfer.emulator.vias.listing import ServiceQuery, version_key
from cloudinfer.emulator.vias.store import ViasStore
from tests.unit.emulator.helpers import Clock
from tests.unit.emulator.vias_support import ACCOUNT, POOL, PROJECT, TIMING

Params = dict[str, str] | MultiDict[str]


def filled(count: int) -> ViasStore:
    """`count` algorithms `s00`, `s01`, ... put one per tick in PROJECT (their records are
    created in that order)."""
    clock = Clock()
    s = ViasStore(TIMING, clock=clock)
    for i in range(count):
        s.put_algorithm(ACCOUNT, PROJECT, f"s{i:02d}", f"s{i:02d}")
        clock.now += 0.25
    return s


def names(s: ViasStore, params: Params | None = None, **more: str) -> tuple[list[str], int]:
    query = ServiceQuery.from_params(params if params is not None else more)
    page, total = s.list_services(ACCOUNT, PROJECT, query)
    return [svc.spec.name for svc in page], total


def test_without_paging_everything_comes_in_one_answer_newest_first() -> None:
    s = filled(25)
    everything, total = names(s)
    assert total == 25 and everything == [f"s{i:02d}" for i in range(24, -1, -1)]
    assert names(s, is_paged="false", page_size="5") == (everything, 25)  # not applied
    assert names(s, order_by="asc")[0] == everything[::-1]


def test_pages_are_page_numbers_of_page_size() -> None:
    s = filled(25)
    assert names(s, is_paged="true") == ([f"s{i:02d}" for i in range(24, 14, -1)], 25)
    assert names(s, is_paged="true", page_size="5", page_num="2") == (
        ["s19", "s18", "s17", "s16", "s15"],
        25,
    )
    assert names(s, is_paged="TRUE", page_size="10", page_num="3")[0] == [
        "s04",
        "s03",
        "s02",
        "s01",
        "s00",
    ]
    assert names(s, is_paged="true", page_num="4") == ([], 25)
    assert names(s, is_paged="true", page_size="200", order_by="asc")[0][:2] == ["s00", "s01"]


def test_ties_are_broken_by_service_id_so_paging_is_deterministic() -> None:
    s = ViasStore(TIMING, clock=Clock())  # every record created at the same instant
    for i in range(12):
        s.put_algorithm(ACCOUNT, PROJECT, f"t{i:02d}", "same")
    page, _ = s.list_services(ACCOUNT, PROJECT, ServiceQuery())
    ids = [svc.service_id for svc in page]
    assert ids == sorted(ids, reverse=True)
    paged = []
    for num in ("1", "2", "3"):
        query = ServiceQuery.from_params({"is_paged": "true", "page_size": "5", "page_num": num})
        paged += [svc.service_id for svc in s.list_services(ACCOUNT, PROJECT, query)[0]]
    assert paged == ids


def test_function_version_orders_as_a_version() -> None:
    s = filled(4)
    for alg_id, version in (("s00", "1.10"), ("s01", "1.9"), ("s02", "2.0"), ("s03", "1.9.1")):
        s.put_algorithm(ACCOUNT, PROJECT, alg_id, alg_id, function_version=version)
    assert names(s, sort_name="function_version", order_by="asc")[0] == [
        "s01",
        "s03",
        "s00",
        "s02",
    ]
    assert names(s, sort_name="function_version")[0] == ["s02", "s00", "s03", "s01"]
    assert version_key("1.10") > version_key("1.9.1") > version_key("1.9") > version_key("1")


def test_name_like_is_a_case_insensitive_substring() -> None:
    s = ViasStore(TIMING, clock=Clock())
    s.put_algorithm(ACCOUNT, PROJECT, "a-1", "Intrusion Detection")
    s.put_algorithm(ACCOUNT, PROJECT, "a-2", "Crowd Detection")
    s.put_algorithm(ACCOUNT, PROJECT, "a-3", "Crowd Counting")
    assert sorted(names(s, name_like="DETECT")[0]) == ["Crowd Detection", "Intrusion Detection"]
    assert names(s, name_like="counting") == (["Crowd Counting"], 1)
    assert names(s, name_like="nothing") == ([], 0)


def test_alg_status_as_repeated_keys_or_csv() -> None:
    clock = Clock()
    s = ViasStore(TIMING, clock=clock)
    for alg_id in ("a-run", "a-dep", "a-new"):
        s.put_algorithm(ACCOUNT, PROJECT, alg_id, alg_id)
    s.deploy(ACCOUNT, PROJECT, "a-run", {"stream_count": 1, "pool_id": POOL})
    clock.now += 4
    s.deploy(ACCOUNT, PROJECT, "a-dep", {"stream_count": 1, "pool_id": POOL})
    assert names(s, alg_status="service_running") == (["a-run"], 1)
    repeated = MultiDict([("alg_status", "service_deploying"), ("alg_status", "not_deployed")])
    assert sorted(names(s, repeated)[0]) == ["a-dep", "a-new"]
    assert sorted(names(s, alg_status="service_running,not_deployed")[0]) == ["a-new", "a-run"]
    mixed = MultiDict([("alg_status", "service_running,service_deploying"), ("alg_status", "")])
    assert names(s, mixed)[1] == 2
    assert names(s, alg_status="")[1] == 3  # empty: no filter
    assert names(s, alg_status="service_finished") == ([], 0)
    # The filter and paging together: total counts the matches, count the page.
    paged = MultiDict(
        [
            ("alg_status", "service_running"),
            ("alg_status", "not_deployed"),
            ("is_paged", "true"),
            ("page_size", "5"),
        ]
    )
    page, total = names(s, paged)
    assert (sorted(page), total) == (["a-new", "a-run"], 2)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page_size": "4"}, "page_size"),
        ({"page_size": "201"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page_num": "0"}, "page_num"),
        ({"page_num": "10001"}, "page_num"),
        ({"page_num": "-1"}, "page_num"),
        ({"is_paged": "yes"}, "is_paged"),
        ({"order_by": "DESC"}, "order_by"),
        ({"order_by": "up"}, "order_by"),
        ({"sort_name": "name"}, "sort_name"),
        ({"alg_status": "running"}, "alg_status"),
        ({"alg_status": "service_running,SERVICE_STOPPED"}, "alg_status"),
    ],
)
def test_refused_queries_name_the_parameter(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(ApiError) as raised:
        ServiceQuery.from_params(params)
    assert (raised.value.status, raised.value.code) == (400, "VIAS.00010001")
    assert parameter in raised.value.message


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "5", "page_num": "1"},
        {"page_size": "200", "page_num": "10000"},
        {"is_paged": "false", "order_by": "asc", "sort_name": "function_version"},
    ],
)
def test_queries_at_the_edges_are_accepted(params: dict[str, str]) -> None:
    query = ServiceQuery.from_params(params)
    assert 5 <= query.page_size <= 200 and 1 <= query.page_num <= 10000
