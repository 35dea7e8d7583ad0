"""What an emulator is started with: where it listens, whose keys it accepts, timing, faults."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule

DEFAULT_ACCOUNT = "emulator-account"
# The DataArts Fabric workspace of a `--fabric-endpoint` that names none.
DEFAULT_FABRIC_WORKSPACE = "default"
FABRIC_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")  # Fabric's ids: workspaces, endpoints, ...
FABRIC_MU_MAX = 1000  # an inference endpoint's maximum is 1-1000 resource units
VIAS_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")  # VIAS algorithm ids (and resource pool ids)
VIAS_PROJECT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a project id named by `--vias-algorithm`
VIAS_NAME_MAX = 64


@dataclass(frozen=True)
class AccessKey:
    """One accepted credential. Keys naming the same account see the same services."""

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None  # set for temporary (STS) credentials
    account: str = DEFAULT_ACCOUNT  # what the cloud calls the caller's uid


DEV_ACCESS_KEY = AccessKey("dev-access-key-id", "dev-access-key-secret")


@dataclass(frozen=True)
class FabricEndpoint:
    """A DataArts Fabric inference endpoint the emulator serves from the start
    (`--fabric-endpoint`): its id, its resource specification and maximum (`mu`), and the
    workspace and account it belongs to."""

    endpoint_id: str
    spec_code: str
    max: int
    workspace: str = DEFAULT_FABRIC_WORKSPACE
    account: str = DEFAULT_ACCOUNT
    min: int = 0


@dataclass(frozen=True)
class ViasAlgorithm:
    """A VIAS algorithm the account has from the start (`--vias-algorithm`): its id and name,
    the project it is offered in (None: every project of the account) and the account."""

    alg_id: str
    name: str
    project: str | None = None
    account: str = DEFAULT_ACCOUNT


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 18080
    region: str = "cn-shanghai"
    access_keys: list[AccessKey] = field(default_factory=lambda: [DEV_ACCESS_KEY])
    # Huawei IAM tokens (`X-Auth-Token`) the Huawei APIs accept: token → account.
    iam_tokens: dict[str, str] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)
    state_dir: Path | None = None
    faults: list[FaultRule] = field(default_factory=list)
    # With a token every admin request must carry it; without one only loopback peers are served.
    admin_token: str | None = None
    # The shortest time between two writes of a state file (mutations in between coalesce).
    persist_interval: float = 1.0
    # DataArts Fabric inference endpoints that exist from the start (`--fabric-endpoint`).
    fabric_endpoints: list[FabricEndpoint] = field(default_factory=list)
    # VIAS algorithms the accounts have from the start (`--vias-algorithm`).
    vias_algorithms: list[ViasAlgorithm] = field(default_factory=list)


def parse_access_key(text: str) -> AccessKey:
    """`ID:SECRET[:SECURITY_TOKEN[:ACCOUNT]]`"""
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"access key {text!r}: expected ID:SECRET[:TOKEN[:ACCOUNT]]")
    token = parts[2] if len(parts) > 2 and parts[2] else None
    account = parts[3] if len(parts) > 3 and parts[3] else DEFAULT_ACCOUNT
    return AccessKey(parts[0], parts[1], token, account)


def parse_iam_token(text: str) -> tuple[str, str]:
    """`TOKEN[:ACCOUNT]` → (token, account): an IAM token the Huawei APIs accept."""
    token, _, account = text.partition(":")
    if not token:
        raise ValueError(f"IAM token {text!r}: expected TOKEN[:ACCOUNT]")
    return token, account or DEFAULT_ACCOUNT


def parse_fabric_endpoint(text: str) -> FabricEndpoint:
    """`ID:SPEC:MAX[:WORKSPACE[:ACCOUNT]]`: an inference endpoint of MAX units of SPEC (e.g.
    `ep-1:mu.llama3.8b:8`); WORKSPACE defaults to `default`, ACCOUNT to the default account."""
    usage = "expected ID:SPEC:MAX[:WORKSPACE[:ACCOUNT]]"
    parts = text.split(":")
    if not 3 <= len(parts) <= 5:
        raise ValueError(f"fabric endpoint {text!r}: {usage}")
    endpoint_id, spec_code, max_text = parts[:3]
    workspace = parts[3] if len(parts) > 3 and parts[3] else DEFAULT_FABRIC_WORKSPACE
    account = parts[4] if len(parts) > 4 and parts[4] else DEFAULT_ACCOUNT
    if not FABRIC_ID.match(endpoint_id):
        raise ValueError(f"fabric endpoint {text!r}: ID must be 1-36 letters, digits or '-'")
    if not FABRIC_ID.match(workspace):
        raise ValueError(f"fabric endpoint {text!r}: WORKSPACE must be 1-36 letters, digits or '-'")
    if not 1 <= len(spec_code) <= 64:
        raise ValueError(f"fabric endpoint {text!r}: SPEC must be 1-64 characters")
    if not max_text.isdigit() or not 1 <= int(max_text) <= FABRIC_MU_MAX:
        raise ValueError(f"fabric endpoint {text!r}: MAX must be an integer in [1, 1000]")
    return FabricEndpoint(endpoint_id, spec_code, int(max_text), workspace, account)


def parse_vias_algorithm(text: str) -> ViasAlgorithm:
    """`ID:NAME[:PROJECT[:ACCOUNT]]`: an algorithm of the account's VIAS catalogue (e.g.
    `alg-1:Intrusion Detection`); without PROJECT it is offered in every project of the
    account, ACCOUNT defaults to the default account."""
    usage = "expected ID:NAME[:PROJECT[:ACCOUNT]]"
    parts = text.split(":")
    if not 2 <= len(parts) <= 4:
        raise ValueError(f"vias algorithm {text!r}: {usage}")
    alg_id, name = parts[:2]
    project = parts[2] if len(parts) > 2 and parts[2] else None
    account = parts[3] if len(parts) > 3 and parts[3] else DEFAULT_ACCOUNT
    if not VIAS_ID.match(alg_id):
        raise ValueError(f"vias algorithm {text!r}: ID must be 1-64 letters, digits or '-'")
    if not name.strip() or len(name) > VIAS_NAME_MAX:
        raise ValueError(f"vias algorithm {text!r}: NAME must be 1-{VIAS_NAME_MAX} characters")
    if project is not None and not VIAS_PROJECT.match(project):
        raise ValueError(
            f"vias algorithm {text!r}: PROJECT must be 1-64 letters, digits, '-' or '_'"
        )
    return ViasAlgorithm(alg_id, name, project, account)
