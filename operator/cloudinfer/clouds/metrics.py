"""Prometheus metrics of cloud calls (no credentials or resource names in labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CLOUD_REQUESTS = Counter(
    "cloudinfer_cloud_requests_total",
    "Cloud API calls by cloud, operation and result code (OK, an error code, or transport).",
    ["cloud", "operation", "code"],
)
CLOUD_LATENCY = Histogram(
    "cloudinfer_cloud_request_duration_seconds",
    "Cloud API call latency, one observation per HTTP attempt.",
    ["cloud", "operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CLOUD_RETRIES = Counter(
    "cloudinfer_cloud_retries_total",
    "Cloud API attempts that were retried, by reason.",
    ["cloud", "operation", "reason"],
)
