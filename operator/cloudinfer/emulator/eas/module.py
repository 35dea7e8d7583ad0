"""The PAI-EAS module: its store (persisted as eas.json), its routes behind the shared
pipeline with the EAS dialect and the ACS3 verifier, and its admin routes."""

from __future__ import annotations

from aiohttp import web

from cloudinfer.emulator.eas.acs3 import Acs3Verifier
from cloudinfer.emulator.eas.dialect import EAS
from cloudinfer.emulator.eas.routes import EasApi
from cloudinfer.emulator.eas.store import EasStore
from cloudinfer.emulator.modules import Shared, attach_state
from cloudinfer.emulator.pipeline import Pipeline


class EasModule:
    name = "eas"

    def __init__(self, shared: Shared) -> None:
        config = shared.config
        self.store = EasStore(config.timing)
        self.state = attach_state(shared, self.name, self.store)
        verifier = Acs3Verifier(config.access_keys)
        self.pipeline = Pipeline(EAS, verifier.check, shared.faults, shared.calls)
        self.api = EasApi(self.store, config.region)

    def routes(self) -> list[web.RouteDef]:
        return self.api.routes(self.pipeline)

    def admin_routes(self, prefix: str) -> list[web.RouteDef]:
        return [
            web.get(f"{prefix}/services", self._services),
            web.delete(f"{prefix}/services", self._reset),
        ]

    async def _services(self, request: web.Request) -> web.Response:
        """Every service of every account (or of `?account=`), as DescribeService shows it."""
        chosen = self.store.all(request.query.get("account"))
        return web.json_response([svc.to_api(self.store.host_id) for svc in chosen])

    async def _reset(self, _: web.Request) -> web.Response:
        self.store.reset()
        return web.json_response({"ok": True})
