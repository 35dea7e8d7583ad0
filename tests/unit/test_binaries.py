"""Binary resolution order: KUBEBUILDER_ASSETS, PATH, cache; versions come from hack/ go.mod."""

from pathlib import Path

import pytest

from cloudinfer.controlplane import binaries


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_pinned_versions_come_from_go_mod() -> None:
    assert binaries.pinned_version(binaries._kube_recipe()).startswith("v1.")
    assert binaries.pinned_version(binaries._etcd_recipe()).startswith("v3.")


def test_kubebuilder_assets_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "assets"
    _executable(assets / "etcd")
    _executable(assets / "kube-apiserver")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    found = binaries.ensure_binaries()
    assert found.etcd == assets / "etcd" and found.kube_apiserver == assets / "kube-apiserver"


def test_cache_is_used_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = binaries.cache_root()
    kube_version = binaries.pinned_version(binaries._kube_recipe())
    etcd_version = binaries.pinned_version(binaries._etcd_recipe())
    kube = _executable(root / f"kube-apiserver-{kube_version}" / "kube-apiserver")
    etcd = _executable(root / f"etcd-{etcd_version}" / "etcd")

    def no_build(*_: object) -> None:
        raise AssertionError("must not build when cached")

    monkeypatch.setattr(binaries, "_build", no_build)
    assert binaries.ensure_binaries() == binaries.Binaries(etcd=etcd, kube_apiserver=kube)


def test_missing_go_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match="Go is not installed"):
        binaries.ensure_binaries()
