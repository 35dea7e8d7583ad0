"""The operator's restart policy in `cloudinfer dev`: Kubernetes' CrashLoopBackOff, driven with a
fake process and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cloudinfer.supervisor import Backoff, Supervisor, describe_exit, format_duration


def test_backoff_is_immediate_then_doubles_from_ten_seconds_up_to_five_minutes() -> None:
    backoff = Backoff()
    assert [backoff.delay(ran_for=1) for _ in range(9)] == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_a_run_of_ten_minutes_resets_the_backoff() -> None:
    backoff = Backoff()
    assert [backoff.delay(ran_for=5) for _ in range(4)] == [0, 10, 20, 40]
    assert backoff.delay(ran_for=599) == 80  # not quite long enough
    assert backoff.delay(ran_for=600) == 0
    assert backoff.delay(ran_for=1) == 10


def test_backoff_parameters_are_checked() -> None:
    with pytest.raises(ValueError):
        Backoff(initial=0)
    with pytest.raises(ValueError):
        Backoff(initial=10, maximum=5)
    with pytest.raises(ValueError):
        Backoff(factor=0.5)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0, "exited with code 0"),
        (2, "exited with code 2"),
        (-9, "was killed by SIGKILL"),
        (-15, "was killed by SIGTERM"),
        (-200, "was killed by signal 200"),
    ],
)
def test_describe_exit(code: int, text: str) -> None:
    assert describe_exit(code) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4s"), (9.96, "10.0s"), (42.4, "42s"), (300, "5m"), (750, "12m30s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@dataclass
class FakeProcess:
    pid: int
    returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


@dataclass
class Harness:
    now: float = 1000.0
    said: list[str] = field(default_factory=list)
    spawned: list[FakeProcess] = field(default_factory=list)
    terminated: list[FakeProcess] = field(default_factory=list)

    def spawn(self) -> FakeProcess:
        self.spawned.append(FakeProcess(pid=100 + len(self.spawned)))
        return self.spawned[-1]

    def supervisor(self) -> Supervisor[FakeProcess]:
        return Supervisor(
            "operator", self.spawn, self.said.append, clock=lambda: self.now, hint="log: op.log"
        )

    def running(self, sup: Supervisor[FakeProcess]) -> FakeProcess:
        assert sup.process is not None
        return sup.process


def test_a_running_process_is_left_alone() -> None:
    h = Harness()
    sup = h.supervisor()
    first = sup.start()
    for _ in range(3):
        h.now += 100
        sup.poll()
    assert sup.process is first and h.spawned == [first] and h.said == [] and sup.restarts == 0


def test_the_first_exit_restarts_at_once_and_says_so() -> None:
    h = Harness()
    sup = h.supervisor()
    sup.start().returncode = -9
    h.now += 65
    sup.poll()
    assert h.said == [
        "the operator (pid 100) was killed by SIGKILL after 1m05s; restarting it now; log: op.log",
        "restarted the operator (pid 101; restart 1)",
    ]
    assert h.running(sup).pid == 101 and sup.restarts == 1


def test_exits_in_a_row_wait_longer_each_time() -> None:
    h = Harness()
    sup = h.supervisor()
    sup.start()
    waits = []
    for _ in range(4):
        h.running(sup).returncode = 1
        h.now += 2
        sup.poll()
        exited_at = h.now
        while sup.process is None:  # restarts exactly when due, not before
            assert sup.restart_at is not None
            h.now = sup.restart_at - 0.01
            sup.poll()
            assert sup.process is None
            h.now = sup.restart_at
            sup.poll()
        waits.append(h.now - exited_at)
    assert waits == [0, 10, 20, 40]
    assert sup.restarts == 4
    assert h.said[-2].endswith(
        "exited with code 1 after 2.0s; restarting it in 40s (back-off); log: op.log"
    )
    assert h.said[-1] == "restarted the operator (pid 104; restart 4)"


def test_a_long_run_resets_the_backoff() -> None:
    h = Harness()
    sup = h.supervisor()
    sup.start()
    for ran_for in (1, 1, 600):
        h.running(sup).returncode = 1
        h.now += ran_for
        sup.poll()
        if sup.restart_at is not None:
            h.now = sup.restart_at
            sup.poll()
    assert "restarting it now" in h.said[-2]  # after ten minutes, as good as a first exit


def test_stop_terminates_the_process_and_ends_restarts() -> None:
    h = Harness()
    sup = h.supervisor()
    first = sup.start()
    sup.stop(h.terminated.append)
    assert h.terminated == [first] and sup.process is None
    first.returncode = -15  # what the termination did
    h.now += 1000
    sup.poll()
    assert h.spawned == [first] and h.said == []


def test_stop_while_backing_off_cancels_the_restart() -> None:
    h = Harness()
    sup = h.supervisor()
    sup.start().returncode = 1
    sup.poll()
    h.running(sup).returncode = 1
    sup.poll()
    assert sup.process is None and sup.restart_at == h.now + 10
    sup.stop(h.terminated.append)
    h.now += 10
    sup.poll()
    assert h.terminated == [] and len(h.spawned) == 2 and sup.restart_at is None
