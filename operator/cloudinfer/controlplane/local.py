"""Start etcd + kube-apiserver on free loopback ports in a temporary directory.

Children die with their parent (PR_SET_PDEATHSIG), run in their own process group so a
terminal's Ctrl-C reaches only us, and are stopped SIGTERM-then-SIGKILL, so no etcd or
apiserver outlives a test run, even one that is interrupted or killed."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import yaml

from cloudinfer.controlplane import certs
from cloudinfer.controlplane.binaries import Binaries, ensure_binaries

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ControlPlaneError(RuntimeError):
    pass


class ControlPlane:
    """A local control plane. Use as a context manager, or call start()/stop()."""

    def __init__(self, workdir: Path | None = None, binaries: Binaries | None = None) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="cloudinfer-cp-"))
        self._binaries = binaries
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        self.kubeconfig = self.workdir / "kubeconfig"
        self.server = ""
        self.etcd_url = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> ControlPlane:
        binaries = self._binaries or ensure_binaries()
        deadline = time.monotonic() + timeout
        try:
            self._start_etcd(binaries.etcd, deadline)
            self._start_apiserver(binaries.kube_apiserver, deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for _name, proc, log in reversed(self._procs):
            _terminate(proc)
            log.close()
        self._procs.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.stop()

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._procs.append((name, proc, log))
        return proc

    def _wait(self, name: str, proc: subprocess.Popen[bytes], deadline: float, probe: Any) -> None:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlPlaneError(
                    f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if probe():
                    return
            time.sleep(0.2)
        raise ControlPlaneError(f"{name} not ready in time:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _start_etcd(self, etcd: Path, deadline: float) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        proc = self._spawn(
            "etcd",
            [
                str(etcd),
                "--name=default",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync",  # throw-away data: durability costs seconds per test
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            response = httpx.get(f"{self.etcd_url}/health", timeout=2)
            return response.status_code == 200 and response.json().get("health") == "true"

        self._wait("etcd", proc, deadline, healthy)

    def _start_apiserver(self, apiserver: Path, deadline: float) -> None:
        pki = certs.generate(self.workdir / "pki")
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        proc = self._spawn(
            "kube-apiserver",
            [
                str(apiserver),
                f"--etcd-servers={self.etcd_url}",
                "--advertise-address=127.0.0.1",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'pki'}",
                f"--tls-cert-file={pki.server_cert}",
                f"--tls-private-key-file={pki.server_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                # No controller-manager creates ServiceAccounts here.
                "--disable-admission-plugins=ServiceAccount",
                "--profiling=false",
            ],
        )
        self._write_kubeconfig(pki)
        tls = ssl.create_default_context(cafile=str(pki.ca_cert))
        tls.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))

        def ready() -> bool:
            response = httpx.get(f"{self.server}/readyz", verify=tls, timeout=5)
            return response.status_code == 200

        self._wait("kube-apiserver", proc, deadline, ready)

    def _write_kubeconfig(self, pki: certs.Pki) -> None:
        def b64(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "cloudinfer-local",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": b64(pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": "cloudinfer-admin",
                    "user": {
                        "client-certificate-data": b64(pki.admin_cert),
                        "client-key-data": b64(pki.admin_key),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "cloudinfer-local",
                    "context": {
                        "cluster": "cloudinfer-local",
                        "user": "cloudinfer-admin",
                        "namespace": "default",
                    },
                }
            ],
            "current-context": "cloudinfer-local",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)


def _terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
