"""The shared request pipeline: faults come first and answer in the cloud's own error shape;
the cloud's verifier decides who is calling; handler failures keep that shape; every call is
logged with the account that signed it. Exercised with a made-up cloud that writes errors as
the Huawei APIs do, to show nothing in the pipeline is EAS's, and with EAS itself."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import cloudinfer.emulator as emulator_package
from cloudinfer.emulator.app import Emulator, EmulatorConfig
from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.faults import FaultRule, Faults
from cloudinfer.emulator.pipeline import ApiError, Dialect, Pipeline, Reply, SignedRequest


@dataclass(frozen=True)
class Caller:
    account: str


def verify(request: SignedRequest) -> Caller:
    """Stands in for a signature algorithm: the account is named in a header."""
    account = request.headers.get("x-account")
    if not account:
        raise ApiError(401, "APIGW.0301", "Incorrect IAM authentication information")
    return Caller(account[0])


def huawei_error(exc: ApiError, request_id: str) -> web.Response:
    return web.json_response(
        {"error_code": exc.code, "error_msg": exc.message},
        status=exc.status,
        headers={**exc.headers, "X-Request-Id": request_id},
    )


def huawei_ok(reply: Reply, request_id: str) -> web.Response:
    return web.json_response(
        reply.body, status=reply.status, headers={**reply.headers, "X-Request-Id": request_id}
    )


HUAWEI_LIKE = Dialect(
    cloud="huawei-like",
    error=huawei_error,
    ok=huawei_ok,
    throttle=lambda seconds: ApiError(
        429, "APIGW.0308", "throttled", {"Retry-After": str(seconds)}
    ),
    target=lambda request, _: request.match_info.get("id", ""),
    internal_error_code="SYS.0500",
    request_id=lambda: "req-1",
)


@dataclass
class World:
    http: TestClient[web.Request, web.Application]
    faults: Faults
    calls: CallLog
    handled: list[str]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    faults, calls, handled = Faults(), CallLog(), []
    pipeline = Pipeline(HUAWEI_LIKE, verify, faults, calls)

    async def show(request: web.Request, caller: Caller) -> Reply | dict[str, Any]:
        handled.append(request.match_info["id"])
        if request.match_info["id"] == "boom":
            raise RuntimeError("a bug in a handler")
        return Reply({"id": request.match_info["id"], "owner": caller.account}, status=202)

    app = web.Application()
    app.add_routes([web.get("/v1/things/{id}", pipeline.route("ShowThing", show))])
    async with TestClient(TestServer(app)) as http:
        yield World(http, faults, calls, handled)


SIGNED = {"X-Account": "acct-1"}


async def test_success_is_written_by_the_dialect_and_logged_with_the_account(
    world: World,
) -> None:
    response = await world.http.get("/v1/things/t1", headers=SIGNED)
    assert response.status == 202 and response.headers["X-Request-Id"] == "req-1"
    assert await response.json() == {"id": "t1", "owner": "acct-1"}
    [call] = world.calls.query()
    assert (call["cloud"], call["operation"], call["status"], call["code"]) == (
        "huawei-like",
        "ShowThing",
        202,
        "",
    )
    assert (call["target"], call["account"]) == ("t1", "acct-1")


async def test_an_error_fault_answers_in_the_clouds_shape_before_anything_else(
    world: World,
) -> None:
    world.faults.add(FaultRule(kind="error", status=503, code="SYS.0503", message="down"))
    response = await world.http.get("/v1/things/t1")  # unsigned: faults come first
    assert response.status == 503 and response.headers["X-Request-Id"] == "req-1"
    assert await response.json() == {"error_code": "SYS.0503", "error_msg": "down"}
    assert not world.handled
    [call] = world.calls.query()
    assert (call["status"], call["code"], call["account"]) == (503, "SYS.0503", "")


async def test_throttling_is_the_clouds_own_answer(world: World) -> None:
    world.faults.add(FaultRule(kind="throttle", seconds=2.6, count=1))
    throttled = await world.http.get("/v1/things/t1", headers=SIGNED)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "3"
    assert (await throttled.json())["error_code"] == "APIGW.0308"
    assert (await world.http.get("/v1/things/t1", headers=SIGNED)).status == 202  # count=1
    assert [c["code"] for c in world.calls.query()] == ["APIGW.0308", ""]


async def test_the_verifier_refuses_and_nothing_is_handled(world: World) -> None:
    response = await world.http.get("/v1/things/t1")
    assert response.status == 401
    assert (await response.json())["error_code"] == "APIGW.0301"
    assert not world.handled
    [call] = world.calls.query()
    assert (call["code"], call["account"]) == ("APIGW.0301", "")


async def test_a_handler_bug_is_a_server_error_in_the_clouds_shape(world: World) -> None:
    response = await world.http.get("/v1/things/boom", headers=SIGNED)
    assert response.status == 500
    assert (await response.json())["error_code"] == "SYS.0500"
    [call] = world.calls.query()
    assert (call["code"], call["account"]) == ("SYS.0500", "acct-1")


async def test_a_dropped_response_is_committed_first(world: World) -> None:
    world.faults.add(FaultRule(kind="drop-response", count=1))
    with pytest.raises(aiohttp.ClientError):
        await world.http.get("/v1/things/t1", headers=SIGNED)
    assert world.handled == ["t1"]
    [call] = world.calls.query()
    assert (call["status"], call["account"]) == (202, "acct-1")


async def test_eas_errors_keep_the_eas_shape() -> None:
    emulator = Emulator(EmulatorConfig())
    async with TestClient(TestServer(emulator.app())) as http:
        unsigned = await http.get("/api/v2/services")
        assert unsigned.status == 400
        body = await unsigned.json()
        assert set(body) == {"RequestId", "Code", "Message", "Recommend", "HostId"}
        assert body["Code"] == "MissingAuthorization"

        emulator.faults.add(FaultRule(kind="throttle", operation="ListServices", seconds=4))
        throttled = await http.get("/api/v2/services")
        assert throttled.status == 429 and throttled.headers["x-acs-retry-after"] == "4"
        assert (await throttled.json())["Code"] == "Throttling.User"
    assert [(c["cloud"], c["account"]) for c in emulator.calls.query()] == [
        ("alibaba-eas", ""),
        ("alibaba-eas", ""),
    ]


def test_the_emulator_shares_no_code_with_the_clients() -> None:
    """The emulator checks the operator's clients; importing them would let one bug hide in
    both (DESIGN.md: client and emulator share no code)."""
    package = Path(emulator_package.__file__).parent
    imported: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert imported and not {m for m in imported if m.startswith("cloudinfer.clouds")}
