"""A runtime with no Kubernetes, provider configs or Secrets behind it, for tests of its
bookkeeping (who is woken, in what order)."""

from __future__ import annotations

from types import SimpleNamespace

from cloudinfer.runtime.controller import Runtime


def bare_runtime() -> Runtime:
    return Runtime(
        SimpleNamespace(post_event=None),  # type: ignore[arg-type]
        configs=lambda _: None,
        secrets=lambda namespace, name: None,
        operator_namespace="op",
    )
