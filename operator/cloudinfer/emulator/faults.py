"""Fault injection: rules set by CLI flags or at runtime through the admin endpoint.

A rule applies to one operation (or `*`) of one cloud (or `*`: the call log's cloud names,
e.g. `alibaba-eas`, `huawei-modelarts`, `huawei-fabric`; several clouds share operation
names), fires with probability `rate`, at most `count` times (unlimited when absent), and is
one of:
  latency        sleep `seconds` before handling
  error          answer `status` with `code`/`message` in the cloud's error shape, unhandled
  throttle       answer as the cloud throttles, retry after `seconds`, unhandled (EAS: 429
                 Throttling.User with header x-acs-retry-after)
  timeout        hold the request `seconds` (default 120) before handling, so clients time out
  drop-response  handle the request (commit), then drop the connection without an answer
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["latency", "error", "throttle", "timeout", "drop-response"]
KINDS: tuple[str, ...] = ("latency", "error", "throttle", "timeout", "drop-response")


@dataclass
class FaultRule:
    kind: FaultKind
    operation: str = "*"
    cloud: str = "*"
    rate: float = 1.0
    count: int | None = None
    seconds: float = 0.0
    status: int = 500
    code: str = "InternalError"
    message: str = "injected fault"
    id: int = 0

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        """`kind=error,operation=CreateService,rate=0.5,status=503,code=ServiceUnavailable`"""
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault {text!r}: expected key=value, got {part!r}")
            values[key.strip()] = value.strip()
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaultRule:
        known = {f for f in cls.__dataclass_fields__ if f != "id"}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        if values.get("kind") not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}")
        rule = cls(kind=values["kind"])
        for name in ("operation", "cloud", "code", "message"):
            if name in values:
                setattr(rule, name, str(values[name]))
        for name, convert in (("rate", float), ("seconds", float), ("status", int)):
            if name in values:
                setattr(rule, name, convert(values[name]))
        if values.get("count") not in (None, ""):
            rule.count = int(values["count"])
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        if rule.kind == "timeout" and not rule.seconds:
            rule.seconds = 120.0
        return rule

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=random.Random)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            return len(self.rules) != before

    def fire(self, operation: str, cloud: str = "*") -> list[FaultRule]:
        """The rules that apply to this request (consuming their counts)."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in list(self.rules):
                if rule.operation not in ("*", operation) or rule.cloud not in ("*", cloud):
                    continue
                if self._random.random() >= rule.rate:
                    continue
                fired.append(rule)
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self.rules.remove(rule)
        return fired
