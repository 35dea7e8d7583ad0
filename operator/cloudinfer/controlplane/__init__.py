"""A real local Kubernetes control plane (etcd + kube-apiserver, no kubelet)."""

from cloudinfer.controlplane.binaries import Binaries, ensure_binaries
from cloudinfer.controlplane.local import ControlPlane

__all__ = ["Binaries", "ControlPlane", "ensure_binaries"]
