"""`cloudinfer dev`: the local stack. A control plane, the cloud emulator, the CRDs, the operator
and the examples, running until interrupted; `KUBECONFIG=.dev/kubeconfig kubectl ...` works
from another shell."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from cloudinfer.controlplane import Binaries, ControlPlane, ensure_binaries
from cloudinfer.controlplane.kubectl import install_crds, kubectl
from cloudinfer.handlers.options import DEFAULT_OPERATOR_NAMESPACE


def _say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _pid_file(path: Path) -> Iterator[None]:
    path.write_text(str(os.getpid()))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _kubectl(kubeconfig: Path, *args: str) -> str:
    return kubectl(kubeconfig, *args).stdout


def start_operator(kubeconfig: Path, log_path: Path, *extra_args: str) -> subprocess.Popen[bytes]:
    """`cloudinfer run` as a child process logging to `log_path` (also used by the tests)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cloudinfer", "run", f"--kubeconfig={kubeconfig}", *extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start_control_plane(state: Path, binaries: Binaries) -> ControlPlane:
    # The state directory is kept: etcd data survives restarts of the stack.
    cp = ControlPlane(workdir=state, binaries=binaries)
    cp.start()
    _say(f"control plane ready at {cp.server}; kubeconfig: {cp.kubeconfig}")
    return cp


def serve_control_plane(state: Path, binaries: Binaries) -> int:
    """`cloudinfer control-plane up`: only the control plane, until interrupted."""
    state.mkdir(parents=True, exist_ok=True)
    with _stop_on_signals() as stop:
        cp = _start_control_plane(state, binaries)
        try:
            _say("press Ctrl-C to stop")
            stop.wait()
        finally:
            cp.stop()
    return 0


def start_emulator(logs: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    """`cloudinfer emulator --port=PORT ARGS...` as a child logging into `logs`, once it answers."""
    log_path = logs / "emulator.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cloudinfer", "emulator", f"--port={port}", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited (is port {port} in use?); see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise RuntimeError(f"the emulator did not answer on port {port}; see {log_path}")


def run_dev_stack(
    state: Path, examples: Path, emulator_port: int = 18080, deploy_seconds: float = 5.0
) -> int:
    state.mkdir(parents=True, exist_ok=True)
    binaries = ensure_binaries()
    with _stop_on_signals() as stop, _pid_file(state / "dev.pid"):
        cp = _start_control_plane(state, binaries)
        operator: subprocess.Popen[bytes] | None = None
        emulator: subprocess.Popen[bytes] | None = None
        try:
            kubeconfig = cp.kubeconfig
            emulator = start_emulator(
                state,
                emulator_port,
                f"--state-dir={state / 'emulator'}",
                f"--deploy-seconds={deploy_seconds}",
            )
            _say(
                f"cloud emulator on http://127.0.0.1:{emulator_port} "
                f"(deploy time {deploy_seconds:g}s); log: {state / 'emulator.log'}"
            )
            install_crds(kubeconfig, DEFAULT_OPERATOR_NAMESPACE)
            log_path = state / "operator.log"
            _say(f"starting the operator; log: {log_path}")
            operator = start_operator(kubeconfig, log_path)
            _say(f"applying {examples}")
            applied = time.monotonic()
            _kubectl(kubeconfig, "apply", "-R", "-f", str(examples))
            for kind in (
                "providerconfigs.cloudinfer.io",
                "clusterproviderconfigs.cloudinfer.io",
                "inferenceservices.cloudinfer.io",
            ):
                _kubectl(
                    kubeconfig,
                    "wait",
                    "--for=condition=Ready",
                    "--timeout=180s",
                    kind,
                    "--all",
                    "--all-namespaces",
                )
            _say(f"examples Ready {time.monotonic() - applied:.1f}s after kubectl apply")
            print(
                _kubectl(kubeconfig, "get", "cloudinfer", "--all-namespaces", "-o", "wide"),
                flush=True,
            )
            _say(f"ready. In another shell: export KUBECONFIG={kubeconfig.resolve()}")
            _say("Ctrl-C (or `make dev-down`) stops everything")
            while not stop.wait(1):
                if operator.poll() is not None:
                    _say(f"the operator exited with {operator.returncode}; see {log_path}")
                    return 1
            return 0
        finally:
            for child in (operator, emulator):
                if child is not None:
                    stop_process(child)
            cp.stop()
            _say("stopped")
