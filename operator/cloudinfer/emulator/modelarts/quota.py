"""Per-account quotas of ModelArts real-time services, set through the admin API. The cloud's
default (20 real-time services per account) would stop any load test, so the emulator has
none until one is set; what exceeds one is refused with the documented codes:

  400 ModelArts.3520  services (any state)
  400 ModelArts.3521  services in running status (deploying, running, concerning)
  400 ModelArts.3522  service instances (summed over the running services' config items)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloudinfer.emulator.modelarts.errors import quota
from cloudinfer.emulator.modelarts.service import Service

ACTIVE = ("deploying", "running", "concerning")


@dataclass
class Quota:
    services: int | None = None
    running: int | None = None
    instances: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.services is None and self.running is None and self.instances is None

    def check(
        self, others: Iterable[Service], adding: bool, instances: int, starting: bool
    ) -> None:
        """Refuse a service (`adding` one, `starting` it, running `instances`) that would
        exceed a limit, given the account's `others` (not counting the service itself)."""
        mine = list(others)
        if self.services is not None and adding and len(mine) + 1 > self.services:
            raise quota("ModelArts.3520", self.services, "services")
        active = [s for s in mine if s.status in ACTIVE]
        if self.running is not None and starting and len(active) + 1 > self.running:
            raise quota("ModelArts.3521", self.running, "services in running status")
        used = sum(i["instance_count"] for s in active for i in s.config)
        if self.instances is not None and used + instances > self.instances:
            raise quota("ModelArts.3522", self.instances, "service instances")
