"""cloudinfer: a Kubernetes operator for cloud-hosted model inference services."""

__version__ = "0.1.0"
