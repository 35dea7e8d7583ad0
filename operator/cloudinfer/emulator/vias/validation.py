"""The checks of DeployAlgorithm's body (`DeployServiceReq`, reference/huawei.md §6; the Java
SDK's model) and of the path's ids, each refused with 400 VIAS.00010001 naming the
parameter, and the normalized body the store keeps.

  * `stream_count`: required, a JSON integer (not a string, not a boolean) in [1, 10000];
  * `pool_id`: optional here (the store requires it for a first deployment), 1-64 letters,
    digits and `-` when sent; an empty string counts as not sent [a guess];
  * `deploy_config`: optional, a JSON object of anything (`Map<String, Object>`);
  * `envs`: optional, a JSON object of strings (`Map<String, String>`).

A JSON null counts as not sent; unknown fields are ignored, as a JSON binding does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudinfer.emulator.config import VIAS_ID
from cloudinfer.emulator.vias.errors import invalid

STREAM_MIN, STREAM_MAX = 1, 10_000


@dataclass(frozen=True)
class DeployBody:
    stream_count: int
    pool_id: str | None = None  # None: not sent
    deploy_config: dict[str, Any] | None = None
    envs: dict[str, str] | None = None


def check_id(value: Any, name: str) -> str:
    """An algorithm (or pool) id: 1-64 letters, digits and `-`."""
    if not isinstance(value, str):
        raise invalid(name, "it must be a string.")
    if not VIAS_ID.match(value):
        raise invalid(name, "it must be 1 to 64 characters: letters, digits and hyphens (-).")
    return value


def check_stream_count(value: Any) -> int:
    if value is None:
        raise invalid("stream_count", "it is required.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("stream_count", "it must be an integer.")
    if not STREAM_MIN <= value <= STREAM_MAX:
        raise invalid("stream_count", f"it must be in [{STREAM_MIN}, {STREAM_MAX}], got {value}.")
    return value


def _envs(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid("envs", "it must be an object of strings.")
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid("envs", f"the value of {key} must be a string.")
    return dict(value)


def check_deploy(raw: Any) -> DeployBody:
    body = {} if raw is None else raw
    if not isinstance(body, dict):
        raise invalid("body", "it must be a JSON object.")
    stream_count = check_stream_count(body.get("stream_count"))
    pool = body.get("pool_id")
    pool_id = None if pool in (None, "") else check_id(pool, "pool_id")
    config = body.get("deploy_config")
    if config is not None and not isinstance(config, dict):
        raise invalid("deploy_config", "it must be a JSON object.")
    envs = None if body.get("envs") is None else _envs(body["envs"])
    return DeployBody(stream_count, pool_id, config, envs)
