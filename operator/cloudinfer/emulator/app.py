"""The emulator's web application: one module per cloud API, plus an admin API under /_emulator.

Cloud APIs go through the shared request pipeline (pipeline.py): faults → signature check →
handler → call log. Each module registers itself with one line in MODULES.

Admin API. Served to loopback peers only, unless an admin token is configured
(`--admin-token`, EmulatorConfig.admin_token): then every admin request, from anywhere,
needs `Authorization: Bearer TOKEN`.
  GET    /_emulator/health
  GET    /_emulator/faults              the active fault rules
  POST   /_emulator/faults              add a rule (JSON, fields as in faults.FaultRule)
  DELETE /_emulator/faults[/{id}]       remove all rules, or one
  GET    /_emulator/calls?operation=&since=&account=&cloud=   the call log (what was answered,
                                        with codes, and the account that signed each call)
  DELETE /_emulator/calls
  GET    /_emulator/timing, PUT /_emulator/timing   state-machine durations in seconds
  GET    /_emulator/eas/services[?account=]   every EAS service of every account (or of one)
  DELETE /_emulator/eas/services        forget every EAS service
  /_emulator/modelarts/...              ModelArts services, instance health, quota
                                        (modelarts/module.py)
  /_emulator/fabric/...                 DataArts Fabric instances, and the inference
                                        endpoints they deploy on (fabric/module.py)
  /_emulator/vias/...                   VIAS algorithms and their service records; force a
                                        service's status (vias/module.py)

State (`--state-dir`): each module's state is written at most once a second while it changes
and once more on shutdown (persist.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

from aiohttp import web

from cloudinfer.emulator.admin import PREFIX, AdminApi, admin_guard
from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.config import (
    DEV_ACCESS_KEY,
    AccessKey,
    EmulatorConfig,
    parse_access_key,
)
from cloudinfer.emulator.eas.module import EasModule
from cloudinfer.emulator.eas.store import EasStore
from cloudinfer.emulator.fabric.module import FabricModule
from cloudinfer.emulator.fabric.store import FabricStore
from cloudinfer.emulator.faults import Faults
from cloudinfer.emulator.modelarts.module import ModelArtsModule
from cloudinfer.emulator.modelarts.store import ModelArtsStore
from cloudinfer.emulator.modules import CloudModule, ModuleBuilder, Shared
from cloudinfer.emulator.vias.module import ViasModule
from cloudinfer.emulator.vias.store import ViasStore

__all__ = [
    "DEV_ACCESS_KEY",
    "MODULES",
    "AccessKey",
    "Emulator",
    "EmulatorConfig",
    "EmulatorThread",
    "parse_access_key",
    "run",
]

# One line per emulated cloud API.
MODULES: tuple[ModuleBuilder, ...] = (EasModule, ModelArtsModule, FabricModule, ViasModule)


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = Faults()
        for rule in config.faults:
            self.faults.add(rule)
        self.calls = CallLog()
        shared = Shared(config, self.faults, self.calls)
        self.modules: dict[str, CloudModule] = {}
        for build in MODULES:
            module = build(shared)
            self.modules[module.name] = module

    @property
    def eas_store(self) -> EasStore:
        """The EAS services, for tests that look behind the API."""
        module = self.modules[EasModule.name]
        if not isinstance(module, EasModule):
            raise TypeError(f"module {EasModule.name!r} is a {type(module).__name__}")
        return module.store

    @property
    def modelarts_store(self) -> ModelArtsStore:
        """The ModelArts services, for tests that look behind the API."""
        module = self.modules[ModelArtsModule.name]
        if not isinstance(module, ModelArtsModule):
            raise TypeError(f"module {ModelArtsModule.name!r} is a {type(module).__name__}")
        return module.store

    @property
    def fabric_store(self) -> FabricStore:
        """The DataArts Fabric instances and endpoints, for tests that look behind the API."""
        module = self.modules[FabricModule.name]
        if not isinstance(module, FabricModule):
            raise TypeError(f"module {FabricModule.name!r} is a {type(module).__name__}")
        return module.store

    @property
    def vias_store(self) -> ViasStore:
        """The VIAS algorithms and service records, for tests that look behind the API."""
        module = self.modules[ViasModule.name]
        if not isinstance(module, ViasModule):
            raise TypeError(f"module {ViasModule.name!r} is a {type(module).__name__}")
        return module.store

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=16 * 1024 * 1024, middlewares=[admin_guard(self.config.admin_token)]
        )
        app.add_routes(AdminApi(self.faults, self.calls, self.config.timing).routes(PREFIX))
        for module in self.modules.values():
            app.add_routes(module.routes())
            app.add_routes(module.admin_routes(f"{PREFIX}/{module.name}"))
        app.cleanup_ctx.append(self._persistence)
        return app

    async def _persistence(self, _: web.Application) -> AsyncIterator[None]:
        """Write state files in the background while serving, and once more at shutdown."""
        states = [m.state for m in self.modules.values() if m.state is not None]
        tasks = [asyncio.create_task(state.run()) for state in states]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for state in states:
            state.flush()


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
