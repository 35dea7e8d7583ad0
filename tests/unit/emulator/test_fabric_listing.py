"""ListServicesInstances and ListEndpoints in the store: Fabric's paging (record `offset`,
`limit` 1-100, default 10), the create_time and duration orders, every filter, and the
refused queries."""

from __future__ import annotations

import pytest

from cloudinfer.emulator.fabric.listing import EndpointQuery, InstanceQuery
from cloudinfer.emulator.fabric.store import FabricStore
from cloudinfer.emulator.pipeline import ApiError
from tests.unit.emulator.fabric_support import ACCOUNT, ENDPOINT, SPEC, WORKSPACE, deploy, store
from tests.unit.emulator.helpers import Clock


def names(s: FabricStore, **params: str) -> tuple[list[str], int]:
    page, total = s.list_instances(ACCOUNT, WORKSPACE, InstanceQuery.from_params(params))
    return [i.name for i in page], total


def filled(count: int) -> FabricStore:
    """`count` instances `s00`, `s01`, ... deployed one per tick, on a big endpoint."""
    s, clock = store(limit=1000)
    for i in range(count):
        deploy(s, f"s{i:02d}", 1)
        clock.now += 0.25
    return s


def test_paging_is_a_record_offset_with_newest_first_by_default() -> None:
    s = filled(25)
    first, total = names(s)
    assert total == 25 and first == [f"s{i:02d}" for i in range(24, 14, -1)]  # limit 10
    assert names(s, offset="3", limit="2") == (["s21", "s20"], 25)
    assert names(s, offset="24", limit="100")[0] == ["s00"]
    assert names(s, offset="25") == ([], 25)
    assert names(s, order_by="ASC", limit="3")[0] == ["s00", "s01", "s02"]
    # Duration grows with age: the longest-running first is the oldest first.
    assert names(s, sort_by="DURATION", order_by="DESC", limit="2")[0] == ["s00", "s01"]
    assert names(s, sort_by="DURATION", order_by="ASC", limit="2")[0] == ["s24", "s23"]


def test_filters() -> None:
    s, clock = store(limit=1000)
    s.put_endpoint(ACCOUNT, WORKSPACE, "ep-2", SPEC, 10)
    a = deploy(s, "Chat Model", source="m-a")
    clock.now += 1  # instances deployed in the same millisecond are ordered by id
    deploy(s, "chat-small", source="m-b", endpoint="ep-2")
    clock.now += 1
    deploy(s, "embedder", source="m-a")
    assert names(s, name="CHAT", order_by="ASC") == (["Chat Model", "chat-small"], 2)
    assert names(s, endpoint_id="ep-2") == (["chat-small"], 1)
    assert names(s, source_id="m-a", order_by="ASC") == (["Chat Model", "embedder"], 2)
    assert names(s, version_id="v-1")[1] == 3 and names(s, version_id="v-2")[1] == 0
    assert names(s, type="LLM_MODEL")[1] == 3 and names(s, type="PGSQL_SERVICE")[1] == 0
    assert names(s, visibility="PRIVATE")[1] == 3 and names(s, visibility="PUBLIC")[1] == 0
    assert names(s, id=a.instance_id) == (["Chat Model"], 1)
    assert names(s, id=a.instance_id, name="embed") == ([], 0)
    assert names(s, id="no-such-id") == ([], 0)
    assert names(s, id=a.instance_id, offset="1") == ([], 1)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "1000000001"},
        {"sort_by": "NAME"},
        {"order_by": "asc"},
        {"type": "llm_model"},
        {"visibility": "ALL"},
    ],
)
def test_refused_instance_queries(params: dict[str, str]) -> None:
    with pytest.raises(ApiError) as raised:
        InstanceQuery.from_params(params)
    assert (raised.value.status, raised.value.code) == (400, "common.01000001")
    assert next(iter(params)) in raised.value.message


def test_list_endpoints_pages_and_filters() -> None:
    clock = Clock()
    s, _ = store(clock)
    for i in range(3):
        clock.now += 1
        s.put_endpoint(ACCOUNT, WORKSPACE, f"ray-{i}", SPEC, 5, type_="ray", name=f"Ray {i}")
    s.put_endpoint("other", WORKSPACE, "theirs", SPEC, 5)
    deploy(s, source="m-z")

    def ids(**params: str) -> tuple[list[str], int]:
        page, total = s.list_endpoints(ACCOUNT, WORKSPACE, EndpointQuery.from_params(params))
        return [ep.endpoint_id for ep in page], total

    assert ids() == (["ray-2", "ray-1", "ray-0", ENDPOINT], 4)  # newest first
    assert ids(offset="1", limit="2") == (["ray-1", "ray-0"], 4)
    assert ids(type="inference") == ([ENDPOINT], 1)
    assert ids(name="ray ", limit="1") == (["ray-2"], 3)
    assert ids(endpoint_id="ray-0") == (["ray-0"], 1)
    assert ids(model_id="m-z") == ([ENDPOINT], 1)
    assert ids(visibility="PUBLIC") == ([], 0)
    assert ids(visibility="ALL")[1] == ids(visibility="PRIVATE")[1] == 4
    assert s.list_endpoints(ACCOUNT, "ws-2", EndpointQuery()) == ([], 0)
    for bad in ({"type": "INFERENCE"}, {"limit": "101"}, {"visibility": "SHARED"}):
        with pytest.raises(ApiError):
            EndpointQuery.from_params(bad)
