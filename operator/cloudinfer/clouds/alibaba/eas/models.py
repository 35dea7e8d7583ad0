"""The parts of EAS's Service object the operator uses, parsed once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class EasService:
    name: str
    service_id: str
    status: str
    reason: str = ""
    message: str = ""
    region: str = ""
    total_instances: int = 0
    running_instances: int = 0
    pending_instances: int = 0
    internet_endpoint: str = ""
    intranet_endpoint: str = ""
    access_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    config: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    update_time: str = ""
    current_version: int = 0
    autoscaler_enabled: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> EasService:
        try:
            config = json.loads(data.get("ServiceConfig") or "{}")
        except json.JSONDecodeError:
            config = {}
        labels = {
            str(x.get("LabelKey")): str(x.get("LabelValue", ""))
            for x in data.get("Labels") or []
            if isinstance(x, dict)
        }
        return cls(
            name=str(data.get("ServiceName", "")),
            service_id=str(data.get("ServiceId", "")),
            status=str(data.get("Status", "")),
            reason=str(data.get("Reason") or ""),
            message=str(data.get("Message") or ""),
            region=str(data.get("Region") or ""),
            total_instances=_int(data.get("TotalInstance")),
            running_instances=_int(data.get("RunningInstance")),
            pending_instances=_int(data.get("PendingInstance")),
            internet_endpoint=str(data.get("InternetEndpoint") or ""),
            intranet_endpoint=str(data.get("IntranetEndpoint") or ""),
            access_token=SecretStr(str(data.get("AccessToken") or "")),
            config=config if isinstance(config, dict) else {},
            labels=labels,
            update_time=str(data.get("UpdateTime") or ""),
            current_version=_int(data.get("CurrentVersion")),
            autoscaler_enabled=bool(data.get("AutoscalerEnabled")),
        )


@dataclass(frozen=True)
class ServicePage:
    services: list[EasService]
    page_number: int
    page_size: int
    total_count: int
