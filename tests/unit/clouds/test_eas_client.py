"""EasClient against the emulator over HTTP: operations, typed errors, retry safety,
throttling honoured across calls, rate limiting, metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from cloudinfer.clouds import errors
from cloudinfer.clouds.alibaba.eas import EasClient
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.credentials import Credentials
from cloudinfer.emulator.app import EmulatorConfig, EmulatorThread, parse_access_key
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule
from tests.support import async_wait_for

DEV = Credentials(
    access_key_id="dev-access-key-id", access_key_secret=SecretStr("dev-access-key-secret")
)
FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    keys = [
        parse_access_key("dev-access-key-id:dev-access-key-secret"),
        parse_access_key("other-id:other-secret::other-account"),
    ]
    timing = Timing(deploy_seconds=0.5, update_seconds=0.2, stop_seconds=0.2, delete_seconds=0.2)
    with EmulatorThread(EmulatorConfig(port=0, timing=timing, access_keys=keys)) as emu:
        yield emu


def make(emu: EmulatorThread, creds: Credentials = DEV, **kwargs: object) -> EasClient:
    kwargs.setdefault("policy", FAST)
    return EasClient("cn-shanghai", creds, endpoint=emu.url, **kwargs)  # type: ignore[arg-type]


CONFIG = {
    "name": "svc",
    "processor": "tensorflow_cpu",
    "metadata": {"instance": 2, "cpu": 1, "memory": 1000},
}


def calls(emu: EmulatorThread, operation: str) -> list[dict[str, object]]:
    return emu.emulator.calls.query(operation)


async def test_operations(emulator: EmulatorThread) -> None:
    client = make(emulator)
    created = await client.create_service(CONFIG, labels={"team": "推理 a+b"}, workspace_id="ws1")
    assert created["ServiceName"] == "svc"
    svc = await client.describe_service("svc")
    assert svc.labels == {"team": "推理 a+b"} and svc.config["processor"] == "tensorflow_cpu"
    assert svc.access_token.get_secret_value() and "SecretStr" in repr(svc.access_token)
    await client.clone_service("svc", {"name": "svc_clone"}, labels={"a": "b"})
    page = await client.list_services(page_size=1)
    assert page.total_count == 2 and len(page.services) == 1
    everything, list_calls = await client.list_all_services(page_size=1)
    assert {s.name for s in everything} == {"svc", "svc_clone"} and list_calls == 2
    await client.update_service("svc", {"metadata": {"instance": 3}})
    assert (await client.describe_service("svc")).current_version == 2
    await client.update_service_version("svc", 1)  # roll back to the first config
    rolled_back = await client.describe_service("svc")
    assert rolled_back.current_version == 1 and rolled_back.config["metadata"]["instance"] == 2
    await client.update_autoscaler("svc", 1, 3, [{"metricName": "qps", "threshold": 5}])
    await client.stop_service("svc")
    assert (await client.describe_service("svc")).status == "Stopping"
    events = await client.describe_service_events("svc")
    assert any(e["Reason"] == "Stopping" for e in events)
    await client.delete_service("svc_clone")
    await client.aclose()


async def test_typed_errors(emulator: EmulatorThread) -> None:
    client = make(emulator)
    with pytest.raises(errors.NotFound):
        await client.describe_service("missing")
    await client.create_service(CONFIG)
    with pytest.raises(errors.Conflict):
        await client.create_service(CONFIG)
    other = make(
        emulator, Credentials(access_key_id="other-id", access_key_secret=SecretStr("other-secret"))
    )
    with pytest.raises(errors.Forbidden) as owned:
        await other.create_service(CONFIG)
    assert owned.value.code == "Forbidden.PrivilegeCheckFailed"
    assert owned.value.transient and not owned.value.terminal  # an admin fixes it: retried
    with pytest.raises(errors.Invalid) as invalid:
        await client.create_service({"name": "Bad-Name", "processor": "p"})
    assert invalid.value.terminal and "Bad-Name" in invalid.value.message
    bad = make(
        emulator,
        Credentials(access_key_id="dev-access-key-id", access_key_secret=SecretStr("nope")),
    )
    with pytest.raises(errors.AuthFailed) as auth:
        await bad.describe_service("svc")
    assert auth.value.code == "SignatureDoesNotMatch" and "nope" not in str(auth.value)


async def test_server_errors_are_retried_only_when_idempotent(emulator: EmulatorThread) -> None:
    client = make(emulator)
    emulator.emulator.faults.add(
        FaultRule(
            kind="error",
            operation="DescribeService",
            count=2,
            status=503,
            code="ServiceUnavailable",
        )
    )
    with pytest.raises(errors.NotFound):  # two 503s retried, then the real answer
        await client.describe_service("svc")
    assert [c["status"] for c in calls(emulator, "DescribeService")] == [503, 503, 404]

    emulator.emulator.faults.add(
        FaultRule(kind="error", operation="CreateService", count=1, status=500)
    )
    with pytest.raises(errors.ServerError):
        await client.create_service(CONFIG)
    assert len(calls(emulator, "CreateService")) == 1  # a create is never blindly repeated


async def test_lost_create_answer_is_not_retried(emulator: EmulatorThread) -> None:
    client = make(emulator)
    emulator.emulator.faults.add(
        FaultRule(kind="drop-response", operation="CreateService", count=1)
    )
    with pytest.raises(errors.TransportError) as lost:
        await client.create_service(CONFIG)
    assert lost.value.maybe_committed
    assert len(calls(emulator, "CreateService")) == 1
    assert (await client.describe_service("svc")).name == "svc"  # it was committed


async def test_timeouts_are_transport_errors(emulator: EmulatorThread) -> None:
    client = make(emulator, timeout=0.3, policy=RetryPolicy(attempts=1))
    emulator.emulator.faults.add(
        FaultRule(kind="timeout", operation="ListServices", count=1, seconds=2)
    )
    with pytest.raises(errors.TransportError):
        await client.list_services()


async def test_throttling_pauses_every_call_to_the_account(emulator: EmulatorThread) -> None:
    limiter = RateLimiter(100, 100)
    client = make(emulator, limiter=limiter)
    other_client_same_account = make(emulator, limiter=limiter)
    emulator.emulator.faults.add(
        FaultRule(kind="throttle", operation="ListServices", count=1, seconds=1)
    )
    listing = asyncio.create_task(client.list_services())

    def throttled() -> list[dict[str, object]]:
        return [c for c in emulator.emulator.calls.query() if c["status"] == 429]

    await async_wait_for(throttled, 10, "the throttled answer")
    # A call that starts after the 429 waits out retry-after, whichever client makes it.
    with pytest.raises(errors.NotFound):
        await other_client_same_account.describe_service("x")
    await listing
    first_429 = float(throttled()[0]["time"])  # type: ignore[arg-type]
    later = [c for c in emulator.emulator.calls.query() if float(c["time"]) > first_429]  # type: ignore[arg-type]
    assert {c["operation"] for c in later} == {"ListServices", "DescribeService"}
    assert all(float(c["time"]) >= first_429 + 0.95 for c in later), later  # type: ignore[arg-type]


async def test_long_retry_after_is_handed_back(emulator: EmulatorThread) -> None:
    client = make(emulator)
    emulator.emulator.faults.add(
        FaultRule(kind="throttle", operation="ListServices", count=1, seconds=30)
    )
    with pytest.raises(errors.Throttled) as throttled:
        await client.list_services()
    assert throttled.value.retry_after == 30
    assert client.transport.limiter.delay() > 25


async def test_rate_limiter_spaces_calls() -> None:
    limiter = RateLimiter(qps=20, burst=2)
    started = time.monotonic()
    for _ in range(6):
        await limiter.acquire()
    # 2 from the burst, then 4 at 20/s.
    assert time.monotonic() - started >= 4 / 20 * 0.9


async def test_metrics_count_calls(emulator: EmulatorThread) -> None:
    def value(code: str) -> float:
        return (
            REGISTRY.get_sample_value(
                "cloudinfer_cloud_requests_total",
                {"cloud": "alibaba-eas", "operation": "DescribeService", "code": code},
            )
            or 0.0
        )

    before_ok, before_missing = value("OK"), value("InvalidService.NotFound")
    client = make(emulator)
    await client.create_service(CONFIG)
    await client.describe_service("svc")
    with pytest.raises(errors.NotFound):
        await client.describe_service("missing")
    assert value("OK") == before_ok + 1 and value("InvalidService.NotFound") == before_missing + 1
