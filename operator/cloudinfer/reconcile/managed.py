"""The generic managed-resource reconciler (one algorithm for every kind and cloud).

Order of business, as in Crossplane's managed reconciler:
 1. paused → report and stop;
 2. being deleted → honour deletionPolicy/managementPolicy, delete on the cloud, keep the
    finalizer until the cloud confirms the service is gone;
 3. Manage: put the finalizer and the external name on the object *before* any create;
 4. observe; absent → create (stamped with the CR uid, create-pending marker written first);
    a create that conflicts is adopted if the service carries our uid, refused otherwise;
 5. present → if it differs from the spec and is not mid-transition, update;
 6. write status (only when it changed), the connection Secret, and Events on transitions.

Errors are classified: terminal ones (invalid config, quota, name owned elsewhere) are
recorded against the generation and not retried until the spec changes; throttling waits
for retry-after; transient ones back off with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cloudinfer import conditions
from cloudinfer.adapters.base import OWNER_LABEL, ExternalClient, ManagedResource, Observation
from cloudinfer.clouds.errors import AuthFailed, CloudError, Conflict, Throttled
from cloudinfer.observer.batch import Intervals

FINALIZER = "cloudinfer.io/finalizer"
EXTERNAL_NAME = "cloudinfer.io/external-name"
CREATE_PENDING = "cloudinfer.io/create-pending"
PAUSED = "cloudinfer.io/paused"


class ResourceWriter(Protocol):
    async def prepare(self, resource: ManagedResource, annotations: dict[str, str | None]) -> None:
        """Ensure the finalizer and set/remove annotations (metadata only, never spec)."""

    async def remove_finalizer(self, resource: ManagedResource) -> None: ...

    async def write_status(self, resource: ManagedResource, status: dict[str, Any]) -> None:
        """Patch status if it differs from resource.status."""

    async def write_connection_secret(
        self, resource: ManagedResource, data: dict[str, str]
    ) -> None: ...

    async def event(
        self, resource: ManagedResource, type_: str, reason: str, message: str
    ) -> None: ...


@dataclass
class Verdict:
    ready: tuple[bool, str, str]
    synced: tuple[bool, str, str] = (True, "ReconcileSuccess", "")
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def readiness(obs: Observation, want_stopped: bool) -> tuple[bool, str, str]:
    """Ready from the observation: True only when serving as the spec asks."""
    if obs.failed:
        return False, "DeployFailed", obs.message or "the cloud reports the service failed"
    if obs.phase == "Running" and not want_stopped:
        return True, "Available", "service is running"
    if obs.phase == "Stopped" and want_stopped:
        return False, "Stopped", "service is stopped as requested"
    if obs.transitional:
        progress = f" ({obs.progress}% of instances running)" if obs.progress is not None else ""
        return False, obs.phase, f"service is {obs.phase.lower()}{progress}"
    return False, obs.phase or "Unknown", obs.message or f"cloud status {obs.cloud_status}"


def status_fields(obs: Observation | None) -> dict[str, Any]:
    if obs is None or not obs.exists:
        return {}
    return {
        "phase": obs.phase,
        "cloudStatus": obs.cloud_status,
        "progress": obs.progress,
        "serviceId": obs.external_id or None,
        "endpoint": obs.endpoint,
        "endpoints": obs.endpoints or None,
        "instances": obs.instances,
    }


class Reconciler:
    def __init__(
        self,
        adapter: ExternalClient,
        writer: ResourceWriter,
        intervals: Intervals,
        failures: dict[tuple[str, str], int] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """`failures` counts consecutive transient failures per resource (kept by the caller
        across reconciles) for exponential backoff."""
        self.adapter, self.writer, self.intervals = adapter, writer, intervals
        self._failures = failures if failures is not None else {}
        self._rng = rng or random.Random()

    # -- timing ------------------------------------------------------------------------------

    def _stable(self) -> float:
        return self.intervals.stable * self._rng.uniform(0.8, 1.2)

    def _after(self, obs: Observation | None) -> float:
        return (
            self.intervals.transitional if obs is not None and obs.transitional else self._stable()
        )

    # -- entry point -------------------------------------------------------------------------

    async def reconcile(self, res: ManagedResource) -> float | None:
        spec = res.spec
        manage = spec.management_policy == "Manage"
        if res.annotations.get(PAUSED, "").lower() == "true":
            await self._write(
                res,
                None,
                Verdict(
                    ready=self._old_ready(res),
                    synced=(False, "ReconcilePaused", f"paused by the {PAUSED} annotation"),
                ),
            )
            return None
        if res.deleting:
            return await self._delete(res)
        if manage and (
            FINALIZER not in res.finalizers
            or res.annotations.get(EXTERNAL_NAME) != res.external_name
        ):
            # Before anything can be created: the object cannot vanish with a service behind
            # it, and the name the service gets is recorded for good.
            await self.writer.prepare(res, {EXTERNAL_NAME: res.external_name})
        try:
            obs = await self.adapter.observe(res)
        except CloudError as exc:
            return await self._cloud_error(res, None, exc, "observe")
        if not obs.exists:
            if not manage:
                await self._write(
                    res,
                    obs,
                    Verdict(
                        ready=(
                            False,
                            "ExternalNotFound",
                            f'service "{res.external_name}" not found; '
                            "managementPolicy Observe never creates it",
                        )
                    ),
                )
                return self._stable()
            if res.status.get("failedGeneration") == res.generation:
                return None  # refused before: only a spec change retries
            return await self._create(res)
        if manage and obs.owner_uid != res.uid:
            return await self._conflict(res, obs)
        return await self._sync(res, obs, manage)

    # -- steps -------------------------------------------------------------------------------

    async def _create(self, res: ManagedResource) -> float | None:
        await self.writer.prepare(res, {CREATE_PENDING: _now()})
        try:
            await self.adapter.create(res)
        except Conflict:
            # A name clash: ours from an earlier attempt whose answer was lost, or someone else's.
            try:
                obs = await self.adapter.observe(res, fresh=True)
            except CloudError as exc:
                return await self._cloud_error(res, None, exc, "observe")
            if obs.exists and obs.owner_uid == res.uid:
                return await self._sync(res, obs, True)
            return await self._conflict(res, obs)
        except CloudError as exc:
            return await self._cloud_error(res, None, exc, "create")
        source = res.spec.clone_from
        how = f"cloned from {source.service_name}" if source is not None else "created"
        await self.writer.event(
            res, "Normal", "CreatedExternal", f'service "{res.external_name}" {how}'
        )
        pending = Observation(
            exists=True, phase="Creating", cloud_status="Creating", transitional=True, progress=0
        )
        await self._write(res, pending, Verdict(ready=readiness(pending, res.spec.stopped)))
        return self.intervals.transitional

    async def _conflict(self, res: ManagedResource, obs: Observation) -> float | None:
        owner = obs.owner_uid or "absent"
        message = (
            f'service "{res.external_name}" already exists and is not owned by this '
            f"resource (label {OWNER_LABEL}={owner}); set another spec.serviceName, or adopt "
            "it with managementPolicy: Observe"
        )
        await self._write(
            res,
            None,
            Verdict(
                ready=(False, "NameConflict", message), synced=(False, "NameConflict", message)
            ),
            event=("Warning", "NameConflict", message),
        )
        return None

    async def _sync(self, res: ManagedResource, obs: Observation, manage: bool) -> float | None:
        extra: dict[str, Any] = {}
        acted = False
        refused = res.status.get("failedGeneration") == res.generation
        if (
            manage
            and not obs.up_to_date
            and not obs.transitional
            and not obs.deleting
            and not refused
        ):
            try:
                extra = await self.adapter.update(res, obs)
            except CloudError as exc:
                return await self._cloud_error(res, obs, exc, "update")
            acted = True
            await self.writer.event(
                res,
                "Normal",
                "UpdatingExternal",
                "bringing the service in line with the spec: " + "; ".join(obs.drift),
            )
        if res.annotations.get(CREATE_PENDING):
            await self.writer.prepare(res, {CREATE_PENDING: None})
        if res.spec.write_connection_secret_to_ref is not None and obs.connection:
            await self.writer.write_connection_secret(res, obs.connection)
        verdict = Verdict(ready=readiness(obs, res.spec.stopped), extra=extra)
        if not refused:
            verdict.extra["failedGeneration"] = None
        else:
            verdict.synced = self._old_synced(res)
        message = None
        if not manage and obs.drift:
            message = "differs from spec (Observe mode reports, never corrects): " + "; ".join(
                obs.drift
            )
        elif manage and obs.drift and obs.transitional:
            message = "waiting for the cloud to finish before correcting: " + "; ".join(obs.drift)
        event = None
        if message and message != res.status.get("message") and not manage:
            event = ("Warning", "DriftDetected", message)
        verdict.extra["message"] = message or verdict.ready[2]
        await self._write(res, obs, verdict, event=event)
        return self.intervals.transitional if acted else self._after(obs)

    async def _delete(self, res: ManagedResource) -> float | None:
        if FINALIZER not in res.finalizers:
            return None
        why = release_reason(res.spec)
        if why is not None:
            await release(self.writer, res, why)
            return None
        try:
            obs = await self.adapter.observe(res, fresh=True)
            if not obs.exists:
                await self.writer.event(
                    res, "Normal", "DeletedExternal", f'service "{res.external_name}" is gone'
                )
                await self.writer.remove_finalizer(res)
                return None
            if obs.owner_uid != res.uid:
                await self.writer.event(
                    res,
                    "Warning",
                    "NotOwned",
                    f'service "{res.external_name}" is not ours; leaving it',
                )
                await self.writer.remove_finalizer(res)
                return None
            if not obs.deleting:
                await self.adapter.delete(res)
                await self.writer.event(
                    res, "Normal", "DeletingExternal", f'deleting service "{res.external_name}"'
                )
        except CloudError as exc:
            return await self._cloud_error(res, None, exc, "delete")
        deleting = Observation(
            exists=True,
            phase="Deleting",
            cloud_status=obs.cloud_status,
            transitional=True,
            external_id=obs.external_id,
        )
        await self._write(
            res, deleting, Verdict(ready=(False, "Deleting", "service is being deleted"))
        )
        return self.intervals.transitional

    async def _cloud_error(
        self, res: ManagedResource, obs: Observation | None, exc: CloudError, verb: str
    ) -> float | None:
        detail = f"{verb} failed: {exc}"
        if isinstance(exc, Throttled):
            await self._write(
                res, obs, Verdict(ready=self._old_ready(res), synced=(False, "Throttled", detail))
            )
            return max(exc.retry_after, 1.0)
        if isinstance(exc, AuthFailed):
            await self._write(
                res,
                obs,
                Verdict(
                    ready=(False, "CredentialsRejected", detail),
                    synced=(False, "CredentialsRejected", detail),
                ),
                event=("Warning", "CredentialsRejected", detail),
            )
            return 60.0  # fixing the Secret does not change the spec
        if exc.terminal:
            reason = "".join(
                p[:1].upper() + p[1:] for p in (exc.code or "Refused").replace(".", " ").split()
            )
            verdict = Verdict(
                ready=(False, reason, detail),
                synced=(False, "TerminalError", detail),
                extra={"failedGeneration": res.generation, "message": detail},
            )
            await self._write(res, obs, verdict, event=("Warning", reason, detail))
            return None
        attempts = self._failures.get(res.key, 0)
        self._failures[res.key] = attempts + 1
        delay = min(300.0, self.intervals.transitional * float(2 ** min(attempts, 8)))
        delay *= self._rng.uniform(0.5, 1.5)
        await self._write(
            res, obs, Verdict(ready=self._old_ready(res), synced=(False, "ReconcileError", detail))
        )
        return max(1.0, delay)

    # -- status ------------------------------------------------------------------------------

    def _old_ready(self, res: ManagedResource) -> tuple[bool, str, str]:
        old = conditions.find(res.status.get("conditions"), conditions.READY)
        if old is None:
            return False, "Unknown", "not observed yet"
        return old.get("status") == "True", str(old.get("reason")), str(old.get("message", ""))

    def _old_synced(self, res: ManagedResource) -> tuple[bool, str, str]:
        old = conditions.find(res.status.get("conditions"), conditions.SYNCED)
        if old is None:
            return True, "ReconcileSuccess", ""
        return old.get("status") == "True", str(old.get("reason")), str(old.get("message", ""))

    async def _write(
        self,
        res: ManagedResource,
        obs: Observation | None,
        verdict: Verdict,
        event: tuple[str, str, str] | None = None,
    ) -> None:
        if verdict.synced[0]:
            self._failures.pop(res.key, None)
        await report(self.writer, res, verdict, obs, event)


async def report(
    writer: ResourceWriter,
    res: ManagedResource,
    verdict: Verdict,
    obs: Observation | None = None,
    event: tuple[str, str, str] | None = None,
) -> None:
    """Write Ready/Synced and the observed fields (only what changed), then post `event` and
    an Event when the phase changes. Also used for resources that cannot reach the cloud."""
    gen = res.generation
    ready, synced = verdict.ready, verdict.synced
    new_conditions = conditions.merge(
        res.status.get("conditions"),
        [
            conditions.make(conditions.READY, ready[0], ready[1], ready[2][:32000], gen),
            conditions.make(conditions.SYNCED, synced[0], synced[1], synced[2][:32000], gen),
        ],
    )
    status: dict[str, Any] = {
        "observedGeneration": gen,
        "serviceName": res.external_name or None,
        **status_fields(obs),
        "message": ready[2] if ready[2] else None,
        **verdict.extra,
        "conditions": new_conditions,
    }
    if obs is not None and not obs.exists:
        for key in (
            "phase",
            "progress",
            "endpoint",
            "endpoints",
            "instances",
            "serviceId",
            "cloudStatus",
        ):
            status.setdefault(key, None)
    old_phase = res.status.get("phase")
    await writer.write_status(res, status)
    if event is not None:
        await writer.event(res, *event)
    new_phase = status.get("phase")
    if obs is not None and obs.exists and new_phase and new_phase != old_phase:
        type_ = "Warning" if new_phase == "Failed" else "Normal"
        await writer.event(res, type_, str(new_phase), str(status.get("message") or ""))


async def release(writer: ResourceWriter, res: ManagedResource, why: str) -> None:
    """Let a deleted resource go and leave its cloud service (Orphan, or Observe)."""
    await writer.event(
        res, "Normal", "Orphaned", f'left service "{res.external_name}" on the cloud ({why})'
    )
    await writer.remove_finalizer(res)


def release_reason(spec: Any) -> str | None:
    """Why deleting this resource must not delete the cloud service, if it must not."""
    if spec.management_policy != "Manage":
        return "managementPolicy is Observe"
    if spec.deletion_policy == "Orphan":
        return "deletionPolicy is Orphan"
    return None
