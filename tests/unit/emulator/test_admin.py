"""Who may use the admin API: without a token, loopback peers only; with one, whoever sends
it, from anywhere, and nobody without it. Cloud APIs are never affected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cloudinfer.emulator.admin import admin_refusal, is_loopback
from cloudinfer.emulator.app import Emulator, EmulatorConfig

REMOTE = "203.0.113.7"


@pytest.mark.parametrize(
    ("remote", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        (REMOTE, False),
        ("::ffff:203.0.113.7", False),
        ("", False),
        (None, False),
        ("not-an-address", False),
    ],
)
def test_loopback(remote: str | None, loopback: bool) -> None:
    assert is_loopback(remote) is loopback


def test_the_rule() -> None:
    assert admin_refusal("127.0.0.1", None, None) is None
    assert admin_refusal(REMOTE, None, None) == 403
    assert admin_refusal(REMOTE, "Bearer s3cret", "s3cret") is None
    assert admin_refusal("127.0.0.1", None, "s3cret") == 401  # a token binds loopback too
    assert admin_refusal("127.0.0.1", "Bearer wrong", "s3cret") == 401
    assert admin_refusal("127.0.0.1", "Basic s3cret", "s3cret") == 401


def from_peer(remote: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware making every request look as if it came from `remote` (the test client
    itself is always on loopback)."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await handler(request.clone(remote=remote))

    return middleware


async def serve(token: str | None, remote: str | None) -> TestClient[web.Request, web.Application]:
    app = Emulator(EmulatorConfig(admin_token=token)).app()
    if remote is not None:
        app.middlewares.insert(0, from_peer(remote))
    return TestClient(TestServer(app))


@pytest.mark.parametrize(
    ("token", "remote", "headers", "status"),
    [
        (None, None, {}, 200),
        (None, REMOTE, {}, 403),
        (None, REMOTE, {"Authorization": "Bearer anything"}, 403),
        ("s3cret", None, {}, 401),
        ("s3cret", REMOTE, {}, 401),
        ("s3cret", REMOTE, {"Authorization": "Bearer s3cret"}, 200),
        ("s3cret", None, {"Authorization": "Bearer s3cret"}, 200),
    ],
    ids=[
        "loopback",
        "remote",
        "remote-with-a-token-nobody-configured",
        "token-missing",
        "remote-token-missing",
        "remote-with-token",
        "loopback-with-token",
    ],
)
async def test_the_admin_api(
    token: str | None, remote: str | None, headers: dict[str, str], status: int
) -> None:
    async with await serve(token, remote) as http:
        for method, path in (
            ("GET", "/_emulator/health"),
            ("GET", "/_emulator/calls"),
            ("DELETE", "/_emulator/eas/services"),
        ):
            response = await http.request(method, path, headers=headers)
            assert response.status == status, (method, path)


async def test_cloud_apis_are_not_guarded_by_the_admin_rule() -> None:
    async with await serve("s3cret", REMOTE) as http:
        response = await http.get("/api/v2/services")  # refused by the signature check
        assert response.status == 400
        assert (await response.json())["Code"] == "MissingAuthorization"


def test_the_token_is_a_flag() -> None:
    from cloudinfer.cli import build_parser

    assert build_parser().parse_args(["emulator"]).admin_token is None
    assert build_parser().parse_args(["emulator", "--admin-token=t"]).admin_token == "t"
