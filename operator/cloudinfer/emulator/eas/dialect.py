"""How PAI-EAS writes its answers: successes carry `RequestId` in the body; refusals are
`{RequestId, Code, Message, Recommend, HostId}`; throttling is 429 `Throttling.User` with
`x-acs-retry-after` (the header the official SDK turns into a ThrottlingException)."""

from __future__ import annotations

import json

from aiohttp import web

from cloudinfer.emulator.pipeline import ApiError, Dialect, Reply

CLOUD = "alibaba-eas"
HOST_ID = "pai-eas.emulator"


def error(exc: ApiError, request_id: str) -> web.Response:
    body = {
        "RequestId": request_id,
        "Code": exc.code,
        "Message": exc.message,
        "Recommend": "",
        "HostId": HOST_ID,
    }
    return web.json_response(body, status=exc.status, headers=exc.headers)


def ok(reply: Reply, request_id: str) -> web.Response:
    return web.json_response(
        {"RequestId": request_id, **reply.body}, status=reply.status, headers=reply.headers
    )


def throttle(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "Throttling.User",
        "Request was denied due to user flow control.",
        {"x-acs-retry-after": str(retry_after)},
    )


def target(request: web.Request, body: bytes) -> str:
    """The service a call is about: from the path, or CreateService's body."""
    name = request.match_info.get("name")
    if name:
        return name
    try:
        parsed = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return str(parsed.get("name", "")) if isinstance(parsed, dict) else ""


EAS = Dialect(cloud=CLOUD, error=error, ok=ok, throttle=throttle, target=target)
