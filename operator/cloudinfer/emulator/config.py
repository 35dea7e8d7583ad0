"""What an emulator is started with: where it listens, whose keys it accepts, timing, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cloudinfer.emulator.eas.service import Timing
from cloudinfer.emulator.faults import FaultRule

DEFAULT_ACCOUNT = "emulator-account"


@dataclass(frozen=True)
class AccessKey:
    """One accepted credential. Keys naming the same account see the same services."""

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None  # set for temporary (STS) credentials
    account: str = DEFAULT_ACCOUNT  # what the cloud calls the caller's uid


DEV_ACCESS_KEY = AccessKey("dev-access-key-id", "dev-access-key-secret")


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
