"""The official `huaweicloudsdkcore` as a test oracle: its Signer on a bare SdkRequest (the
reference's way to run it), and its real Client for what a full SDK call assembles.

Importing the SDK writes `$HOME/.huaweicloud/application_id`, so HOME points at a temporary
directory while it is imported and is restored afterwards (other tests use the real HOME's
cache). Every credential given to the SDK carries AK, SK and project id: with any of them
empty it asks IAM or the ECS metadata address."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

_home = os.environ.get("HOME")
_sdk_home = tempfile.mkdtemp(prefix="huaweicloud-home-")
atexit.register(shutil.rmtree, _sdk_home, ignore_errors=True)


@contextmanager
def sdk_home() -> Iterator[None]:
    """HOME pointed at the SDK's temporary directory, for importing (or building) more of
    the SDK's packages; the caller's HOME is restored afterwards."""
    home = os.environ.get("HOME")
    os.environ["HOME"] = _sdk_home
    try:
        yield
    finally:
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home


os.environ["HOME"] = _sdk_home
try:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.client import Client, ClientBuilder
    from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler
    from huaweicloudsdkcore.exceptions.exceptions import ServiceResponseException
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkcore.http.http_handler import HttpHandler
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.sdk_response import SdkResponse
finally:
    if _home is None:
        os.environ.pop("HOME", None)
    else:
        os.environ["HOME"] = _home

__all__ = [
    "BasicCredentials",
    "DefaultExceptionHandler",
    "Raw",
    "SdkRequest",
    "ServiceResponseException",
    "captured_call",
    "captured_call_api",
    "credentials",
    "sdk_client",
    "sdk_home",
    "sdk_sign",
]

DATE = "20240101T000000Z"


def credentials(
    ak: str, sk: str, project_id: str | None = "p1", security_token: str | None = None
) -> Any:
    creds = BasicCredentials(ak, sk, project_id)
    if security_token is not None:
        creds = creds.with_security_token(security_token)
    return creds


def wire_text(value: str) -> str:
    """The SDK re-encodes header values as UTF-8 bytes spelled in latin-1 (for requests):
    back to the text they stand for."""
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def sdk_sign(
    method: str,
    host: str,
    path: str,
    query: Sequence[tuple[str, Any]],
    headers: Mapping[str, str],
    body: bytes | str | None,
    creds: Any,
    date: str = DATE,
) -> tuple[dict[str, str], str]:
    """BasicCredentials.sign_request on a bare SdkRequest: (every header as text, the URI
    the SDK sends)."""
    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        query_params=list(query),
        header_params={**headers, "X-Sdk-Date": date},
        body=body,
    )
    creds.sign_request(request)
    return {k: wire_text(str(v)) for k, v in request.header_params.items()}, request.uri


class Raw(SdkResponse):  # type: ignore[misc]
    """A response model with no fields: the SDK keeps the body in `raw_content`."""

    openapi_types: dict[str, str] = {}  # noqa: RUF012
    attribute_map: dict[str, str] = {}  # noqa: RUF012


def sdk_client(endpoint: str, creds: Any, handler: Any = None, client_type: Any = Client) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)
    builder = ClientBuilder(client_type).with_http_config(config).with_credentials(creds)
    if handler is not None:
        builder = builder.with_http_handler(handler)
    return builder.with_endpoint(endpoint).build()


class _Captured(Exception):
    pass


def _grabber(seen: list[Any]) -> Any:
    """An HttpHandler that keeps each signed request and stops it before it is sent."""

    def grab(**kwargs: Any) -> None:
        seen.append(kwargs["request"])
        raise _Captured  # never sent

    return HttpHandler().add_request_handler(grab)


def captured_call(
    creds: Any,
    method: str,
    resource_path: str,
    *,
    path_params: dict[str, Any] | None = None,
    query_params: list[tuple[str, Any]] | None = None,
    header_params: dict[str, str] | None = None,
    body: Any = None,
    collection_formats: dict[str, str] | None = None,
    endpoint: str = "https://modelarts.cn-north-4.myhuaweicloud.com",
) -> Any:
    """The signed SdkRequest a real SDK client call would send, captured before sending."""
    seen: list[Any] = []
    client = sdk_client(endpoint, creds, _grabber(seen))
    with suppress(_Captured):
        client.do_http_request(
            method,
            resource_path,
            path_params=path_params or {},
            query_params=query_params or [],
            header_params=header_params or {},
            body=body,
            response_type=Raw,
            collection_formats=collection_formats or {},
        )
    assert len(seen) == 1, "the SDK sent no request"
    return seen[0]


def captured_call_api(
    creds: Any,
    method: str,
    resource_path: str,
    *,
    endpoint: str,
    path_params: dict[str, Any] | None = None,
    query_params: list[tuple[str, Any]] | None = None,
    header_params: dict[str, str] | None = None,
    body: Any = None,
    collection_formats: dict[str, str] | None = None,
) -> Any:
    """The signed SdkRequest the generic `call_api(...)` (reference/huawei.md §4.3) sends,
    captured before sending: the way to drive an API the Python SDK has no client for.

    `call_api` lives on the generated service clients, all alike (a thin wrapper over the
    core's `Client.do_http_request`); ModelArtsClient's serves, imported here on first use
    so that the other users of this module do not pay for it. Its model package is never
    consulted: the call is stopped before any answer."""
    with sdk_home():
        from huaweicloudsdkmodelarts.v1.modelarts_client import ModelArtsClient

    seen: list[Any] = []
    client = sdk_client(endpoint, creds, _grabber(seen), ModelArtsClient)
    with suppress(_Captured):
        client.call_api(
            resource_path,
            method,
            path_params=path_params or {},
            query_params=query_params or [],
            header_params=header_params or {},
            body=body,
            response_type=Raw,
            collection_formats=collection_formats or {},
        )
    assert len(seen) == 1, "the SDK sent no request"
    return seen[0]
