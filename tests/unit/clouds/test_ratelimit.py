"""Admission: a call refused by the caller's gate is not sent; an admitted one holds its slot
only while it is in flight."""

from __future__ import annotations

import pytest

from cloudinfer.clouds.ratelimit import Parked, admission, admitted


class Gate:
    def __init__(self, free: int) -> None:
        self.free = free
        self.inside = 0

    def enter(self) -> bool:
        if self.inside >= self.free:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


def test_a_call_holds_a_slot_only_while_in_flight() -> None:
    gate = Gate(1)
    with admission(gate):
        with admitted():
            assert gate.inside == 1
            with pytest.raises(Parked), admitted():  # a second call at once: no room
                pass
        assert gate.inside == 0
        with admitted():  # the next call finds the slot free again
            assert gate.inside == 1
    with admitted():  # outside an admission: no gate at all (background listings)
        assert gate.inside == 0
