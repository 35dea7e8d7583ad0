"""What a cloud module is to the app: its API routes (served through the shared pipeline),
its admin routes, and its state file. The app registers one builder per cloud (app.MODULES)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from cloudinfer.emulator.calls import CallLog
from cloudinfer.emulator.config import EmulatorConfig
from cloudinfer.emulator.faults import Faults
from cloudinfer.emulator.persist import StateFile


@dataclass(frozen=True)
class Shared:
    """What every module is built from: the configuration, and the fault rules and call log
    all clouds share (a fault for `*` hits every cloud; the call log has every call)."""

    config: EmulatorConfig
    faults: Faults
    calls: CallLog

    def state_file(self, name: str, snapshot: Callable[[], Any]) -> StateFile | None:
        """`STATE_DIR/NAME.json`, or None when the emulator keeps no state on disk."""
        if self.config.state_dir is None:
            return None
        return StateFile(
            self.config.state_dir / f"{name}.json", snapshot, self.config.persist_interval
        )


class PersistentStore(Protocol):
    on_change: Callable[[], None]

    def to_state(self) -> Any: ...

    def restore(self, state: dict[str, Any] | None) -> None: ...


def attach_state(shared: Shared, name: str, store: PersistentStore) -> StateFile | None:
    """Restore `store` from `STATE_DIR/NAME.json` and have it saved when it changes; None
    when the emulator keeps no state on disk."""
    state = shared.state_file(name, store.to_state)
    if state is not None:
        saved = state.read()
        store.restore(saved if isinstance(saved, dict) else None)
        store.on_change = state.mark_dirty
    return state


class CloudModule(Protocol):
    name: str  # its admin routes live under /_emulator/NAME; its state in NAME.json
    state: StateFile | None

    def routes(self) -> list[web.RouteDef]: ...

    def admin_routes(self, prefix: str) -> list[web.RouteDef]: ...


ModuleBuilder = Callable[[Shared], CloudModule]
