"""The query of ListUserServices (reference/huawei.md §6; the Java SDK's
ListUserServicesRequest): paging, order and filters, read from the request and applied to
Service objects directly (nothing is rendered to decide a match).

  * `is_paged`: `true` or `false` (any case), default false: every match in one answer, and
    `page_size` / `page_num` are then checked but not applied;
  * `page_size` in [5, 200] (default 10), `page_num` in [1, 10000] (default 1; a page number,
    not a record offset);
  * `order_by` asc or desc (default desc), `sort_name` created_at or function_version
    (default created_at). Ties are broken by service_id, so paging is deterministic; desc
    reverses the whole order, tie-break included. function_version compares as a version
    (`1.10` after `1.9`) [a guess: the docs do not say];
  * `name_like`: a case-insensitive substring of the service name [a guess, as Fabric's];
  * `alg_status`: any of the nine statuses, sent as repeated keys (what the Python core sends
    for a list) or comma-separated (the Java SDK's model is a list; whether the server also
    takes CSV is unconfirmed, so both are accepted); several values match any of them.

Every refusal is 400 VIAS.00010001 naming the parameter. The answer's `count` is the number
of items in it, `total` the number matching."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import MultiMapping

from cloudinfer.emulator.vias.errors import invalid
from cloudinfer.emulator.vias.service import STATUSES, Service

DEFAULT_PAGE_SIZE = 10
PAGE_SIZE_MIN, PAGE_SIZE_MAX = 5, 200
PAGE_NUM_MIN, PAGE_NUM_MAX = 1, 10_000
ORDERS = ("asc", "desc")
SORT_NAMES = ("created_at", "function_version")
_VERSION_PART = re.compile(r"\d+|\D+")

Params = Mapping[str, str] | MultiMapping[str]


def _values(params: Params, name: str) -> list[str]:
    """Every value sent for `name` (a plain mapping has one at most)."""
    if isinstance(params, MultiMapping):
        return list(params.getall(name, []))
    value = params.get(name)
    return [] if value is None else [value]


def _int(params: Params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise invalid(name, "it must be an integer.") from exc
    if not low <= value <= high:
        raise invalid(name, f"it must be in [{low}, {high}], got {value}.")
    return value


def _choice(params: Params, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in allowed:
        raise invalid(name, f"it must be one of {', '.join(allowed)}.")
    return value


def _bool(params: Params, name: str) -> bool:
    value = (params.get(name) or "false").lower()
    if value not in ("true", "false"):
        raise invalid(name, "it must be true or false.")
    return value == "true"


def _statuses(params: Params) -> frozenset[str]:
    chosen = {s.strip() for raw in _values(params, "alg_status") for s in raw.split(",")}
    chosen.discard("")
    unknown = sorted(chosen - set(STATUSES))
    if unknown:
        raise invalid("alg_status", f"{', '.join(unknown)} is not one of {', '.join(STATUSES)}.")
    return frozenset(chosen)


def version_key(version: str) -> tuple[tuple[int, Any], ...]:
    """`1.10` after `1.9`: digit runs compare as numbers, anything else as text."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _VERSION_PART.findall(version)
    )


@dataclass(frozen=True)
class ServiceQuery:
    paged: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    page_num: int = 1
    descending: bool = True
    sort_name: str = "created_at"
    name_like: str = ""
    statuses: frozenset[str] = frozenset()

    @classmethod
    def from_params(cls, params: Params) -> ServiceQuery:
        return cls(
            paged=_bool(params, "is_paged"),
            page_size=_int(params, "page_size", DEFAULT_PAGE_SIZE, PAGE_SIZE_MIN, PAGE_SIZE_MAX),
            page_num=_int(params, "page_num", 1, PAGE_NUM_MIN, PAGE_NUM_MAX),
            descending=_choice(params, "order_by", ORDERS, "desc") == "desc",
            sort_name=_choice(params, "sort_name", SORT_NAMES, "created_at"),
            name_like=params.get("name_like") or "",
            statuses=_statuses(params),
        )

    def matches(self, svc: Service) -> bool:
        if self.statuses and svc.status not in self.statuses:
            return False
        return self.name_like.lower() in svc.spec.name.lower()

    def sort_key(self, svc: Service) -> tuple[Any, ...]:
        if self.sort_name == "function_version":
            return (version_key(svc.spec.function_version), svc.service_id)
        return (created_ms(svc.created), svc.service_id)

    def select(self, services: list[Service]) -> tuple[list[Service], int]:
        """The answer's services, in order, and how many match in all."""
        matched = sorted(
            (svc for svc in services if self.matches(svc)),
            key=self.sort_key,
            reverse=self.descending,
        )
        if not self.paged:
            return matched, len(matched)
        start = (self.page_num - 1) * self.page_size
        return matched[start : start + self.page_size], len(matched)


def created_ms(seconds: float) -> int:
    """created_at and the other times: epoch milliseconds."""
    return int(seconds * 1000)
