"""--manage-crds: what it sends (a forced server-side apply per generated CRD, only for CRDs
that exist) and what it says when it may not (the error names the CRD and the way out).
The real API server's side is in tests/integration/test_chart.py."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from kubernetes.client.exceptions import ApiException

from cloudinfer import __version__, crdsync
from cloudinfer.api.crds import all_crds
from cloudinfer.crdsync import VERSION_ANNOTATION, CrdSyncError, apply_crds, newer_than_ours


class FakeApiextensions:
    """Stands in for kubernetes.client.ApiextensionsV1Api: records calls, answers from a
    table of failures."""

    calls: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []
    failures: ClassVar[dict[tuple[str, str], int]] = {}
    existing: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, _client: Any) -> None:
        pass

    def _call(self, verb: str, name: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((verb, name, kwargs))
        status = self.failures.get((verb, name))
        if status:
            raise ApiException(status=status, reason="Forbidden" if status == 403 else "NotFound")
        return {}

    def read_custom_resource_definition(self, name: str) -> dict[str, Any]:
        self._call("get", name)
        return self.existing.get(name, {})

    def patch_custom_resource_definition(self, name: str, body: Any, **kw: Any) -> Any:
        return self._call("patch", name, body=body, **kw)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> type[FakeApiextensions]:
    FakeApiextensions.calls, FakeApiextensions.failures = [], {}
    FakeApiextensions.existing = {}
    monkeypatch.setattr(crdsync.kubernetes.client, "ApiextensionsV1Api", FakeApiextensions)
    return FakeApiextensions


def test_every_crd_is_applied_server_side_forced_by_the_cloudinfer_manager(
    api: type[FakeApiextensions],
) -> None:
    names = [d["metadata"]["name"] for d in all_crds()]
    assert apply_crds(object()) == names  # type: ignore[arg-type]
    patches = [c for c in api.calls if c[0] == "patch"]
    assert [c[1] for c in patches] == names
    for _, _, kw in patches:
        assert kw["_content_type"] == "application/apply-patch+yaml"
        assert kw["field_manager"] == "cloudinfer" and kw["force"] is True
        assert kw["body"]["kind"] == "CustomResourceDefinition"
        assert kw["body"]["metadata"]["annotations"][VERSION_ANNOTATION] == __version__


def test_forbidden_names_the_crd_and_what_to_grant(api: type[FakeApiextensions]) -> None:
    name = all_crds()[0]["metadata"]["name"]
    api.failures[("patch", name)] = 403
    with pytest.raises(CrdSyncError) as caught:
        apply_crds(object())  # type: ignore[arg-type]
    assert name in str(caught.value) and "grant `patch`" in str(caught.value)


def test_a_missing_crd_is_not_created(api: type[FakeApiextensions]) -> None:
    name = all_crds()[0]["metadata"]["name"]
    api.failures[("get", name)] = 404
    with pytest.raises(CrdSyncError) as caught:
        apply_crds(object())  # type: ignore[arg-type]
    assert "not installed" in str(caught.value)
    assert not [c for c in api.calls if c[0] == "patch"]


def test_a_crd_applied_by_a_newer_operator_is_left_alone(api: type[FakeApiextensions]) -> None:
    names = [d["metadata"]["name"] for d in all_crds()]
    api.existing[names[0]] = {"metadata": {"annotations": {VERSION_ANNOTATION: "99.0.0"}}}
    api.existing[names[1]] = {"metadata": {"annotations": {VERSION_ANNOTATION: "0.0.1"}}}
    assert apply_crds(object()) == names[1:]  # type: ignore[arg-type]
    assert names[0] not in [c[1] for c in api.calls if c[0] == "patch"]


@pytest.mark.parametrize(
    ("theirs", "ours", "newer"),
    [
        ("0.2.0", "0.1.9", True),
        ("0.10.0", "0.9.0", True),
        ("0.1.0", "0.1.0", False),
        ("0.1.0", "0.2.0", False),
        (None, "0.1.0", False),
    ],
)
def test_version_order_is_numeric(theirs: str | None, ours: str, newer: bool) -> None:
    existing = {"metadata": {"annotations": {VERSION_ANNOTATION: theirs} if theirs else {}}}
    assert (newer_than_ours(existing, ours) is not None) is newer
