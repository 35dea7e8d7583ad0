"""kubectl against a given kubeconfig, and installing the CRDs: shared by `cloudinfer dev` and
the integration tests, which drive the cluster the way a user does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cloudinfer.api.crds import render_all
from cloudinfer.api.kinds import PART_OF_LABEL


class KubectlError(RuntimeError):
    pass


def kubectl(
    kubeconfig: Path, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    # Discovery is cached per host:port; a fresh control plane on a reused port must not see
    # another one's cache, so the cache lives beside its kubeconfig.
    cache = kubeconfig.parent / "kubectl-cache"
    result = subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise KubectlError(f"kubectl {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result


def apply_objects(kubeconfig: Path, objects: list[dict[str, Any]]) -> None:
    """`kubectl apply` a list of objects, in order (a Namespace before what goes in it)."""
    kubectl(
        kubeconfig,
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
    )


def install_crds(kubeconfig: Path, namespace: str) -> None:
    """Apply the generated CRDs, wait until they are served, and create the operator's
    namespace (idempotent)."""
    kubectl(kubeconfig, "apply", "--server-side", "-f", "-", input=render_all())
    kubectl(
        kubeconfig,
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd",
        "-l",
        f"{PART_OF_LABEL}=cloudinfer",
    )
    manifest = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"
    kubectl(kubeconfig, "apply", "-f", "-", input=manifest)
