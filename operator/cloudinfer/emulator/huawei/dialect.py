"""How the Huawei Cloud APIs write their answers (ModelArts; DataArts Fabric, which adds
`solution_msg` to some refusals in fabric/module.py; VIAS uses the same shape): refusals are
`{"error_code": "...", "error_msg": "..."}` with the request id in an `X-Request-Id` header;
the API gateway's own refusals (`APIGW.*`: signature, token, throttling) also carry
`request_id` in the body; successes are the bare JSON body plus the header. Throttling is the
gateway's 429 `APIGW.0308` with `Retry-After`."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from aiohttp import web

from cloudinfer.emulator.pipeline import ApiError, Dialect, Reply

THROTTLE_CODE = "APIGW.0308"


def error(exc: ApiError, request_id: str) -> web.Response:
    body = {"error_code": exc.code, "error_msg": exc.message}
    if exc.code.startswith("APIGW."):
        body["request_id"] = request_id
    return web.json_response(
        body, status=exc.status, headers={**exc.headers, "X-Request-Id": request_id}
    )


def ok(reply: Reply, request_id: str) -> web.Response:
    return web.json_response(
        reply.body, status=reply.status, headers={**reply.headers, "X-Request-Id": request_id}
    )


def throttle(retry_after: int) -> ApiError:
    return ApiError(
        429,
        THROTTLE_CODE,
        "The throttling threshold has been reached: policy user over ratelimit",
        {"Retry-After": str(retry_after)},
    )


def huawei_dialect(
    cloud: str,
    target: Callable[[web.Request, bytes], str],
    internal_error_code: str,
) -> Dialect:
    """One Huawei API's dialect: its call-log name, what a call is about, its 500 code."""
    return Dialect(
        cloud=cloud,
        error=error,
        ok=ok,
        throttle=throttle,
        target=target,
        internal_error_code=internal_error_code,
        request_id=lambda: uuid.uuid4().hex,  # Huawei's ids are 32 lower-case hex digits
    )
