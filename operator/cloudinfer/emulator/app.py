"""The emulator's web application: cloud APIs plus an admin API under /_emulator.

Admin API (unauthenticated; bind to loopback):
  GET    /_emulator/health
  GET    /_emulator/faults              the active fault rules
  POST   /_emulator/faults              add a rule (JSON, fields as in faults.FaultRule)
  DELETE /_emulator/faults[/{id}]       remove all rules, or one
  GET    /_emulator/calls?operation=&since=   the call log (what was answered, with codes)
  DELETE /_emulator/calls
  GET    /_emulator/timing, PUT /_emulator/timing   state-machine durations in seconds
  GET    /_emulator/eas/services        every EAS service (as DescribeService shows it)
  DELETE /_emulator/eas/services        forget every EAS service
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.eas.acs3 import AccessKey, Acs3Verifier
from cloudinfer.emulator.eas.routes import EasApi
from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.eas.store import EasStore
from cloudinfer.emulator.faults import FaultRule, Faults

DEV_ACCESS_KEY = AccessKey("dev-access-key-id", "dev-access-key-secret")


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 18080
    region: str = "cn-shanghai"
    access_keys: list[AccessKey] = field(default_factory=lambda: [DEV_ACCESS_KEY])
    timing: Timing = field(default_factory=Timing)
    state_dir: Path | None = None
    faults: list[FaultRule] = field(default_factory=list)


def parse_access_key(text: str) -> AccessKey:
    """`ID:SECRET[:SECURITY_TOKEN[:ACCOUNT]]`"""
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"access key {text!r}: expected ID:SECRET[:TOKEN[:ACCOUNT]]")
    token = parts[2] if len(parts) > 2 and parts[2] else None
    account = parts[3] if len(parts) > 3 and parts[3] else "emulator-account"
    return AccessKey(parts[0], parts[1], token, account)


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = Faults()
        for rule in config.faults:
            self.faults.add(rule)
        self.calls = CallLog()
        state_file = config.state_dir / "eas.json" if config.state_dir else None
        self.eas_store = EasStore(config.timing, state_file)
        self.eas = EasApi(
            self.eas_store, Acs3Verifier(config.access_keys), self.faults, self.calls, config.region
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.add_routes(self.eas.routes())
        admin = "/_emulator"
        app.add_routes(
            [
                web.get(f"{admin}/health", self._health),
                web.get(f"{admin}/faults", self._faults),
                web.post(f"{admin}/faults", self._add_fault),
                web.delete(f"{admin}/faults", self._clear_faults),
                web.delete(f"{admin}/faults/{{id}}", self._remove_fault),
                web.get(f"{admin}/calls", self._calls),
                web.delete(f"{admin}/calls", self._clear_calls),
                web.get(f"{admin}/timing", self._timing),
                web.put(f"{admin}/timing", self._set_timing),
                web.get(f"{admin}/eas/services", self._eas_services),
                web.delete(f"{admin}/eas/services", self._eas_reset),
            ]
        )
        return app

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
        since = float(request.query.get("since") or 0)
        return web.json_response(self.calls.query(request.query.get("operation"), since))

    async def _clear_calls(self, _: web.Request) -> web.Response:
        self.calls.clear()
        return web.json_response({"ok": True})

    async def _timing(self, _: web.Request) -> web.Response:
        return web.json_response(dataclasses.asdict(self.config.timing))

    async def _set_timing(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        for key, value in body.items():
            if not hasattr(self.config.timing, key):
                return web.json_response({"error": f"unknown timing {key}"}, status=400)
            setattr(self.config.timing, key, float(value))
        return web.json_response(dataclasses.asdict(self.config.timing))

    async def _eas_services(self, _: web.Request) -> web.Response:
        services = [s.to_api(self.eas_store.host_id) for s in self.eas_store.list()]
        return web.json_response(services)

    async def _eas_reset(self, _: web.Request) -> web.Response:
        self.eas_store.reset()
        return web.json_response({"ok": True})


def run(config: EmulatorConfig) -> None:
    """Serve until interrupted (`cloudinfer emulator`)."""
    emulator = Emulator(config)
    web.run_app(
        emulator.app(),
        host=config.host,
        port=config.port,
        print=None,
        access_log=None,
        handle_signals=True,
    )


class EmulatorThread:
    """The emulator on a free loopback port in a background thread (for tests that drive it
    with the vendor SDKs in-process)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig(port=0)
        self.emulator = Emulator(self.config)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EmulatorThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.emulator.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.config.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
