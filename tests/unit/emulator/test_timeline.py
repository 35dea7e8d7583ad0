"""The emulator's timeline: due services soonest first, superseded entries skipped."""

from __future__ import annotations

from dataclasses import dataclass

from cloudinfer.emulator.timeline import Timeline


@dataclass(eq=False)
class Svc:
    name: str
    at: float | None

    def next_change(self) -> float | None:
        return self.at


def test_due_services_come_soonest_first_and_only_when_due() -> None:
    timeline: Timeline[Svc] = Timeline()
    late, soon, settled = Svc("late", 5.0), Svc("soon", 1.0), Svc("settled", None)
    for svc in (late, soon, settled):
        timeline.schedule(svc)
    assert [s.name for s in timeline.due(2.0, lambda s: True)] == ["soon"]
    assert [s.name for s in timeline.due(10.0, lambda s: True)] == ["late"]
    assert list(timeline.due(100.0, lambda s: True)) == []


def test_superseded_entries_are_skipped() -> None:
    timeline: Timeline[Svc] = Timeline()
    moved, gone = Svc("moved", 1.0), Svc("gone", 1.0)
    timeline.schedule(moved)
    timeline.schedule(gone)
    moved.at = 3.0  # a later operation began a new phase: the old entry is stale
    timeline.schedule(moved)
    current = {"moved"}
    assert [s.name for s in timeline.due(2.0, lambda s: s.name in current)] == []
    assert [s.name for s in timeline.due(3.0, lambda s: s.name in current)] == ["moved"]
