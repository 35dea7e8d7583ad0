"""Keep a child process running the way a Deployment keeps its Pod's container running: when it
exits, say how (exit code or signal) and start it again after a back-off delay. `cloudinfer dev`
supervises the operator with this.

The delays are the kubelet's CrashLoopBackOff (`Backoff`): the first restart is immediate, each
further one in a row waits twice as long as the one before, 10 s, 20 s, 40 s ... capped at
5 minutes, and a process that ran for 10 minutes counted as healthy, so its exit starts the
sequence again (what the Kubernetes documentation describes for a container).

Nothing here blocks, sleeps or reads a clock of its own: the owner's loop calls
`Supervisor.poll()`, and the process, its start, the clock and the output are given, so the tests
drive it with fakes."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


@dataclass
class Backoff:
    """Delays before restarting a process that keeps exiting: 0, then `initial`, multiplied by
    `factor` each time up to `maximum`; after a run of at least `reset_after` seconds, 0 again."""

    initial: float = 10.0
    factor: float = 2.0
    maximum: float = 300.0
    reset_after: float = 600.0
    _next: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.factor >= 1 and self.reset_after > 0):
            raise ValueError(f"not a back-off: {self}")

    def delay(self, ran_for: float) -> float:
        """The wait before restarting a process that exited after running `ran_for` seconds."""
        if ran_for >= self.reset_after:
            self._next = 0.0
        delay = self._next
        self._next = min(self.maximum, self.initial if delay == 0 else delay * self.factor)
        return delay


def describe_exit(returncode: int) -> str:
    """'exited with code 1', 'was killed by SIGKILL' (a Popen return code; negative: a signal)."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"was killed by {name}"


def format_duration(seconds: float) -> str:
    """'0.4s', '42s', '5m', '12m30s'."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"


class Process(Protocol):
    """What the supervisor needs of a process (`subprocess.Popen` has it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...


P = TypeVar("P", bound=Process)


class Supervisor(Generic[P]):
    """Restarts the process `spawn` starts whenever `poll` finds it exited, until `stop`.

    `say` gets one line when the process exits (how, after how long, when it comes back; `hint`
    appended, e.g. where its log is) and one when it has been started again."""

    def __init__(
        self,
        name: str,
        spawn: Callable[[], P],
        say: Callable[[str], None],
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        hint: str = "",
    ) -> None:
        self.name = name
        self._spawn = spawn
        self._say = say
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._hint = f"; {hint}" if hint else ""
        self._process: P | None = None
        self._started_at = 0.0
        self._restart_at: float | None = None
        self._stopped = False
        self.restarts = 0

    @property
    def process(self) -> P | None:
        """The running process; None while waiting to restart it, and after `stop`."""
        return self._process

    @property
    def restart_at(self) -> float | None:
        """When (on the clock) the next restart is due, while waiting for it."""
        return self._restart_at

    def start(self) -> P:
        if self._stopped or self._process is not None:
            raise RuntimeError(f"the {self.name} is already started, or stopped")
        return self._start()

    def poll(self) -> None:
        """Notice an exit and schedule the restart; do the restart when it is due."""
        if self._stopped:
            return
        now = self._clock()
        if self._process is not None:
            code = self._process.poll()
            if code is None:
                return
            ran_for = now - self._started_at
            delay = self._backoff.delay(ran_for)
            self._restart_at = now + delay
            when = "now" if delay == 0 else f"in {format_duration(delay)} (back-off)"
            self._say(
                f"the {self.name} (pid {self._process.pid}) {describe_exit(code)} after "
                f"{format_duration(ran_for)}; restarting it {when}{self._hint}"
            )
            self._process = None
        if self._restart_at is not None and now >= self._restart_at:
            self._restart_at = None
            process = self._start()
            self.restarts += 1
            self._say(f"restarted the {self.name} (pid {process.pid}; restart {self.restarts})")

    def stop(self, terminate: Callable[[P], None]) -> None:
        """No more restarts; `terminate` the process if it runs."""
        self._stopped = True
        self._restart_at = None
        process, self._process = self._process, None
        if process is not None:
            terminate(process)

    def _start(self) -> P:
        self._process = self._spawn()
        self._started_at = self._clock()
        return self._process
