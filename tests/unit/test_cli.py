import subprocess
import sys

import pytest
import yaml


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudinfer", *args], capture_output=True, text=True, timeout=60
    )


def test_run_with_a_missing_kubeconfig_fails_fast() -> None:
    result = run("run", "--kubeconfig", "/nonexistent/kubeconfig")
    assert result.returncode == 2
    assert "cannot load cluster credentials" in result.stderr


def test_crds_prints_every_kind() -> None:
    result = run("crds")
    assert result.returncode == 0
    names = {d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout) if d}
    assert names == {
        "providerconfigs.cloudinfer.io",
        "clusterproviderconfigs.cloudinfer.io",
        "inferenceservices.cloudinfer.io",
        "serviceinstances.cloudinfer.io",
        "algorithmservices.cloudinfer.io",
    }


def test_run_options_for_workers_and_resync() -> None:
    from cloudinfer.cli import build_parser

    args = build_parser().parse_args(["run", "--workers", "4", "--resync-seconds", "600"])
    assert (args.workers, args.resync_seconds) == (4, 600.0)
    assert run("run", "--workers", "0").returncode == 2  # refused with a message
    assert run("run", "--resync-seconds", "1").returncode == 2


def test_leader_election_is_on_in_a_pod_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudinfer.cli import build_parser, run_options

    def options(*argv: str) -> tuple[bool, str]:
        opts = run_options(build_parser().parse_args(["run", *argv]))
        return opts.leader_election, opts.leader_election_lease

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert options() == (False, "cloudinfer-leader")  # a developer's machine, tests, make dev
    assert options("--leader-election") == (True, "cloudinfer-leader")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert options() == (True, "cloudinfer-leader")  # in a pod
    assert options("--no-leader-election") == (False, "cloudinfer-leader")
    assert options("--leader-election-lease", "mine") == (True, "mine")
    # kopf peering is gone: leader election replaces it.
    assert run("run", "--peering", "x").returncode == 2
