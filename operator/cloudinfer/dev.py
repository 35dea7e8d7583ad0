"""`cloudinfer dev`: the local stack. A control plane, the cloud emulator, the CRDs, the operator
and the examples, running until interrupted; `KUBECONFIG=.dev/kubeconfig kubectl ...` works
from another shell.

The operator is supervised as a Deployment's Pod would be: when it exits, a line says how (exit
code or signal) and another when it has been started again, after the kubelet's CrashLoopBackOff
delays (immediately, then 10 s doubling to 5 min, back to immediately after 10 min of running;
see `cloudinfer.supervisor`). The stack does not stop because the operator did.

Ctrl-C (SIGINT) or SIGTERM (`make dev-down`) at any point, while binaries are being built, etcd
is starting, the examples are being waited for or the stack is up, stops everything started so
far (newest first) and exits without a traceback: with 130 after SIGINT (128 + 2, what a shell
reports for Ctrl-C), with 0 after SIGTERM, the documented way to stop the stack, so that
`make dev` run under a process manager or a script ends as a success. A second signal while
stopping is only acknowledged: the processes are given their grace period.

The control plane, the emulator and the operator run in their own sessions (a terminal's Ctrl-C
reaches only this process, which stops them in order) and are killed by the kernel if this
process dies without stopping them. What runs in this process group (a `go build` of the
binaries, kubectl) gets the signal passed on, as a terminal would have sent it to them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from cloudinfer.controlplane import Binaries, ControlPlane, ensure_binaries
from cloudinfer.controlplane.kubectl import install_crds, kubectl
from cloudinfer.controlplane.local import _die_with_parent
from cloudinfer.handlers.options import DEFAULT_OPERATOR_NAMESPACE
from cloudinfer.supervisor import Supervisor

EXAMPLE_KINDS = (
    "providerconfigs.cloudinfer.io",
    "clusterproviderconfigs.cloudinfer.io",
    "inferenceservices.cloudinfer.io",
    "serviceinstances.cloudinfer.io",
    "algorithmservices.cloudinfer.io",
)
# The inference endpoint deploy/examples/fabric.yaml deploys on (ID:SPEC:MAX:WORKSPACE).
DEV_FABRIC_ENDPOINT = "ep-llama-dev:mu.llama3.8b:4:ws-dev"
# The VIAS algorithm deploy/examples/vias.yaml deploys (ID:NAME), in every project.
DEV_VIAS_ALGORITHM = "068ed4d8-077e-4ec9-aa19-bc0000a0e925:Intrusion Detection"
READY_TIMEOUT = 180.0
POLL_SECONDS = 0.5


def _say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


# -- signals -----------------------------------------------------------------------------------


class Interrupted(BaseException):
    """The first SIGINT or SIGTERM, raised in the main thread wherever it is (a build, etcd
    starting, a kubectl call, the wait for Ready, the idle loop) so that the clean-up stops what
    has been started. A BaseException, as KeyboardInterrupt is: `except Exception` lets it by."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code_for(signum: int) -> int:
    """130 after SIGINT, as a shell reports Ctrl-C; 0 after SIGTERM, the requested stop."""
    return 0 if signum == signal.SIGTERM else 128 + signum


class _Signals:
    """SIGINT and SIGTERM handling for a command that starts things until it is stopped.

    The first signal is passed on to our descendants in this process group (waited for by
    `await_passed_on`) and raised as `Interrupted`, unless a `deferred()` block is running
    (starting a child and recording it), which raises it when it ends. After that, or once
    `hold()` began the clean-up, a signal is only acknowledged."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.passed_on: list[int] = []
        self._raised = False
        self._deferring = 0
        self._held = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Signals]:
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is not None or self._held:
            _say(f"{name}: already stopping, waiting for the processes to exit")
            return
        self.received = signum
        _say(f"{name}: stopping")
        self.passed_on = _signal_group_descendants(signum)
        if not self._deferring:
            self._raised = True
            raise Interrupted(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold an interruption until the block ends (a child started is a child recorded)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if not self._deferring and self.received is not None and not self._raised:
            self._raised = True
            raise Interrupted(self.received)

    def hold(self) -> None:
        """The clean-up begins: no more interruptions."""
        self._held = True

    def await_passed_on(self, grace: float = 10.0) -> None:
        """Wait for the processes the signal was passed on to; SIGKILL them after `grace`."""
        deadline = time.monotonic() + grace
        while (running := [p for p in self.passed_on if _running(p)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Not exited (a zombie has). Linux /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _signal_group_descendants(signum: int) -> list[int]:
    """Send `signum` to our descendants in our own process group, what a terminal's Ctrl-C
    reaches (`go build` and its compilers, kubectl), and return their pids; children in their
    own session are stopped in order by the clean-up instead. Linux /proc; elsewhere nothing is
    sent."""
    signalled: list[int] = []
    with contextlib.suppress(OSError):
        parent_of: dict[int, int] = {}
        group_of: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # exited meanwhile
            # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
            fields = stat[stat.rindex(")") + 2 :].split()
            pid = int(entry.name)
            parent_of[pid], group_of[pid] = int(fields[1]), int(fields[2])
        ours: set[int] = set()
        frontier = {os.getpid()}
        while frontier:
            frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier} - ours
            ours |= frontier
        group = os.getpgrp()
        for pid in ours:
            if group_of[pid] == group:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
                    signalled.append(pid)
    return signalled


def _run_until_stopped(body: Callable[[_Signals, contextlib.ExitStack[Any]], int]) -> int:
    """Run `body`, which registers how to stop what it starts on the exit stack it is given,
    until it returns or a signal stops it; then stop everything, newest first.

    Returns `body`'s result; after a signal, `exit_code_for` it; 1 after an error of the
    environment (a port in use, a build that failed, kubectl failing), said in one line."""
    signals = _Signals()
    with signals.installed():
        stack = contextlib.ExitStack()
        try:
            return body(signals, stack)
        except BaseException as exc:
            if signals.received is not None:  # whatever the signal broke on its way out
                return exit_code_for(signals.received)
            if isinstance(exc, RuntimeError | OSError | subprocess.SubprocessError):
                _say(f"error: {exc}")
                return 1
            raise
        finally:
            signals.hold()
            stack.close()
            signals.await_passed_on()
            _say("stopped")


# -- processes ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _pid_file(path: Path) -> Iterator[None]:
    path.write_text(str(os.getpid()))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _kubectl(kubeconfig: Path, *args: str) -> str:
    return kubectl(kubeconfig, *args).stdout


def _spawn(argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    # Its own session: a terminal's Ctrl-C reaches only its parent, which stops it in order
    # (and does not restart it). Killed by the kernel if its parent thread dies first.
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def start_operator(kubeconfig: Path, log_path: Path, *extra_args: str) -> subprocess.Popen[bytes]:
    """`cloudinfer run` as a child process logging to `log_path` (also used by the tests). It
    dies with the thread that started it: start it from one that outlives it."""
    return _spawn(
        [sys.executable, "-m", "cloudinfer", "run", f"--kubeconfig={kubeconfig}", *extra_args],
        log_path,
    )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_emulator(logs: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    """`cloudinfer emulator --port=PORT ARGS...` as a child logging into `logs`, once it answers
    (stopped again if it does not, or if this is interrupted meanwhile)."""
    proc = _spawn_emulator(logs, port, *args)
    try:
        _await_emulator(proc, logs, port)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def _spawn_emulator(logs: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "cloudinfer", "emulator", f"--port={port}", *args]
    return _spawn(argv, logs / "emulator.log")


def _await_emulator(proc: subprocess.Popen[bytes], logs: Path, port: int) -> None:
    log_path = logs / "emulator.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited (is port {port} in use?); see {log_path}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the emulator did not answer on port {port}; see {log_path}")


def _start_control_plane(
    state: Path, binaries: Binaries, stack: contextlib.ExitStack[Any]
) -> ControlPlane:
    # The state directory is kept: etcd data survives restarts of the stack.
    _say("starting the control plane (etcd, kube-apiserver)")
    cp = ControlPlane(workdir=state, binaries=binaries)
    stack.callback(cp.stop)  # idempotent; start() also stops what it started if it fails
    cp.start()
    _say(f"control plane ready at {cp.server}; kubeconfig: {cp.kubeconfig}")
    return cp


def serve_control_plane(state: Path, binaries: Binaries) -> int:
    """`cloudinfer control-plane up`: only the control plane, until interrupted (exit codes as
    `cloudinfer dev`'s)."""
    state.mkdir(parents=True, exist_ok=True)

    def serve(_signals: _Signals, stack: contextlib.ExitStack[Any]) -> int:
        _start_control_plane(state, binaries, stack)
        _say("press Ctrl-C to stop")
        while True:
            time.sleep(3600)

    return _run_until_stopped(serve)


# -- the dev stack -----------------------------------------------------------------------------


def not_ready(items: list[dict[str, Any]]) -> list[str]:
    """'Kind namespace/name' of the objects without a Ready=True condition."""
    pending = []
    for item in items:
        conditions = (item.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            meta = item.get("metadata") or {}
            where = "/".join(filter(None, (meta.get("namespace"), meta.get("name"))))
            pending.append(f"{item.get('kind')} {where}")
    return pending


def run_dev_stack(
    state: Path, examples: Path, emulator_port: int = 18080, deploy_seconds: float = 5.0
) -> int:
    """Start the stack and keep the operator running until SIGINT (exit 130) or SIGTERM (exit
    0); 1 if it cannot start or the examples do not become Ready. See the module docstring."""
    state.mkdir(parents=True, exist_ok=True)

    def up(signals: _Signals, stack: contextlib.ExitStack[Any]) -> int:
        # Each child is recorded for the clean-up before a signal may interrupt (`deferred`).
        with signals.deferred():
            stack.enter_context(_pid_file(state / "dev.pid"))
        cp = _start_control_plane(state, ensure_binaries(), stack)
        kubeconfig = cp.kubeconfig
        with signals.deferred():
            emulator = _spawn_emulator(
                state,
                emulator_port,
                f"--state-dir={state / 'emulator'}",
                f"--deploy-seconds={deploy_seconds}",
                f"--fabric-endpoint={DEV_FABRIC_ENDPOINT}",
                f"--vias-algorithm={DEV_VIAS_ALGORITHM}",
            )
            stack.callback(stop_process, emulator)
        _await_emulator(emulator, state, emulator_port)
        _say(
            f"cloud emulator on http://127.0.0.1:{emulator_port} "
            f"(deploy time {deploy_seconds:g}s); log: {state / 'emulator.log'}"
        )
        install_crds(kubeconfig, DEFAULT_OPERATOR_NAMESPACE)

        log_path = state / "operator.log"

        def spawn_operator() -> subprocess.Popen[bytes]:
            with open(log_path, "a") as log:  # where each run begins, in its log
                log.write(f"----- [dev] starting the operator at {datetime.now(UTC):%FT%TZ}\n")
            return start_operator(kubeconfig, log_path)

        operator = Supervisor("operator", spawn_operator, _say, hint=f"log: {log_path}")
        with signals.deferred():
            proc = operator.start()
            stack.callback(operator.stop, stop_process)
        _say(f"started the operator (pid {proc.pid}); log: {log_path}")

        def supervise() -> None:
            with signals.deferred():
                operator.poll()

        _say(f"applying {examples}")
        applied = time.monotonic()
        _kubectl(kubeconfig, "apply", "-R", "-f", str(examples))
        while True:
            supervise()
            listed = json.loads(
                _kubectl(kubeconfig, "get", ",".join(EXAMPLE_KINDS), "-A", "-o", "json")
            )
            pending = not_ready(listed["items"])
            if not pending:
                break
            if time.monotonic() - applied > READY_TIMEOUT:
                _say(
                    f"not Ready {READY_TIMEOUT:g}s after kubectl apply: {', '.join(pending)}; "
                    f"see {log_path}"
                )
                return 1
            time.sleep(1)
        _say(f"examples Ready {time.monotonic() - applied:.1f}s after kubectl apply")
        print(
            _kubectl(kubeconfig, "get", "cloudinfer", "--all-namespaces", "-o", "wide"), flush=True
        )
        _say(f"ready. In another shell: export KUBECONFIG={kubeconfig.resolve()}")
        _say("Ctrl-C (or `make dev-down`) stops everything")
        while True:
            supervise()
            time.sleep(POLL_SECONDS)

    return _run_until_stopped(up)
