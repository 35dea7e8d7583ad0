import subprocess
import sys

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
    }


def test_run_options_for_workers_and_resync() -> None:
    from cloudinfer.cli import build_parser

    args = build_parser().parse_args(["run", "--workers", "4", "--resync-seconds", "600"])
    assert (args.workers, args.resync_seconds) == (4, 600.0)
    assert run("run", "--workers", "0").returncode == 2  # refused with a message
    assert run("run", "--resync-seconds", "1").returncode == 2
