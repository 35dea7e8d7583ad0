"""Running Argo CD health checks (deploy/argocd/resource_customizations) as Argo CD does.

Argo CD runs a health.lua in gopher-lua (Lua 5.1) with the object as global `obj`, converted
from its unstructured form: every number a float, null absent. Scripts configured in argocd-cm
run in a sandbox with only the package, base and table libraries and an os library reduced to
time/date: no string or math library, so no `s:upper()` either. Argo CD's own test harness runs
scripts with open libraries instead, so a script can pass there and fail in argocd-cm: we run
every case both ways, with lupa's Lua 5.1. Read from argoproj/argo-cd util/lua/lua.go and
oslib_safe.go; see also /work/shared/reference/shipping.md section 2."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lupa import lua51

ROOT = Path(__file__).resolve().parents[1]
CUSTOMIZATIONS = ROOT / "deploy" / "argocd" / "resource_customizations"
GROUP = "cloudinfer.io"
KINDS = (
    "InferenceService",
    "ServiceInstance",
    "AlgorithmService",
    "ProviderConfig",
    "ClusterProviderConfig",
)
# gitops-engine's HealthStatusCode values; anything else Argo CD turns into Unknown.
VALID_STATUSES = frozenset(
    {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
)
# Argo CD cancels a health script after one second.
TIMEOUT_SECONDS = 1.0

# Run first in the sandboxed runtime. lupa always opens every library, so take away what
# gopher-lua with SkipOpenLibs never loads; the string metatable's __index is what makes
# s:upper() work, so it goes too. `python` is lupa's bridge, which Argo CD has no equivalent of.
_SANDBOX = """
local time, date = os.time, os.date
getmetatable("").__index = nil
for _, name in ipairs({"string", "math", "io", "debug", "coroutine", "python"}) do
  _G[name] = nil
  package.loaded[name] = nil
end
os = {time = time, date = date}
package.loaded.os = os
"""


@dataclass(frozen=True)
class Health:
    status: str
    message: str


class _StringsLoader(yaml.SafeLoader):
    """YAML as Argo CD reads it (sigs.k8s.io/yaml, via JSON): timestamps stay strings."""


_StringsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> Any:
    # A SafeLoader subclass: builds plain data only.
    return yaml.load(path.read_text(), Loader=_StringsLoader)


def as_argo_sees_it(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object after Argo CD's JSON round trip: integers become floats."""
    result: dict[str, Any] = json.loads(json.dumps(obj), parse_int=float)
    return result


def script(kind: str) -> str:
    return (CUSTOMIZATIONS / GROUP / kind / "health.lua").read_text()


def _to_lua(lua: Any, value: Any) -> Any:
    # As decodeValue in Argo CD's lua.go: maps by key, lists appended in order (a nil item is
    # skipped, as gopher-lua's Append does), null is nil.
    if isinstance(value, Mapping):
        table = lua.table()
        for key, item in value.items():
            if item is not None:
                table[key] = _to_lua(lua, item)
        return table
    if isinstance(value, list):
        return lua.table(*(_to_lua(lua, item) for item in value if item is not None))
    if isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return float(value)
    raise TypeError(f"no Lua value for {type(value).__name__}")


def evaluate(source: str, obj: Mapping[str, Any], *, open_libs: bool) -> Health:
    """The health `source` returns for `obj`, as returned: an invalid status is not replaced
    by Unknown here, so that tests see it. Raises on a Lua error or a result that is not a
    table of strings (both an error in Argo CD too)."""
    lua = lua51.LuaRuntime(register_eval=False, register_builtins=False)
    if not open_libs:
        lua.execute(_SANDBOX)
    lua.globals().obj = _to_lua(lua, as_argo_sees_it(obj))
    started = time.monotonic()
    result = lua.execute(source)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_SECONDS, f"took {elapsed:.2f}s; Argo CD stops a script after 1s"
    if result is None:
        return Health("", "")  # Argo CD: an empty health status
    if lua51.lua_type(result) != "table":
        raise TypeError(f"expect table output from Lua script, not {lua51.lua_type(result)}")
    status, message = result["status"], result["message"]
    if not isinstance(status, str) or not isinstance(message, str | None):
        raise TypeError(f"status and message must be strings: {status!r}, {message!r}")
    return Health(status, message or "")


def cases(kind: str) -> list[tuple[Path, Health]]:
    """The (object file, expected health) pairs of a kind's health_test.yaml."""
    folder = CUSTOMIZATIONS / GROUP / kind
    spec = load_yaml(folder / "health_test.yaml")
    return [
        (
            folder / case["inputPath"],
            Health(case["healthStatus"]["status"], case["healthStatus"].get("message", "")),
        )
        for case in spec["tests"]
    ]
