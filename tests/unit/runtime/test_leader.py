"""Leader election: the pure decision about a Lease, and one elector's steps against an
in-memory Lease with optimistic concurrency on fake clocks (no threads, no sleeping), plus
the thread's start and clean stop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cloudinfer.runtime.leader import (
    Action,
    LeaderElector,
    LeaseRecord,
    LeaseView,
    Sighting,
    Timing,
    decide,
    record_for,
    released,
)

T = Timing(lease=15, renew_deadline=10, retry=2)
WALL = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def view(holder: str, version: str = "1", renewed: float = 0.0, duration: float = 15) -> LeaseView:
    """A Lease held by `holder`, renewed `renewed` seconds before WALL."""
    return LeaseView(holder, duration, version, WALL - timedelta(seconds=renewed), WALL, 3)


def decide_at(
    lease: LeaseView | None,
    now: float = 100.0,
    leading: bool = False,
    seen: Sighting | None = None,
    wall: datetime = WALL,
) -> tuple[Action, Sighting | None, float]:
    d = decide(lease, "me", leading, seen, now, wall, T)
    return d.action, d.sighting, d.wait


# -- the decision ----------------------------------------------------------------------------


def test_no_lease_is_created_and_an_own_lease_is_renewed() -> None:
    assert decide_at(None)[0] is Action.CREATE
    assert decide_at(None, leading=True)[0] is Action.CREATE  # deleted under us: put it back
    assert decide_at(view("me"), leading=True)[0] is Action.RENEW
    # A previous process of this identity held it: it cannot act any more, take it back.
    assert decide_at(view("me"), leading=False)[0] is Action.RENEW


def test_a_released_lease_is_taken_at_once() -> None:
    assert decide_at(view(""))[0] is Action.ACQUIRE


def test_someone_elses_lease_is_waited_for_until_no_renewal_was_seen_for_its_duration() -> None:
    action, seen, wait = decide_at(view("other", "7"), now=100.0)
    assert (action, seen, wait) == (Action.WAIT, Sighting("7", 100.0), 2.0)
    # Same version later: still live until 15 s after it was seen, then free.
    assert decide_at(view("other", "7"), now=112.0, seen=seen)[:2] == (Action.WAIT, seen)
    assert decide_at(view("other", "7"), now=114.5, seen=seen)[2] == pytest.approx(0.5)
    assert decide_at(view("other", "7"), now=115.0, seen=seen)[0] is Action.ACQUIRE
    # Renewed meanwhile (a new version): counted again from then.
    action, renewed, _ = decide_at(view("other", "8"), now=114.0, seen=seen)
    assert (action, renewed) == (Action.WAIT, Sighting("8", 114.0))


def test_a_renewal_counts_from_its_renew_time_but_never_from_more_than_one_look_earlier() -> None:
    # renewTime says 1.5 s ago: it counts from then (our clock agrees with the holder's).
    assert decide_at(view("other", renewed=1.5), now=100.0)[1] == Sighting("1", 98.5)
    # Long ago (a stale Lease, or a clock far ahead of the holder's): one retry at most.
    assert decide_at(view("other", renewed=600), now=100.0)[1] == Sighting("1", 98.0)
    # In our future (a clock behind the holder's): from when we saw it.
    assert decide_at(view("other", renewed=-30), now=100.0)[1] == Sighting("1", 100.0)


def test_the_holders_duration_decides_when_it_expires() -> None:
    seen = Sighting("1", 100.0)
    assert decide_at(view("other", duration=40), now=130.0, seen=seen)[0] is Action.WAIT
    assert decide_at(view("other", duration=40), now=140.0, seen=seen)[0] is Action.ACQUIRE
    # No duration written: ours.
    assert decide_at(view("other", duration=0), now=115.0, seen=seen)[0] is Action.ACQUIRE


def test_a_leader_whose_lease_names_someone_else_has_lost() -> None:
    assert decide_at(view("other"), leading=True)[0] is Action.LOST
    assert decide_at(view(""), leading=True)[0] is Action.LOST


def test_records_written_for_create_acquire_renew_and_release() -> None:
    stamp = WALL + timedelta(seconds=5)
    held = view("other")  # 3 transitions, acquired at WALL
    assert record_for(Action.CREATE, None, "me", stamp, T) == LeaseRecord("me", 15, stamp, stamp, 0)
    assert record_for(Action.ACQUIRE, held, "me", stamp, T) == LeaseRecord(
        "me", 15, stamp, stamp, 4
    )
    assert record_for(Action.RENEW, view("me"), "me", stamp, T) == LeaseRecord(
        "me", 15, WALL, stamp, 3
    )
    assert released(view("me"), stamp) == LeaseRecord("", 1, WALL, stamp, 3)


def test_timings_must_leave_the_leader_time_to_stop_before_a_standby_takes_over() -> None:
    Timing()  # 15 / 10 / 2
    with pytest.raises(ValueError):
        Timing(lease=15, renew_deadline=14, retry=2)  # renew_deadline >= lease - retry
    with pytest.raises(ValueError):
        Timing(lease=15, renew_deadline=2, retry=2)


# -- one elector's steps ---------------------------------------------------------------------


class FakeLease:
    """One Lease in memory with the API server's optimistic concurrency."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.failing = False
        self.frozen: LeaseView | None = None  # what reads return while set
        self.writes: list[LeaseRecord] = []

    def _check(self) -> None:
        if self.failing:
            raise ConnectionError("API server unreachable")

    def read(self, timeout: float) -> LeaseView | None:
        self._check()
        if self.frozen is not None:
            return self.frozen
        r = self.record
        if r is None:
            return None
        return LeaseView(
            r.holder, r.duration, str(self.version), r.renew_time, r.acquire_time, r.transitions
        )

    def create(self, record: LeaseRecord, timeout: float) -> bool:
        self._check()
        if self.record is not None:
            return False
        return self._put(record)

    def replace(self, version: str, record: LeaseRecord, timeout: float) -> bool:
        self._check()
        if self.record is None or version != str(self.version):
            return False
        return self._put(record)

    def _put(self, record: LeaseRecord) -> bool:
        self.record, self.version = record, self.version + 1
        self.writes.append(record)
        return True

    def steal(self, holder: str, wall: datetime) -> None:
        self._put(LeaseRecord(holder, 15, wall, wall, 99))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return WALL + timedelta(seconds=self.now - 1000.0)


class Replica:
    def __init__(self, name: str, lease: FakeLease, clock: Clock) -> None:
        self.clock = clock
        self.started = 0
        self.lost = 0
        self.lost_at = 0.0
        self.elector = LeaderElector(
            lease,
            name,
            on_started=self._started,
            on_lost=self._lost,
            timing=T,
            clock=clock,
            wall=clock.wall,
        )

    def _started(self) -> None:
        self.started += 1

    def _lost(self) -> None:
        self.lost += 1
        self.lost_at = self.clock.now

    def step(self) -> float:
        return self.elector.step()


def run_for(clock: Clock, seconds: float, *replicas: Replica) -> None:
    """Advance time by `seconds`, each replica looking at the lease when it said it would."""
    end = clock.now + seconds
    due = dict.fromkeys(replicas, clock.now)
    while True:
        replica, when = min(due.items(), key=lambda item: item[1])
        if when > end:
            break
        clock.now = when
        if replica.elector._stop.is_set():  # it gave up: the process would have exited
            del due[replica]
            if not due:
                break
            continue
        due[replica] = when + max(replica.step(), 0.01)
    clock.now = end


def test_of_two_replicas_one_leads_and_the_other_stands_by() -> None:
    lease, clock = FakeLease(), Clock()
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    run_for(clock, 60, a, b)
    assert (a.elector.leading, b.elector.leading) == (True, False)
    assert (a.started, b.started, a.lost, b.lost) == (1, 0, 0, 0)
    assert lease.record is not None and lease.record.holder == "a"
    # The leader renews every retry period, keeping its acquire time.
    assert len(lease.writes) == pytest.approx(60 / T.retry, abs=2)
    assert {w.acquire_time for w in lease.writes} == {WALL}


def test_a_standby_takes_over_a_lease_no_longer_renewed_within_its_duration() -> None:
    lease, clock = FakeLease(), Clock()
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    run_for(clock, 10, a, b)
    assert a.elector.leading and lease.writes[-1].holder == "a"
    died = clock.now  # a is killed: it takes no more steps
    renewed = lease.writes[-1].renew_time
    while not b.elector.leading:
        run_for(clock, 0.1, b)
        assert clock.now - died < 16, "the standby did not take over"
    # Within the lease duration of the last renewal (a renewal is seen by b's look after it).
    taken = clock.wall()
    assert timedelta(seconds=13) <= taken - renewed <= timedelta(seconds=15.1)
    assert b.started == 1
    assert lease.record is not None and (lease.record.holder, lease.record.transitions) == ("b", 1)


def test_a_released_lease_is_taken_at_the_standbys_next_look() -> None:
    lease, clock = FakeLease(), Clock()
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    run_for(clock, 10, a, b)
    a.elector.stop(release=True)  # never started as a thread: stops at once, releases
    assert lease.record is not None and (lease.record.holder, lease.record.duration) == ("", 1)
    assert not a.elector.leading and a.lost == 0  # a clean stop is not a loss
    run_for(clock, T.retry, b)
    assert b.elector.leading and b.started == 1


def test_a_leader_that_cannot_renew_gives_up_by_its_renew_deadline() -> None:
    lease, clock = FakeLease(), Clock()
    a = Replica("a", lease, clock)
    run_for(clock, 5, a)
    assert a.elector.leading
    renewed = clock.now - ((clock.now - 1000.0) % T.retry)  # its last successful renewal
    lease.failing = True
    run_for(clock, T.renew_deadline - 2.1, a)
    assert a.elector.leading and a.lost == 0  # not yet
    run_for(clock, 3, a)
    assert a.lost == 1 and not a.elector.leading
    # It looked again right at the deadline, not up to a retry period later.
    assert a.lost_at == pytest.approx(renewed + T.renew_deadline)
    # Giving up is final: the thread's loop ends.
    assert a.elector._stop.is_set()


def test_a_leader_gives_up_at_once_when_the_lease_names_someone_else() -> None:
    lease, clock = FakeLease(), Clock()
    a = Replica("a", lease, clock)
    run_for(clock, 5, a)
    lease.steal("intruder", clock.wall())
    run_for(clock, T.retry + 0.01, a)
    assert a.lost == 1 and not a.elector.leading


def test_a_standby_that_cannot_reach_the_api_server_just_keeps_looking() -> None:
    lease, clock = FakeLease(), Clock()
    a, b = Replica("a", lease, clock), Replica("b", lease, clock)
    run_for(clock, 5, a, b)
    lease.failing = True
    run_for(clock, 60, b)
    assert (b.started, b.lost) == (0, 0)
    lease.failing = False
    run_for(clock, 20, b)  # a has not renewed for more than a lease: b takes over
    assert b.elector.leading and b.started == 1


def test_of_two_standbys_racing_for_a_free_lease_exactly_one_wins() -> None:
    lease, clock = FakeLease(), Clock()
    lease.steal("", clock.wall())  # released
    b, c = Replica("b", lease, clock), Replica("c", lease, clock)
    lease.frozen = lease.read(1)  # both read the same version before either writes
    b.step()
    c.step()
    assert (b.elector.leading, c.elector.leading) == (True, False)
    assert (b.started, c.started) == (1, 0)
    lease.frozen = None
    run_for(clock, 40, b, c)
    assert (b.elector.leading, c.elector.leading) == (True, False)
    assert b.started + c.started == 1 and b.lost + c.lost == 0


# -- the thread ------------------------------------------------------------------------------


def test_the_thread_leads_and_a_stop_releases_the_lease() -> None:
    lease = FakeLease()
    started = threading.Event()
    elector = LeaderElector(lease, "me", on_started=started.set, on_lost=pytest.fail)
    elector.start()
    try:
        assert started.wait(10), "did not become the leader"
        assert elector.leading
    finally:
        elector.stop(release=True)
    assert elector._thread is not None and not elector._thread.is_alive()
    assert lease.record is not None and lease.record.holder == ""
    assert not elector.leading
