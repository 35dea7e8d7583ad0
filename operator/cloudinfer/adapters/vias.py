"""AlgorithmService on Huawei Cloud VIAS: client-named by the algorithm id.

VIAS keys DeployAlgorithm and StopDeployAlgorithm by `alg_id`, and a project has one service
per algorithm, listed (ListUserServices) from the moment the algorithm is the account's:
`not_deployed` until deployed. So the identity is the algorithm id, known before any call,
and "absent" means not deployed. There is no delete API: deletion stops the deployment, and
a stopped deployment counts as gone.

Ownership. A VIAS service carries nothing the operator could stamp (no labels, tags or free
description on deploy), so whose a deployment is comes from this side, and is exclusive: the
resource this process is deploying it for, else the oldest resource in the cluster that
recorded the algorithm id (annotation `cloudinfer.io/external-name`, written before its
first deploy) with a provider config for the same place (CallContext.holders: any
namespace, any provider config or keys). A deployment no resource recorded, running, is a
`NameConflict` (annotation `cloudinfer.io/adopt: "true"` takes it over, `managementPolicy:
Observe` mirrors it); stopped, it is free to deploy. Before a first deploy the service is
shown: the listing may be minutes old, and a deploy on a running service upgrades it. A
resource asking to be stopped deploys nothing. A deploy refused (invalid, conflict) leaves
no claim behind.

What is applied. ShowServiceDetail does not return `stream_count`, `deploy_config` or
`envs`, so drift cannot be read off the cloud: `status.appliedConfig` records a digest of
each as last deployed, with the service's `updated_at` once seen in line. A spec whose
digests differ is deployed again (an upgrade while it runs: `service_upgrading`). A redeploy
made outside the operator cannot be told (nothing it sets is returned, and `updated_at` is
not known to be the deployment's), so it is not corrected. The listing has neither
`updated_at` nor the APIs:
ShowServiceDetail (one call) is asked when a service settles after a change (its status
differs from the one last recorded), when nothing was shown yet, and when deleting.

Observe by `serviceId`: the observer's snapshot holds each service under its algorithm id
and, as an alias that is never polled on its own, under its service id."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudinfer.adapters.base import (
    ABSENT,
    EXTERNAL_NAME,
    CallContext,
    Drift,
    Identity,
    Lookup,
    ManagedResource,
    Observation,
)
from cloudinfer.adapters.drift import digest
from cloudinfer.api.algorithmservice import AlgorithmServiceSpec, env_ref_path
from cloudinfer.clouds.errors import Conflict, Invalid, NotFound, ServerError
from cloudinfer.clouds.huawei.vias import ServiceDetail, ServiceSummary, ViasClient
from cloudinfer.observer.batch import BatchObserver

NOT_DEPLOYED = "not_deployed"
PHASES = {
    "service_deploying": "Deploying",
    "service_running": "Running",
    "service_upgrading": "Updating",
    "service_concerning": "Degraded",
    "service_stopping": "Stopping",
    "service_stopped": "Stopped",
    "service_failed": "Failed",
    "service_finished": "Finished",
}
TRANSITIONAL = frozenset({"Deploying", "Updating", "Stopping"})
# Deployments that hold nothing: deleting the resource is done, and anyone may deploy again.
AT_REST = frozenset({"service_stopped", "service_finished"})
# Deployments that serve (or try to): a config change redeploys them.
SERVING = frozenset({"service_running", "service_concerning"})
APPLIED = "appliedConfig"
# A deploy by this process keeps the algorithm to its resource this long (seconds): the time
# two resources naming one algorithm could both find it undeployed.
CLAIM_SECONDS = 600.0
FIELDS = ("streamCount", "deployConfig", "envs")


@dataclass(frozen=True)
class Listed:
    """A service as the observer holds it: under its algorithm id, or (`alias`) under its
    service id for resources that observe by `serviceId`."""

    key: str
    service: ServiceSummary
    alias: bool = False


def spec_of(resource: ManagedResource) -> AlgorithmServiceSpec:
    spec: AlgorithmServiceSpec = resource.spec
    return spec


def external_name(spec: AlgorithmServiceSpec, metadata_name: str) -> str:
    """The algorithm id; for an Observe-only resource without one, the service id it
    mirrors."""
    return spec.alg_id or spec.service_id or metadata_name


def summary_of(detail: ServiceDetail) -> ServiceSummary:
    """A shown service as a listed one (the snapshot holds one type)."""
    return ServiceSummary(
        alg_id=detail.alg_id,
        service_id=detail.service_id,
        service_name=detail.service_name,
        alg_status=detail.alg_status,
        alg_version=detail.alg_version,
        function_version=detail.function_version,
        created_at=detail.created_at,
        deploy_type=detail.deploy_type,
        alg_class=detail.alg_class,
        request_mode=detail.request_mode,
        description=detail.description,
        error_msg=detail.error_msg,
        package_id=detail.package_id,
        package_name=detail.package_name,
        company=detail.company,
        tags=detail.tags,
        can_update=None,
        new_alg_id="",
    )


def envs_of(resource: ManagedResource) -> dict[str, str]:
    """The envs as VIAS takes them (a map); `valueFrom` from the resolved Secret values."""
    envs: dict[str, str] = {}
    for i, var in enumerate(spec_of(resource).envs):
        if var.value_from is None:
            envs[var.name] = var.value or ""
        elif env_ref_path(i) in resource.secret_values:
            envs[var.name] = resource.secret_values[env_ref_path(i)]
    return envs


def wanted(resource: ManagedResource) -> dict[str, str]:
    """Digest per redeploying field (8 hex digits each: status holds no values, envs may be
    secrets)."""
    spec = spec_of(resource)
    values: dict[str, Any] = {
        "streamCount": spec.stream_count,
        "deployConfig": spec.deploy_config or {},
        "envs": envs_of(resource),
    }
    return {name: digest(values[name])[:8] for name in FIELDS}


def render_applied(digests: Mapping[str, str], stamp: int | None) -> str:
    """`appliedConfig`: the three digests, `@` the service's updated_at when seen in line
    (`0` when it has none; empty right after our own deploy)."""
    return ".".join(digests[f] for f in FIELDS) + "@" + ("" if stamp is None else str(stamp))


def parse_applied(text: str | None) -> tuple[dict[str, str], str | None]:
    """(digests by field, stamp: None when not seen in line yet) from `appliedConfig`."""
    if not text or "@" not in text:
        return {}, None
    digests, _, stamp = text.partition("@")
    parts = digests.split(".")
    if len(parts) != len(FIELDS):
        return {}, None
    return dict(zip(FIELDS, parts, strict=True)), stamp or None


def config_drift(resource: ManagedResource, sent: Mapping[str, str] | None = None) -> list[Drift]:
    """The redeploying fields whose spec differs from what was last deployed: as recorded in
    status, else as this process last sent (`sent`: a deploy whose settings are not recorded
    yet, so a spec change while it deploys is not taken as applied)."""
    applied, _ = parse_applied(resource.status.get(APPLIED))
    applied = applied or dict(sent or {})
    if not applied:
        return []  # nothing on record (observed, or deployed before a restart): taken as is
    return [Drift(f"spec.{f}") for f, d in wanted(resource).items() if applied.get(f) != d]


def service_apis(detail: ServiceDetail) -> list[dict[str, str | None]]:
    return [
        {
            "requestType": api.request_type or None,
            "url": api.url or None,
            "description": api.description or None,
        }
        for api in detail.service_apis
    ]


def endpoints_of(detail: ServiceDetail) -> dict[str, str]:
    """Description → `METHOD URL`, in the cloud's order (a nameless API by its position)."""
    found: dict[str, str] = {}
    for i, api in enumerate(detail.service_apis):
        name = api.description or f"api {i + 1}"
        found.setdefault(name, f"{(api.request_type or '').upper()} {api.url}".strip())
    return found


def constraints_of(detail: ServiceDetail) -> dict[str, Any] | None:
    c = detail.constraints
    if c is None:
        return None
    accelerators = []
    for a in c.accelerators:
        version = a.cuda_version or a.driver_version_section
        name = "/".join(x for x in (a.type, a.name) if x)
        accelerators.append(f"{name} ({version})" if version else name)
    return {
        "cpuType": c.cpu_type or None,
        "accelerators": accelerators or None,
        "inputTypes": list(c.input_types) or None,
        "outputTypes": list(c.output_types) or None,
    }


def _unlisted() -> ServerError:
    return ServerError(
        "the project's services could not be listed yet (ListUserServices); retrying before "
        "deciding whether the algorithm is deployed",
        code="ListingUnavailable",
    )


def phase_of(status: str) -> str:
    return PHASES.get(status, "Unknown")


def transition(item: Listed) -> str | None:
    if item.alias:
        return None  # followed under its algorithm id
    phase = phase_of(item.service.alg_status)
    return phase if phase in TRANSITIONAL else None


def fingerprint(item: Listed) -> object:
    s = item.service
    return (s.alg_status, s.alg_version, s.function_version, s.error_msg)


class ViasAlgorithmServiceAdapter:
    """Client-named: the identity is the algorithm id."""

    identity: Identity = "client-named"

    def __init__(self, client: ViasClient, observer: BatchObserver[Listed, Any]) -> None:
        self.client, self.observer = client, observer
        # Algorithm id → (resource uid, when) of this process's deploys (CLAIM_SECONDS).
        self._claims: dict[str, tuple[str, float]] = {}
        # Algorithm id → the digests this process last deployed or adopted it with.
        self._sent: dict[str, dict[str, str]] = {}

    def external_name(self, spec: Any, metadata_name: str) -> str:
        return external_name(spec, metadata_name)

    # -- ownership -------------------------------------------------------------------------

    def _claimant(self, alg_id: str) -> str | None:
        claim = self._claims.get(alg_id)
        if claim is None:
            return None
        if time.monotonic() - claim[1] > CLAIM_SECONDS:
            del self._claims[alg_id]
            return None
        return claim[0]

    def _claim(self, alg_id: str, uid: str) -> None:
        self._claims[alg_id] = (uid, time.monotonic())

    def _owner(
        self, resource: ManagedResource, alg_id: str, ctx: CallContext
    ) -> tuple[str | None, str | None]:
        """(uid, namespace) of who owns the algorithm's deployment: the resource this process
        is deploying it for, else the oldest resource that recorded the algorithm id in this
        project (any namespace, any provider config: ctx.holders), else nobody. Exclusive: a
        second resource recording it later owns nothing while the first exists."""
        holders = ctx.holders(alg_id)
        claimant = self._claimant(alg_id)
        if claimant is not None:
            where = {h.uid: h.namespace for h in holders}
            where.setdefault(resource.uid, resource.namespace)
            return claimant, where.get(claimant)
        if holders:
            return holders[0].uid, holders[0].namespace
        if resource.annotations.get(EXTERNAL_NAME) == alg_id:  # held, not cached yet
            return resource.uid, resource.namespace
        return None, None

    # -- observe ---------------------------------------------------------------------------

    async def observe(
        self, resource: ManagedResource, ctx: CallContext, fresh: bool = False
    ) -> Observation:
        key = resource.external_name
        listed: ServiceSummary | None = None
        if not fresh:
            self.observer.check_fresh()
            if self.observer.knows(key):
                item = self.observer.get(key)
                if item is None:
                    return ABSENT  # not an algorithm of this project (or no such service)
                listed = item.service
        if listed is not None and not self._needs_show(resource, listed):
            return self._observation(resource, ctx, listed, None)
        service_id = self._service_id(resource, listed)
        if not service_id:
            recorded = resource.annotations.get(EXTERNAL_NAME) == key
            if not self.observer.ready and (recorded or resource.status.get("cloudStatus")):
                # Maybe deployed (a deploy may have been sent), and the project not listed
                # since this process started: "absent" could let a deletion go while the
                # deployment runs.
                raise _unlisted()
            return ABSENT
        try:
            shown = await self.client.show_service(service_id)
        except NotFound:
            return ABSENT
        return self._observation(resource, ctx, summary_of(shown), shown)

    def _service_id(self, resource: ManagedResource, listed: ServiceSummary | None) -> str:
        if listed is not None:
            return listed.service_id
        spec = spec_of(resource)
        if spec.service_id and not spec.alg_id:
            return spec.service_id
        item = self.observer.get(resource.external_name)
        if item is not None:
            return item.service.service_id
        return str(resource.status.get("serviceId") or "")

    @staticmethod
    def _needs_show(resource: ManagedResource, listed: ServiceSummary) -> bool:
        status = listed.alg_status
        if status == NOT_DEPLOYED or phase_of(status) in TRANSITIONAL:
            return False  # nothing to show, or mid-change: the listing says all there is
        if resource.status.get("cloudStatus") != status:
            return True  # settled after a change (ours or anyone's)
        if not resource.status.get("serviceApis"):
            return True  # never shown
        _, stamp = parse_applied(resource.status.get(APPLIED))
        return resource.manage and stamp is None  # our deploy, not yet seen in line

    def _observation(
        self,
        resource: ManagedResource,
        ctx: CallContext,
        service: ServiceSummary,
        shown: ServiceDetail | None,
    ) -> Observation:
        status = service.alg_status
        phase = phase_of(status)
        manage = resource.manage
        # Observe mode too: mirroring a deployment another namespace's resource holds is
        # refused like adopting it (the reconciler's cross-namespace rule).
        owner, owner_ns = self._owner(resource, service.alg_id, ctx)
        idle = status == NOT_DEPLOYED or status in AT_REST
        if manage and idle and owner in (None, resource.uid) and spec_of(resource).stopped:
            # Asked to be stopped and nothing runs: it is, with no deploy first (the resource
            # records the algorithm id, so no one else deploys it meanwhile).
            return self._stopped(resource, service)
        if status == NOT_DEPLOYED and manage:
            return ABSENT
        if manage and owner is None and status in AT_REST:
            return ABSENT  # a stopped deployment no resource holds: deploying it takes it
        drift: list[Drift] = []
        recorded: dict[str, Any] = {"algId": service.alg_id or None}
        if manage and owner == resource.uid:
            drift = self._drift(resource, service, shown)
        if shown is not None:
            recorded.update(self._shown_fields(resource, shown, bool(drift), owner))
        elif status == NOT_DEPLOYED:
            recorded["serviceApis"] = None
        message = ""
        if phase == "Failed":
            message = service.error_msg or "the deployment failed"
        elif phase == "Degraded":
            message = service.error_msg or "VIAS reports the service needs attention"
        elif phase == "Finished":
            message = "the service has finished (its package or subscription ended)"
        elif phase == "Unknown":
            message = f"cloud status {status}"
        if shown is not None:
            endpoints = endpoints_of(shown)
            url = self._url(shown)
        else:
            endpoints = dict(resource.status.get("endpoints") or {})
            url = resource.status.get("url")
        connection = {
            k: v
            for k, v in (
                ("url", url or ""),
                ("serviceId", service.service_id),
                ("algId", service.alg_id),
            )
            if v
        }
        return Observation(
            exists=status != NOT_DEPLOYED,
            owner_uid=owner,
            owner_namespace=owner_ns,
            drift=tuple(drift),
            phase=phase if status != NOT_DEPLOYED else "Unknown",
            cloud_status=status,
            transitional=phase in TRANSITIONAL,
            failed=phase in ("Failed", "Finished"),
            deleting=phase == "Stopping" and resource.deleting,
            stopped=phase == "Stopped" or (status == NOT_DEPLOYED),
            progress=100 if phase == "Running" else (0 if phase == "Failed" else None),
            external_id=service.service_id,
            endpoints=endpoints,
            endpoint=url,
            message=message,
            connection=connection,
            recorded=recorded,
        )

    @staticmethod
    def _stopped(resource: ManagedResource, service: ServiceSummary) -> Observation:
        return Observation(
            exists=True,
            owner_uid=resource.uid,
            owner_namespace=resource.namespace,
            phase="Stopped",
            cloud_status=service.alg_status,
            stopped=True,
            external_id=service.service_id,
            endpoints={},
            recorded={"algId": service.alg_id or None},
        )

    def _url(self, shown: ServiceDetail) -> str | None:
        first = next((api.url for api in shown.service_apis if api.url), None)
        if first is None:
            return None
        if first.startswith(("http://", "https://")):
            return first
        return self.client.transport.base_url.rstrip("/") + "/" + first.lstrip("/")

    def _drift(
        self, resource: ManagedResource, service: ServiceSummary, shown: ServiceDetail | None
    ) -> list[Drift]:
        spec = spec_of(resource)
        status = service.alg_status
        if status == "service_finished":
            return []  # nothing can be deployed any more
        if spec.stopped:
            stoppable = status not in ("service_stopping", "service_stopped")
            return [Drift("spec.stopped", False, True)] if stoppable else []
        if status in ("service_stopped", "service_failed"):
            changed = config_drift(resource, self._sent.get(service.alg_id))
            if status == "service_stopped":
                return [Drift("spec.stopped", True, False)]
            return changed  # failed: deployed again only for a new spec
        if status not in SERVING:
            return []
        # A redeploy made outside the operator cannot be seen: VIAS returns none of these
        # settings, and `updated_at` is not known to be the deployment's (seed 004's example
        # has it equal to release_at, before created_at: the algorithm's release, it seems),
        # so it is recorded, never acted on.
        return config_drift(resource, self._sent.get(service.alg_id))

    def _shown_fields(
        self, resource: ManagedResource, shown: ServiceDetail, drifting: bool, owner: str | None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "serviceName": shown.service_name or None,
            "algorithm": {
                "name": shown.alg_name or None,
                "version": shown.alg_version or None,
                "versions": list(shown.alg_versions) or None,
                "package": shown.package_name or None,
            },
            "deployType": shown.deploy_type or None,
            "requestMode": shown.request_mode or None,
            "poolId": shown.pool_id or None,
            "serviceApis": service_apis(shown) or None,
            "deploymentConstraints": constraints_of(shown),
        }
        settled = phase_of(shown.alg_status) not in TRANSITIONAL
        if resource.manage and settled and not drifting and shown.alg_status in SERVING:
            applied, _ = parse_applied(resource.status.get(APPLIED))
            if applied or owner == resource.uid:
                # Seen in line: what the spec asks runs, as of this updated_at.
                fields[APPLIED] = render_applied(wanted(resource), shown.updated_at or 0)
        return fields

    # -- act ---------------------------------------------------------------------------------

    async def find_owned(self, resource: ManagedResource, ctx: CallContext) -> Lookup:
        return Lookup()  # client-named: never asked

    async def create(self, resource: ManagedResource, ctx: CallContext) -> str:
        spec = spec_of(resource)
        alg_id = resource.external_name
        claimant = self._claimant(alg_id)
        if claimant is not None and claimant != resource.uid:
            raise Conflict(
                f'algorithm "{alg_id}" is being deployed for another resource (uid {claimant})',
                code="AlgorithmClaimed",
            )
        owner, _ = self._owner(resource, alg_id, ctx)
        if owner not in (None, resource.uid):
            raise Conflict(
                f'algorithm "{alg_id}" is recorded by another resource (uid {owner})',
                code="AlgorithmHeld",
            )
        item = self.observer.get(alg_id)
        if item is None and not self.observer.ready:
            raise _unlisted()  # whether it runs is not known: a deploy could upgrade it
        status = item.service.alg_status if item is not None else NOT_DEPLOYED
        if item is not None and item.service.service_id:
            # The listing may be minutes old, and a deploy on a running service upgrades it:
            # what runs now decides, not what ran then.
            with contextlib.suppress(NotFound):
                status = (await self.client.show_service(item.service.service_id)).alg_status
            if status != NOT_DEPLOYED and status not in AT_REST:
                if claimant == resource.uid:
                    return alg_id  # this process's deploy (its answer was lost): it runs
                raise Conflict(
                    f'algorithm "{alg_id}" is already deployed ({status})',
                    code="AlgorithmDeployed",
                )
        first = status == NOT_DEPLOYED
        if first and not spec.pool_id:
            raise Invalid(
                f'spec.poolId is required for the first deployment of algorithm "{alg_id}"',
                code="PoolIdRequired",
            )
        self._claim(alg_id, resource.uid)
        try:
            await self._deploy(resource)
        except (Invalid, Conflict):
            # Refused: nothing was deployed, so nothing here may pass for this resource's.
            self._claims.pop(alg_id, None)
            self._sent.pop(alg_id, None)
            raise
        return alg_id

    async def _deploy(self, resource: ManagedResource) -> None:
        spec = spec_of(resource)
        alg_id = resource.external_name
        self._sent[alg_id] = wanted(resource)
        try:
            await self.client.deploy(
                alg_id,
                stream_count=spec.stream_count or 1,
                pool_id=spec.pool_id,
                # Sent even when empty: a field left out keeps what the last deploy set, so
                # a removed env (a Secret's value, say) would keep running.
                deploy_config=dict(spec.deploy_config or {}),
                envs=envs_of(resource),
            )
        except NotFound:
            raise Invalid(
                f'algorithm "{alg_id}" is not one of this project\'s algorithms '
                "(VIAS.00010002): check spec.algId and the provider config's projectId",
                code="AlgorithmNotFound",
            ) from None
        finally:
            self.observer.invalidate(alg_id, created=True)

    async def claim(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        # Nothing to stamp on a VIAS service: adopting records the algorithm id on the
        # resource (the reconciler's identity annotation), which makes it this one's.
        self._claim(resource.external_name, resource.uid)
        # Its settings cannot be read back: what runs is taken as the spec of the moment of
        # adoption, so a spec change after it (even before the next Show) redeploys.
        self._sent[resource.external_name] = wanted(resource)
        return {APPLIED: render_applied(wanted(resource), None)}

    async def update(
        self, resource: ManagedResource, ctx: CallContext, observation: Observation
    ) -> dict[str, Any]:
        changed = {d.path for d in observation.drift}
        if not changed:
            return {}
        alg_id = resource.external_name
        if spec_of(resource).stopped:
            try:
                await self.client.stop(alg_id)
            finally:
                self.observer.invalidate(alg_id)
            return {}
        await self._deploy(resource)
        return {APPLIED: render_applied(wanted(resource), None)}

    async def delete(self, resource: ManagedResource, ctx: CallContext) -> None:
        alg_id = resource.external_name
        self._claims.pop(alg_id, None)
        self._sent.pop(alg_id, None)
        try:
            with contextlib.suppress(NotFound):  # never deployed: nothing runs
                await self.client.stop(alg_id)
        finally:
            self.observer.invalidate(alg_id)

    def gone(self, observation: Observation) -> bool:
        status = observation.cloud_status
        return not observation.exists or status in AT_REST or status == NOT_DEPLOYED
