"""What every project-scoped Huawei client (ModelArts, VIAS) is made of: the project id in
every path and in `X-Project-Id`, the signer, one transport to the cloud's endpoint, and
credential rotation. Each client names its product, cloud, endpoint and error table, and adds
its paths and operations."""

from __future__ import annotations

from typing import ClassVar

import httpx

from cloudinfer.clouds.errors import CloudError
from cloudinfer.clouds.huawei.requests import RequestSigner
from cloudinfer.clouds.ratelimit import RateLimiter
from cloudinfer.clouds.retry import RetryPolicy
from cloudinfer.clouds.transport import CloudRequest, Transport
from cloudinfer.credentials import Credentials


class ProjectClient:
    # What a subclass names: its product (for messages), its cloud (for metrics and errors),
    # its public endpoint per region, and how its error answers are classified.
    PRODUCT: ClassVar[str]
    CLOUD: ClassVar[str]

    @staticmethod
    def default_endpoint(region: str) -> str:
        raise NotImplementedError

    @staticmethod
    def classify(request: CloudRequest, response: httpx.Response) -> CloudError:
        raise NotImplementedError

    def __init__(
        self,
        region: str,
        project_id: str,
        credentials: Credentials,
        endpoint: str | None = None,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """`project_id` goes into every path (`/v{n}/{project_id}/...`) and is sent as
        `X-Project-Id`, as the official core does with BasicCredentials."""
        if not isinstance(project_id, str) or not project_id.strip():
            raise ValueError(f"{self.PRODUCT} needs a project id: every path names it")
        self.region = region
        self.project_id = project_id
        self._sign = RequestSigner(credentials, self.project_id)
        self.transport = Transport(
            self.CLOUD,
            endpoint or self.default_endpoint(region),
            self._sign,
            self.classify,
            limiter or RateLimiter(10, 20),
            policy,
            timeout,
            http,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(region={self.region!r}, project_id={self.project_id!r}, "
            f"endpoint={self.transport.base_url!r}, auth={self._sign.credentials.kind!r})"
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    def set_credentials(self, credentials: Credentials) -> None:
        """Use rotated credentials from the next request on."""
        self._sign.rotate(credentials)
