"""The Fabric adapter's capacity check with a stand-in client (no HTTP): an instance that
does not fit is refused with the numbers and no deploy; whoever waits for room on an endpoint
is woken when one of ours on it goes or shrinks (not left to its next timed check); an
endpoint is read once for a burst of checks, and read anew after the cloud's own refusal."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import pytest

from cloudinfer.adapters.base import CallContext, Drift, ManagedResource, Observation
from cloudinfer.adapters.fabric import FabricServiceInstanceAdapter
from cloudinfer.api.serviceinstance import ServiceInstanceSpec
from cloudinfer.clouds.huawei.fabric import EndpointCapacityExceeded, FabricEndpoint
from cloudinfer.clouds.huawei.fabric.models import ServiceInstance
from cloudinfer.observer.batch import BatchObserver, ListResult

WS, EP = "ws-1", "ep-1"
CTX = CallContext(region="cn-north-4", workspace_id=WS)


class Client:
    """What the adapter calls, answered from memory; counts the calls."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.instances: dict[str, ServiceInstance] = {}
        self.calls: list[str] = []
        self.refuse_next = False

    async def show_endpoint(self, workspace: str, endpoint_id: str) -> FabricEndpoint:
        self.calls.append("ShowEndpoint")
        return FabricEndpoint(id=endpoint_id, type="inference", mu_max=self.limit)

    async def deploy_instance(self, workspace: str, body: dict[str, Any]) -> str:
        self.calls.append("DeployServiceInstance")
        if self.refuse_next:
            self.refuse_next = False
            raise EndpointCapacityExceeded("no room", code="common.01000030")
        instance_id = f"i-{len(self.instances)}"
        high = body["config"]["model_instance_config"]["resource"]["max"]
        self.instances[instance_id] = ServiceInstance(
            id=instance_id, endpoint_id=EP, status="RUNNING", resource_max=high
        )
        return instance_id

    async def delete_instance(self, workspace: str, instance_id: str) -> None:
        self.calls.append("DeleteServiceInstance")
        self.instances.pop(instance_id, None)

    async def update_instance(self, workspace: str, instance_id: str, **fields: Any) -> None:
        self.calls.append("UpdateServiceInstance")

    async def list_all_instances(
        self, workspace: str, **filters: Any
    ) -> tuple[list[ServiceInstance], int]:
        return list(self.instances.values()), 1


class Source:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def list_all(self) -> ListResult[ServiceInstance]:
        return ListResult(list(self.client.instances.values()), 1)

    async def describe(self, key: str) -> ServiceInstance | None:
        return self.client.instances.get(key)

    def key_of(self, item: ServiceInstance) -> str:
        return item.id

    def owner_of(self, item: ServiceInstance) -> str | None:
        return None

    def fingerprint(self, item: ServiceInstance) -> object:
        return item

    def transition(self, item: ServiceInstance) -> str | None:
        return None


def resource(name: str, high: int, instance_id: str = "") -> ManagedResource:
    spec = ServiceInstanceSpec.model_validate(
        {
            "providerConfigRef": {"name": "pc"},
            "endpointId": EP,
            "source": {"id": "m-1"},
            "resource": {"min": 1, "max": high, "specCode": "mu.x"},
        }
    )
    return ManagedResource(
        "ServiceInstance", "ns", name, f"uid-{name}", 1, spec, name, external_id=instance_id
    )


@pytest.fixture
def told() -> list[Hashable]:
    return []


def adapter(client: Client, told: list[Hashable]) -> FabricServiceInstanceAdapter:
    observer: BatchObserver[ServiceInstance, Hashable] = BatchObserver(
        "test", Source(client), lambda key, _settled: told.append(key)
    )
    return FabricServiceInstanceAdapter(client, observer, WS)  # type: ignore[arg-type]


async def test_a_waiting_instance_is_woken_when_another_goes(told: list[Hashable]) -> None:
    client = Client(limit=4)
    fabric = adapter(client, told)
    first = resource("first", 3)
    first_id = await fabric.create(first, CTX)
    second = resource("second", 2)
    with pytest.raises(EndpointCapacityExceeded) as refused:
        await fabric.create(second, CTX)
    assert "room for 1 of its 4 units" in refused.value.message
    assert "asks for max 2, other instances hold 3" in refused.value.message
    assert client.calls.count("DeployServiceInstance") == 1
    assert told == []

    await fabric.delete(resource("first", 3, first_id), CTX)
    assert told == [second.key]  # woken now
    await fabric.delete(resource("first", 3, first_id), CTX)
    assert told == [second.key]  # once: nobody waits any more
    assert await fabric.create(second, CTX)


async def test_a_waiting_instance_is_woken_when_another_shrinks(told: list[Hashable]) -> None:
    client = Client(limit=4)
    fabric = adapter(client, told)
    big = resource("big", 4)
    big_id = await fabric.create(big, CTX)
    with pytest.raises(EndpointCapacityExceeded):
        await fabric.create(resource("small", 1), CTX)
    grown = Observation(exists=True, instances={"min": 1, "max": 4})
    await fabric.update(resource("big", 3, big_id), CTX, _drift(grown))
    assert told == [resource("small", 1).key]


async def test_the_endpoint_is_read_once_for_many_checks_and_anew_after_a_refusal(
    told: list[Hashable],
) -> None:
    client = Client(limit=100)
    fabric = adapter(client, told)
    for i in range(5):
        await fabric.create(resource(f"r{i}", 1), CTX)
    assert client.calls.count("ShowEndpoint") == 1
    client.refuse_next = True  # the cloud knows better (another tenant filled it)
    with pytest.raises(EndpointCapacityExceeded):
        await fabric.create(resource("late", 1), CTX)
    await fabric.create(resource("later", 1), CTX)
    assert client.calls.count("ShowEndpoint") == 2


def _drift(observation: Observation) -> Observation:
    return replace(observation, drift=(Drift("resource.max", 4, 3),))
