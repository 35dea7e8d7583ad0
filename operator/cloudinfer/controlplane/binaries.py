"""Obtain etcd and kube-apiserver the envtest way, and the Go tools the shipping tests use
(helm, helm-unittest, actionlint) the same way.

Order: `$KUBEBUILDER_ASSETS`, then `$PATH`, then the cache, then a build with Go from the Go
module proxy using the pinned modules under `hack/` (kube-apiserver from k8s.io/kubernetes with
its staging modules replaced by the published k8s.io/* versions; etcd's own server). Builds are
cached under `$XDG_CACHE_HOME/cloudinfer` (default ~/.cache/cloudinfer) keyed by version, so
only the first run pays."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path


@dataclass(frozen=True)
class _Recipe:
    binary: str
    module_dir: str  # under hack/
    module: str  # the versioned module whose version keys the cache
    package: str  # what `go build` builds
    cache: str = "control-plane"  # the folder under ~/.cache/cloudinfer


def hack_dir() -> Path:
    override = os.environ.get("CLOUDINFER_HACK_DIR")
    if override:
        return Path(override)
    # operator/cloudinfer/controlplane/binaries.py → repository root
    return Path(__file__).resolve().parents[3] / "hack"


def cache_root(folder: str = "control-plane") -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cloudinfer" / folder


def pinned_version(recipe: _Recipe) -> str:
    """The version go.mod pins (one place for the fact)."""
    go_mod = (hack_dir() / recipe.module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(recipe.module)}\s+(v\S+)", go_mod, re.M)
    if not match:
        raise RuntimeError(f"{recipe.module} is not pinned in hack/{recipe.module_dir}/go.mod")
    return match.group(1)


def _kube_recipe() -> _Recipe:
    return _Recipe(
        "kube-apiserver",
        "kube-apiserver",
        "k8s.io/kubernetes",
        "k8s.io/kubernetes/cmd/kube-apiserver",
    )


def _etcd_recipe() -> _Recipe:
    return _Recipe("etcd", "etcd", "go.etcd.io/etcd/server/v3", ".")


def _helm_recipe() -> _Recipe:
    return _Recipe("helm", "helm", "helm.sh/helm/v3", "helm.sh/helm/v3/cmd/helm", "tools")


def _helm_unittest_recipe() -> _Recipe:
    return _Recipe(
        "helm-unittest",
        "helm-unittest",
        "github.com/helm-unittest/helm-unittest",
        "github.com/helm-unittest/helm-unittest/cmd/helm-unittest",
        "tools",
    )


def _actionlint_recipe() -> _Recipe:
    return _Recipe(
        "actionlint",
        "actionlint",
        "github.com/rhysd/actionlint",
        "github.com/rhysd/actionlint/cmd/actionlint",
        "tools",
    )


def _version_ldflags(recipe: _Recipe, version: str) -> str:
    """What the projects' own release builds stamp in: without it kube-apiserver reports
    v0.0.0, and helm says "v3.22" and checks charts against Kubernetes v1.20."""
    if recipe.binary == "kube-apiserver":
        major, minor = version.lstrip("v").split(".")[:2]
        pkg = "k8s.io/component-base/version"
        return (
            f"-X {pkg}.gitVersion={version} -X {pkg}.gitMajor={major} -X {pkg}.gitMinor={minor} "
            f"-X {pkg}.gitTreeState=clean"
        )
    if recipe.binary == "helm":
        major, minor = pinned_version(_kube_recipe()).lstrip("v").split(".")[:2]
        h = "helm.sh/helm/v3"
        return (
            f"-X {h}/internal/version.version={version} "
            f"-X {h}/pkg/chartutil.k8sVersionMajor={major} "
            f"-X {h}/pkg/chartutil.k8sVersionMinor={minor} "
            f"-X {h}/pkg/lint/rules.k8sVersionMajor={major} "
            f"-X {h}/pkg/lint/rules.k8sVersionMinor={minor}"
        )
    if recipe.binary == "actionlint":
        return f"-X github.com/rhysd/actionlint.version={version}"
    return ""


def _from_assets_or_path(binary: str) -> Path | None:
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and (Path(assets) / binary).is_file():
        return Path(assets) / binary
    found = shutil.which(binary)
    return Path(found) if found else None


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(message: str) -> None:
    print(f"[control-plane] {message}", file=sys.stderr, flush=True)


def _build(recipe: _Recipe, version: str, target: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(
            f"{recipe.binary} not found in $KUBEBUILDER_ASSETS, $PATH or "
            f"{cache_root(recipe.cache)}, and Go "
            "is not installed to build it. Install Go 1.25+ or put the binary on $PATH."
        )
    src = hack_dir() / recipe.module_dir
    ldflags = f"-s -w {_version_ldflags(recipe, version)}".strip()
    cmd = [go, "build", "-v", "-trimpath", f"-ldflags={ldflags}", "-o", str(target), recipe.package]
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}
    _say(f"building {recipe.binary} {version} with Go (first run only; several minutes on 2 cores)")
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    tail: list[str] = []
    compiled = 0
    last_report = started
    for line in proc.stdout:
        line = line.rstrip()
        tail = [*tail[-29:], line]
        if line and not line.startswith(("go:", "#")):
            compiled += 1
        now = time.monotonic()
        if now - last_report >= 15:
            _say(f"  {recipe.binary}: {compiled} packages compiled, {now - started:.0f}s")
            last_report = now
    if proc.wait() != 0:
        raise RuntimeError(f"building {recipe.binary} failed:\n" + "\n".join(tail))
    _say(f"built {recipe.binary} in {time.monotonic() - started:.0f}s")


def ensure_binary(recipe: _Recipe) -> Path:
    # The tests' tools are always the pinned builds: a helm on $PATH (GitHub's runners have
    # one) may be another version, or built without the version ldflags.
    existing = _from_assets_or_path(recipe.binary) if recipe.cache == "control-plane" else None
    if existing:
        return existing
    version = pinned_version(recipe)
    cached = cache_root(recipe.cache) / f"{recipe.binary}-{version}" / recipe.binary
    if cached.is_file():
        return cached
    with _lock(cache_root(recipe.cache) / f".{recipe.binary}.lock"):
        if cached.is_file():  # another process built it while we waited
            return cached
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
            partial = Path(tmp) / recipe.binary
            _build(recipe, version, partial)
            os.replace(partial, cached)  # atomic: a killed build never leaves a half binary
    return cached


def ensure_binaries() -> Binaries:
    return Binaries(
        etcd=ensure_binary(_etcd_recipe()), kube_apiserver=ensure_binary(_kube_recipe())
    )


@dataclass(frozen=True)
class Tools:
    helm: Path
    helm_unittest: Path
    actionlint: Path


def ensure_tools() -> Tools:
    """The Go tools of the shipping tests, always the versions pinned under hack/ (cached
    builds, never whatever is on $PATH)."""
    return Tools(
        helm=ensure_binary(_helm_recipe()),
        helm_unittest=ensure_binary(_helm_unittest_recipe()),
        actionlint=ensure_binary(_actionlint_recipe()),
    )
