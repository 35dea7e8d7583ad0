"""`cloudinfer dev` keeps the operator running and stops cleanly on a signal at any point.

A SIGKILLed operator is restarted, with a line saying how it exited and one saying it is back,
while the stack stays up and keeps working. SIGINT (a terminal's Ctrl-C: to the whole process
group) or SIGTERM (`make dev-down`: to the process) while building the binaries, starting etcd
or waiting for the examples stops whatever was started, without a traceback, with exit code 130
(SIGINT) or 0 (SIGTERM). Nothing is left running."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudinfer.controlplane.kubectl import kubectl
from cloudinfer.controlplane.local import free_port
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


def descendants(root: int) -> dict[int, str]:
    """pid → command line of every live (not zombie) descendant of `root`."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] != "Z":
                parent_of[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier} - set(found)
        for pid in frontier:
            try:
                found[pid] = (Path("/proc") / str(pid) / "cmdline").read_text().replace("\0", " ")
            except OSError:
                found[pid] = ""
    return found


def still_running(processes: dict[int, str]) -> dict[int, str]:
    """Those of `processes` (pid → command line) that still run (and are the same process)."""
    running = {}
    for pid, cmdline in processes.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            now = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] != "Z" and now == cmdline:
            running[pid] = cmdline
    return running


@dataclass
class Dev:
    proc: subprocess.Popen[bytes]
    out: Path
    state: Path

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for_output(self, pattern: str, timeout: float) -> re.Match[str]:
        def probe() -> re.Match[str] | None:
            match = re.search(pattern, self.text())
            assert match or self.proc.poll() is None, f"exited:\n{self.text()}"
            return match

        return wait_for(probe, timeout, f"{pattern!r} in the output of `cloudinfer dev`")

    def wait_for_child(self, fragment: str, timeout: float) -> dict[int, str]:
        def probe() -> dict[int, str] | None:
            assert self.proc.poll() is None, f"exited:\n{self.text()}"
            found = descendants(self.proc.pid)
            return found if any(fragment in cmdline for cmdline in found.values()) else None

        return wait_for(probe, timeout, f"a child process running {fragment!r}")

    def exit_code(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def assert_stopped_cleanly(self, signal_name: str) -> None:
        text = self.text()
        assert "Traceback" not in text, text
        assert f"[dev] {signal_name}: stopping" in text and "[dev] stopped" in text, text
        assert not (self.state / "dev.pid").exists()

        def left_over() -> str:
            found = subprocess.run(["pgrep", "-af", str(self.state)], capture_output=True)
            return found.stdout.decode()

        # Whatever dev started got its state directory on its command line; dev waited for it.
        assert left_over() == "", f"processes left behind: {left_over()}"


@pytest.fixture
def start_dev(tmp_path: Path) -> Iterator[Callable[..., Dev]]:
    """`cloudinfer dev` in its own process group (as under a terminal), its examples pointed at
    its own emulator port; killed with its group at the end if a test left it running."""
    started: list[Dev] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Dev:
        port = free_port()
        examples = tmp_path / "examples"
        shutil.copytree(ROOT / "deploy" / "examples", examples)
        for manifest in examples.glob("*.yaml"):
            manifest.write_text(
                manifest.read_text().replace("127.0.0.1:18080", f"127.0.0.1:{port}")
            )
        state = tmp_path / "state"
        out = tmp_path / "dev.out"
        with open(out, "wb") as sink:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cloudinfer",
                    "dev",
                    f"--dir={state}",
                    f"--examples={examples}",
                    f"--emulator-port={port}",
                    *args,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env={**(env or os.environ), "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        started.append(Dev(proc, out, state))
        return started[-1]

    yield start
    for dev in started:
        if dev.proc.poll() is None:
            os.killpg(dev.proc.pid, signal.SIGKILL)  # its sessions' children die with it
            dev.proc.wait()


def test_a_killed_operator_is_restarted_and_the_stack_keeps_working(
    start_dev: Callable[..., Dev],
) -> None:
    dev = start_dev("--deploy-seconds=1")
    dev.wait_for_output(r"\[dev\] ready", 180)
    killed = int(dev.wait_for_output(r"started the operator \(pid (\d+)\)", 1).group(1))

    os.kill(killed, signal.SIGKILL)
    restarted = dev.wait_for_output(r"restarted the operator \(pid (\d+); restart 1\)", 30)
    assert re.search(
        rf"\[dev\] the operator \(pid {killed}\) was killed by SIGKILL after \S+; "
        r"restarting it now; log: ",
        dev.text(),
    ), dev.text()
    assert int(restarted.group(1)) in descendants(dev.proc.pid)

    # The stack stayed up, and the new operator does the work.
    kc = dev.state / "kubeconfig"
    kubectl(
        kc,
        "apply",
        "-f",
        "-",
        input="""
apiVersion: cloudinfer.io/v1alpha1
kind: InferenceService
metadata: {name: after-restart, namespace: default}
spec:
  providerConfigRef: {name: eas-dev}
  eas: {processor: tensorflow_cpu, modelPath: oss://examples/m.tar.gz, instances: 1}
""",
    )
    kubectl(kc, "wait", "--for=condition=Ready", "--timeout=60s", "cisvc/after-restart")
    assert dev.proc.poll() is None
    assert (dev.state / "operator.log").read_text().count("[dev] starting the operator") == 2

    dev.proc.send_signal(signal.SIGTERM)  # `make dev-down`
    assert dev.exit_code() == 0
    dev.assert_stopped_cleanly("SIGTERM")


def test_ctrl_c_while_etcd_starts(start_dev: Callable[..., Dev]) -> None:
    dev = start_dev()
    dev.wait_for_child("--data-dir=", 60)  # etcd; the apiserver is not up yet
    assert "control plane ready" not in dev.text()
    os.killpg(dev.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    assert dev.exit_code() == 130
    dev.assert_stopped_cleanly("SIGINT")


def test_ctrl_c_while_waiting_for_the_examples(start_dev: Callable[..., Dev]) -> None:
    dev = start_dev("--deploy-seconds=60")  # the examples cannot be Ready before the signal
    dev.wait_for_output(r"\[dev\] applying", 120)
    kc = dev.state / "kubeconfig"
    wait_for(
        lambda: kubectl(kc, "get", "cisvc", "-A", "-o", "name").stdout.strip(),
        30,
        "the examples to be applied",
    )
    os.killpg(dev.proc.pid, signal.SIGINT)
    assert dev.exit_code() == 130
    dev.assert_stopped_cleanly("SIGINT")
    assert "[dev] ready" not in dev.text()


@pytest.mark.skipif(shutil.which("go") is None, reason="needs Go to start a build")
def test_sigterm_while_building_the_binaries(start_dev: Callable[..., Dev], tmp_path: Path) -> None:
    # An empty cache and no etcd on $PATH: `cloudinfer dev` starts building etcd with Go.
    path = os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "etcd").exists()
    )
    env = {k: v for k, v in os.environ.items() if k != "KUBEBUILDER_ASSETS"}
    env |= {"PATH": path, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    dev = start_dev(env=env)
    children = dev.wait_for_child(" build ", 60)
    dev.proc.send_signal(signal.SIGTERM)  # to dev only: it passes it on to the build
    assert dev.exit_code() == 0
    dev.assert_stopped_cleanly("SIGTERM")
    assert "building etcd" in dev.text()
    assert still_running(children) == {}  # dev waited for the build it stopped
    leftovers = list((tmp_path / "cache" / "cloudinfer" / "control-plane").glob("etcd-*/*"))
    assert leftovers == [], "a half-built binary left in the cache"
