"""Helpers for the VIAS emulator's unit tests: a store on a clock the test moves, with one
algorithm in the test project and one of every project, and DeployAlgorithm bodies."""

from __future__ import annotations

from typing import Any

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.vias.listing import ServiceQuery
from cloudinfer.emulator.vias.service import Service
from cloudinfer.emulator.vias.store import ViasStore
from tests.unit.emulator.helpers import Clock

ACCOUNT = "acct"
PROJECT = "p1"
ALG = "alg-1"  # offered in PROJECT only
EVERYWHERE = "alg-all"  # offered in every project of ACCOUNT
POOL = "pool-1"
TIMING = Timing(deploy_seconds=4, update_seconds=2, stop_seconds=2, delete_seconds=2)


def store(clock: Clock | None = None) -> tuple[ViasStore, Clock]:
    clock = clock or Clock()
    s = ViasStore(Timing(**TIMING.__dict__), clock=clock)
    s.put_algorithm(ACCOUNT, PROJECT, ALG, "Intrusion Detection")
    s.put_algorithm(ACCOUNT, None, EVERYWHERE, "Crowd Counting")
    return s, clock


def body(stream_count: Any = 4, pool_id: Any = POOL, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"stream_count": stream_count, **extra}
    if pool_id is not None:
        out["pool_id"] = pool_id
    return out


def deploy(
    s: ViasStore,
    alg_id: str = ALG,
    *,
    account: str = ACCOUNT,
    project: str = PROJECT,
    **fields: Any,
) -> Service:
    return s.deploy(account, project, alg_id, body(**fields))


def service(s: ViasStore, alg_id: str = ALG, project: str = PROJECT) -> Service:
    """The algorithm's record in the project, through the listing (as a client finds it)."""
    page, _ = s.list_services(ACCOUNT, project, ServiceQuery())
    (found,) = [svc for svc in page if svc.alg_id == alg_id]
    return s.get(ACCOUNT, project, found.service_id)


_DROP = object()


def _with(**changes: Any) -> dict[str, Any]:
    out = body()
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


# DeployAlgorithm bodies the API refuses (400 VIAS.00010001), each naming a parameter.
INVALID_DEPLOYS: dict[str, tuple[Any, str]] = {
    "body-not-an-object": ([body()], "body"),
    "stream-count-missing": (_with(stream_count=_DROP), "stream_count"),
    "stream-count-null": (_with(stream_count=None), "stream_count"),
    "stream-count-0": (_with(stream_count=0), "stream_count"),
    "stream-count-10001": (_with(stream_count=10001), "stream_count"),
    "stream-count-string": (_with(stream_count="4"), "stream_count"),
    "stream-count-bool": (_with(stream_count=True), "stream_count"),
    "stream-count-float": (_with(stream_count=2.5), "stream_count"),
    "pool-id-65": (_with(pool_id="p" * 65), "pool_id"),
    "pool-id-underscore": (_with(pool_id="pool_1"), "pool_id"),
    "pool-id-number": (_with(pool_id=7), "pool_id"),
    "deploy-config-list": (_with(deploy_config=["a"]), "deploy_config"),
    "deploy-config-string": (_with(deploy_config="a=b"), "deploy_config"),
    "envs-list": (_with(envs=["A=b"]), "envs"),
    "envs-number-value": (_with(envs={"A": 1}), "envs"),
    "envs-object-value": (_with(envs={"A": {"b": "c"}}), "envs"),
}

# DeployAlgorithm bodies at the edges the API accepts.
VALID_DEPLOYS: dict[str, dict[str, Any]] = {
    "stream-count-1": _with(stream_count=1),
    "stream-count-10000": _with(stream_count=10000),
    "pool-id-64": _with(pool_id="p" * 64),
    "deploy-config-nested": _with(deploy_config={"sub_scene": "common", "roi": [[0, 0], [1, 1]]}),
    "deploy-config-empty": _with(deploy_config={}),
    "envs-strings": _with(envs={"LOG_LEVEL": "debug", "EMPTY": ""}),
    "nulls-are-not-sent": _with(deploy_config=None, envs=None),
    "unknown-field-ignored": _with(color="red"),
}
