"""The admin API every cloud shares (health, faults, call log, timing) and who may use it.

Who: the admin API changes what the emulator answers and shows every account's services, so
  * with an admin token configured, every admin request must carry
    `Authorization: Bearer TOKEN` (loopback included); otherwise 401;
  * without one, only loopback peers are served; others get 403.
The peer is the TCP peer: forwarding headers are not trusted."""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule, Faults

PREFIX = "/_emulator"


def is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1 on a dual-stack socket
    return address.is_loopback


def admin_refusal(remote: str | None, authorization: str | None, token: str | None) -> int | None:
    """The HTTP status refusing an admin request, or None to serve it."""
    if token is None:
        return None if is_loopback(remote) else 403
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return None
    return 401


def admin_guard(token: str | None) -> Middleware:
    """Applies `admin_refusal` to every path under /_emulator; cloud APIs pass untouched."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            status = admin_refusal(request.remote, request.headers.get("Authorization"), token)
            if status == 401:
                return web.json_response(
                    {"error": "admin token required"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="cloudinfer-emulator"'},
                )
            if status == 403:
                return web.json_response(
                    {"error": "the admin API is served to loopback clients only"}, status=403
                )
        return await handler(request)

    return guard


class AdminApi:
    def __init__(self, faults: Faults, calls: CallLog, timing: Timing) -> None:
        self.faults, self.calls, self.timing = faults, calls, timing

    def routes(self, prefix: str = PREFIX) -> list[web.RouteDef]:
        return [
            web.get(f"{prefix}/health", self._health),
            web.get(f"{prefix}/faults", self._faults),
            web.post(f"{prefix}/faults", self._add_fault),
            web.delete(f"{prefix}/faults", self._clear_faults),
            web.delete(f"{prefix}/faults/{{id:\\d+}}", self._remove_fault),
            web.get(f"{prefix}/calls", self._calls),
            web.delete(f"{prefix}/calls", self._clear_calls),
            web.get(f"{prefix}/timing", self._get_timing),
            web.put(f"{prefix}/timing", self._set_timing),
        ]

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _faults(self, _: web.Request) -> web.Response:
        return web.json_response([r.to_dict() for r in self.faults.rules])

    async def _add_fault(self, request: web.Request) -> web.Response:
        try:
            rule = self.faults.add(FaultRule.from_dict(await request.json()))
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(rule.to_dict(), status=201)

    async def _clear_faults(self, _: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})

    async def _remove_fault(self, request: web.Request) -> web.Response:
        found = self.faults.remove(int(request.match_info["id"]))
        return web.json_response({"ok": found}, status=200 if found else 404)

    async def _calls(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            since = float(q.get("since") or 0)
        except ValueError:
            return web.json_response({"error": "since must be a number"}, status=400)
        calls = self.calls.query(q.get("operation"), since, q.get("account"), q.get("cloud"))
        return web.json_response(calls)

    async def _clear_calls(self, _: web.Request) -> web.Response:
        self.calls.clear()
        return web.json_response({"ok": True})

    async def _get_timing(self, _: web.Request) -> web.Response:
        return web.json_response(dataclasses.asdict(self.timing))

    async def _set_timing(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        for key, value in body.items():
            if not hasattr(self.timing, key):
                return web.json_response({"error": f"unknown timing {key}"}, status=400)
            setattr(self.timing, key, float(value))
        return web.json_response(dataclasses.asdict(self.timing))
