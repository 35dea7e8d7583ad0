"""The generic managed-resource reconciler: one algorithm for every kind and cloud.

Order of business, as in Crossplane's managed reconciler:
 1. paused → report and stop;
 2. being deleted → honour deletionPolicy/managementPolicy, delete on the cloud, keep the
    finalizer until the cloud confirms the resource is gone;
 3. Manage: the finalizer and the identity marker go on *before* any create call;
 4. observe; absent → create, by the identity strategy:
    - client-named (EAS name, VIAS algorithm id): the name is recorded first; a create that
      conflicts is adopted only if the cloud resource carries this resource's uid;
    - server-named (ModelArts service_id, Fabric instance id): `create-pending` (uid, time)
      is recorded first, the returned id at once after; a later reconcile that finds the
      marker and no id looks the resource up by the owner marker it stamped: found → record
      it; provably absent → create again; undecidable → CreateIncomplete, never a blind
      second create;
 5. present but not ours → NameConflict, or, with annotation `cloudinfer.io/adopt: "true"`,
    take it over (unowned, or owned from this namespace); what another namespace's resource
    made is adopted (or cloned) only when the provider config allows it;
 6. present → if it differs from the spec and is not mid-transition, update; Ready only
    once an observation shows the cloud runs this generation;
 7. write status (only what changed), the connection Secret (only one this resource
    controls), and Events on transitions.

Errors are classified: terminal ones are recorded against the generation and not retried
until the spec changes or the `cloudinfer.io/retry` annotation takes a new value; throttling
waits for retry-after; transient ones back off with jitter, permission and credential
refusals slowly. A deletion is retried whatever the error. The algorithm does no I/O of its
own: the adapter talks to the cloud, the writer to Kubernetes. It returns when to look
again, or None when an event will say so (the observer tells it when the cloud changes; the
runtime adds a long resync)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cloudinfer import conditions
from cloudinfer.adapters.base import (
    EXTERNAL_NAME,
    OWNER_LABEL,
    RESOURCE_LABEL,
    CallContext,
    CreatePending,
    CrossNamespace,
    Drift,
    ExternalClient,
    Lookup,
    ManagedResource,
    Observation,
)
from cloudinfer.api.kinds import ManagedKind
from cloudinfer.clouds.errors import (
    AuthFailed,
    Busy,
    CloudError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    Waiting,
)
from cloudinfer.clouds.ratelimit import Parked
from cloudinfer.observer.batch import StaleSnapshot

FINALIZER = "cloudinfer.io/finalizer"
CREATE_PENDING = "cloudinfer.io/create-pending"
PAUSED = "cloudinfer.io/paused"
# Any new value retries a refusal the cloud called final, without a spec edit.
RETRY = "cloudinfer.io/retry"
# "true" with managementPolicy Manage: take over an existing cloud resource that nobody, or
# a resource of this namespace (e.g. this one before a backup restore), owns.
ADOPT = "cloudinfer.io/adopt"
# The account (a digest, see Provider.account_identity) the cloud resource was made in.
ACCOUNT = "cloudinfer.io/account"
ID_WRITE_ATTEMPTS = 5  # a lost id is a leaked resource: insist before giving up


class ResourceWriter(Protocol):
    async def prepare(
        self, resource: ManagedResource, annotations: dict[str, str | None], finalizer: bool
    ) -> None:
        """Set/remove annotations, and ensure the finalizer when asked (metadata only)."""

    async def remove_finalizer(self, resource: ManagedResource) -> None: ...

    async def write_status(self, resource: ManagedResource, status: dict[str, Any]) -> None:
        """Patch status if it differs from resource.status."""

    async def write_connection_secret(
        self, resource: ManagedResource, data: dict[str, str]
    ) -> str | None:
        """Write the connection Secret; the reason it was not written (a Secret this
        resource does not control is never overwritten), or None."""

    async def event(
        self, resource: ManagedResource, type_: str, reason: str, message: str
    ) -> None: ...


@dataclass
class Verdict:
    ready: tuple[bool | str, str, str]
    synced: tuple[bool, str, str] = (True, "ReconcileSuccess", "")
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reason_from_code(code: str) -> str:
    """A cloud error code as a condition reason: CamelCase words, only the characters the
    CRD's reason pattern accepts (`QuotaExceeded.Instance-Count` → `QuotaExceededInstanceCount`)."""
    words = re.split(r"[^A-Za-z0-9]+", code)
    reason = "".join(w[:1].upper() + w[1:] for w in words if w)
    reason = reason.lstrip("0123456789")
    return reason[:128] or "Refused"


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


class Reconciler:
    def __init__(
        self,
        kind: ManagedKind,
        adapter: ExternalClient,
        writer: ResourceWriter,
        ctx: CallContext,
        retry_base: float = 5.0,
        failures: dict[tuple[str, str, str], int] | None = None,
        rng: random.Random | None = None,
        unsent: dict[tuple[str, str, str], str] | None = None,
    ) -> None:
        """`failures` counts consecutive transient failures per resource (kept by the caller
        across reconciles) for exponential backoff from `retry_base` seconds. `unsent`
        (also kept by the caller) holds, per resource, the `since` of a create-pending
        marker whose create this process held back before sending (its account had no room
        or no rate): the next attempt creates under the same marker, without a lookup
        first. After a restart nothing is known, and the lookup runs."""
        self.kind, self.adapter, self.writer, self.ctx = kind, adapter, writer, ctx
        self.retry_base = retry_base
        self._failures = failures if failures is not None else {}
        self._unsent = unsent if unsent is not None else {}
        self._rng = rng or random.Random()
        self._id_recorded = False  # this reconcile recorded a server-named id

    @property
    def _server_named(self) -> bool:
        return self.adapter.identity == "server-named"

    # -- entry point -------------------------------------------------------------------------

    async def reconcile(self, res: ManagedResource) -> float | None:
        self._id_recorded = False
        delay = await self._reconcile(res)
        if self._id_recorded:
            # The runtime follows a server-named resource by its id on the observer, and
            # learns the id from the object at its next reconcile: until then the observer's
            # news of the new service reaches no one, and our own annotation write wakes
            # nothing. Come back soon, whatever else was planned.
            return self.retry_base if delay is None else min(delay, self.retry_base)
        return delay

    async def _reconcile(self, res: ManagedResource) -> float | None:
        if res.annotations.get(PAUSED, "").lower() == "true":
            paused = (False, "ReconcilePaused", f"paused by the {PAUSED} annotation")
            await self._write(res, None, Verdict(ready=self._old_ready(res), synced=paused))
            return None
        moved = self._identity_moved(res)
        if moved is not None and not (res.deleting and release_reason(res.spec)):
            # Acting now would create a duplicate in the new place (or delete a namesake).
            await self._refuse(res, None, *moved)
            return None
        if res.deleting:
            return await self._delete(res)
        try:
            obs = await self.adapter.observe(res, self.ctx)
        except CloudError as exc:
            return await self._cloud_error(res, None, exc, "observe")
        if not obs.exists:
            return await self._absent(res)
        if obs.owner_uid != res.uid:
            if not res.manage and self._elsewhere(res, obs):
                return await self._cross_namespace(res, obs)
            # Server-named: found by the id recorded for this resource, so it is ours.
            if res.manage and (obs.owner_uid is not None or not self._server_named):
                if res.annotations.get(ADOPT, "").lower() == "true":
                    return await self._adopt(res, obs)
                return await self._conflict(res, obs)
        return await self._sync(res, obs)

    # -- steps -------------------------------------------------------------------------------

    async def _absent(self, res: ManagedResource) -> float | None:
        if not res.manage:
            what = res.external_id or res.external_name
            message = f'"{what}" not found; managementPolicy Observe never creates it'
            await self._write(
                res, Observation(exists=False), Verdict((False, "ExternalNotFound", message))
            )
            return None
        if refused(res):
            return None  # refused before: only a spec change or a retry request retries
        server_named = self._server_named and not res.external_id
        if server_named and self._own_pending(res) and not self._held_back(res):
            return await self._resolve_pending(res)  # a create may have been sent
        return await self._create(res)

    def _own_pending(self, res: ManagedResource) -> bool:
        return res.create_pending is not None and res.create_pending.uid == res.uid

    def _held_back(self, res: ManagedResource) -> bool:
        """Whether this resource's create-pending marker is one whose create was never sent."""
        pending = res.create_pending
        return pending is not None and self._unsent.get(res.key) == pending.since

    async def _resolve_pending(self, res: ManagedResource) -> float | None:
        """A create may have happened and its id was not recorded: find it by our marker."""
        try:
            res, lookup = await self._find_created(res)
        except CloudError as exc:
            return await self._cloud_error(res, None, exc, "look up")
        if lookup.found:
            return await self._found_created(res, lookup.found)
        if lookup.authoritative:
            return await self._create(res)
        since = res.create_pending.since if res.create_pending else "?"
        message = (
            f"a create started at {since} may have succeeded but its id was not recorded, and "
            f"the cloud cannot tell whether it did ({lookup.detail or 'lookup inconclusive'}); "
            f"check the cloud for a resource marked with {OWNER_LABEL}={res.uid}, then set "
            f"annotation {EXTERNAL_NAME} to its id, or remove {CREATE_PENDING} to create anew"
        )
        await self._refuse(res, None, "CreateIncomplete", message)
        return self.retry_base * 12

    def _identity_moved(self, res: ManagedResource) -> tuple[str, str] | None:
        """(reason, message) when what identifies the cloud resource no longer agrees with
        what was recorded when it was made: the account, or an edited external name."""
        recorded = res.annotations.get(ACCOUNT)
        if recorded and self.ctx.account and recorded != self.ctx.account:
            return "AccountChanged", (
                "the provider config (its endpoint, region, scope or credentials' account) "
                f"now reaches another account than the one this resource was made in "
                f"(annotation {ACCOUNT}={recorded}, now {self.ctx.account}); nothing is done "
                "on the cloud. Point the provider config back, or remove the annotation to "
                "accept the new account (a cloud resource left in the old one stays there)"
            )
        name = res.annotations.get(EXTERNAL_NAME)
        if not self._server_named and name:
            want = self.adapter.external_name(res.spec, res.name)
            if name != want:
                return "ExternalNameChanged", (
                    f'annotation {EXTERNAL_NAME} is "{name}" but the spec names "{want}"; '
                    "nothing is done on the cloud until they agree (restore the annotation, "
                    "or remove it to use the spec's name)"
                )
        return None

    def _identity_annotations(self, res: ManagedResource) -> dict[str, str | None]:
        """Client-named: the name, recorded for good (what a lost create made is found by
        it). Server-named: the id is recorded after the create; see _create. Both: the
        account it is made in."""
        marks: dict[str, str | None] = {}
        if not self._server_named and res.annotations.get(EXTERNAL_NAME) != res.external_name:
            marks[EXTERNAL_NAME] = res.external_name
        if self.ctx.account and res.annotations.get(ACCOUNT) != self.ctx.account:
            marks[ACCOUNT] = self.ctx.account
        return marks

    async def _unrecord(self, res: ManagedResource) -> ManagedResource:
        """Take back the name this create recorded (client-named)."""
        await self.writer.prepare(res, {EXTERNAL_NAME: None}, finalizer=False)
        annotations = {k: v for k, v in res.annotations.items() if k != EXTERNAL_NAME}
        return dataclasses.replace(res, annotations=annotations)

    async def _create(self, res: ManagedResource) -> float | None:
        # One metadata write before the create call: the finalizer (the object cannot vanish
        # with a service behind it) and the identity marker.
        marker = self._identity_annotations(res)
        if self._server_named and not (self._own_pending(res) and self._held_back(res)):
            pending = CreatePending(res.uid, _now())
            marker[CREATE_PENDING] = pending.render()
            res = dataclasses.replace(res, create_pending=pending)
        if marker or FINALIZER not in res.finalizers:
            await self.writer.prepare(res, marker, finalizer=True)
            res = dataclasses.replace(
                res, finalizers=tuple(dict.fromkeys((*res.finalizers, FINALIZER)))
            )
        self._unsent.pop(res.key, None)  # from here on it may be sent
        try:
            external_id = await self.adapter.create(res, self.ctx)
        except Parked:
            self._hold_back(res)  # nothing sent: the account has no room now
            raise
        except Throttled as exc:
            if not exc.local:
                return await self._create_refused(res, exc)
            self._hold_back(res)  # nothing sent: our own rate limit
            return await self._cloud_error(res, None, exc, "create")
        except Conflict as exc:
            if self._server_named:
                return await self._name_taken(res, exc)
            if EXTERNAL_NAME in marker:
                # Recorded for this create only, so it proves nothing, and it must not pass
                # for ours later (a cloud that keeps no owner marker, VIAS, goes by it).
                res = await self._unrecord(res)
            # A name clash: ours from an earlier attempt whose answer was lost, or someone else's.
            try:
                obs = await self.adapter.observe(res, self.ctx, fresh=True)
            except CloudError as exc:
                return await self._cloud_error(res, None, exc, "observe")
            if obs.exists and obs.owner_uid == res.uid:
                return await self._sync(res, obs)
            return await self._conflict(res, obs)
        except CloudError as exc:
            if isinstance(exc, Invalid) and EXTERNAL_NAME in marker:
                res = await self._unrecord(res)  # refused: nothing was made under the name
            return await self._create_refused(res, exc)
        if self._server_named:
            res = await self._record_id(res, external_id)
        source = getattr(res.spec, "clone_from", None)
        how = f"cloned from {source.service_name}" if source is not None else "created"
        await self.writer.event(
            res, "Normal", "CreatedExternal", f'"{res.external_name}" {how} ({external_id})'
        )
        self._failures.pop(res.key, None)
        # No status write here: the observer follows the new resource and tells us as soon as
        # it sees it (about a second), and that status says more (the cloud's id, instances)
        # than we could now. One write per resource fewer is a sixth of a burst's writes.
        # (Server-named: reconcile() asks to come back soon, see there.)
        return None

    def _hold_back(self, res: ManagedResource) -> None:
        if self._server_named and res.create_pending is not None:
            self._unsent[res.key] = res.create_pending.since

    async def _create_refused(self, res: ManagedResource, exc: CloudError) -> float | None:
        if self._server_named and isinstance(exc, REFUSED_UNDONE):
            # The cloud answered no: nothing was made, so the next attempt need not look for
            # it first (a listing of the whole project per retry, even after a restart).
            res = await self._drop_pending(res)
        return await self._cloud_error(res, None, exc, "create")

    async def _drop_pending(self, res: ManagedResource) -> ManagedResource:
        if res.create_pending is None:
            return res
        await self.writer.prepare(res, {CREATE_PENDING: None}, finalizer=False)
        return dataclasses.replace(res, create_pending=None)

    async def _found_created(self, res: ManagedResource, found: str) -> float | None:
        """What an earlier create made was found (and its id recorded): carry on with it."""
        await self.writer.event(
            res, "Normal", "AdoptedExternal", f'found "{found}" created earlier'
        )
        try:
            obs = await self.adapter.observe(res, self.ctx, fresh=True)
        except CloudError as exc:
            return await self._cloud_error(res, None, exc, "observe")
        return await self._sync(res, obs) if obs.exists else None

    async def _find_created(self, res: ManagedResource) -> tuple[ManagedResource, Lookup]:
        """Look up what a create whose id was lost made, by our owner marker; a found id is
        recorded at once (on `res` too)."""
        lookup = await self.adapter.find_owned(res, self.ctx)
        if lookup.found:
            res = await self._record_id(res, lookup.found)
        return res, lookup

    async def _record_id(self, res: ManagedResource, external_id: str) -> ManagedResource:
        """Persist a server-named id at once; retried, because a lost id is a leak (a later
        reconcile would still find it by the owner marker, but only while it carries one)."""
        for attempt in range(ID_WRITE_ATTEMPTS):
            try:
                await self.writer.prepare(
                    res, {EXTERNAL_NAME: external_id, CREATE_PENDING: None}, finalizer=False
                )
                break
            except Exception:
                if attempt == ID_WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        self._id_recorded = True
        return dataclasses.replace(res, external_id=external_id, create_pending=None)

    async def _name_taken(self, res: ManagedResource, exc: Conflict) -> float | None:
        """Server-named: the cloud refused the create because the name is taken (ModelArts
        names are unique in a project). Ours if it carries our marker (an earlier create
        that was slow to land); anyone else's is a NameConflict."""
        try:
            res, lookup = await self._find_created(res)
        except CloudError as error:
            return await self._cloud_error(res, None, error, "look up")
        if lookup.found:
            return await self._found_created(res, lookup.found)
        res = await self._drop_pending(res)  # refused: nothing of ours to look for later
        message = (
            f'the name "{res.external_name}" is taken by a service this resource did not '
            f"create ({exc}); set spec.serviceName to another name, or mirror that service "
            "read-only with managementPolicy: Observe and its id"
        )
        await self._refuse(res, None, "NameConflict", message)
        return None

    async def _conflict(self, res: ManagedResource, obs: Observation) -> float | None:
        owner = obs.owner_uid or "absent"
        message = (
            f'"{res.external_name}" already exists and is not owned by this '
            f"resource (label {OWNER_LABEL}={owner}); set another name, take it over with "
            f'annotation {ADOPT}: "true", or mirror it read-only with managementPolicy: Observe'
        )
        await self._refuse(res, None, "NameConflict", message)
        return None

    def _elsewhere(self, res: ManagedResource, obs: Observation) -> bool:
        """Made by another namespace's resource, and the provider config does not allow
        using it from here. Unlabelled resources (made outside Kubernetes) are no one's."""
        return (
            obs.owner_uid is not None
            and obs.owner_uid != res.uid
            and obs.owner_namespace != res.namespace
            and not self.ctx.cross_namespace
        )

    async def _cross_namespace(self, res: ManagedResource, obs: Observation) -> float | None:
        where = obs.owner_namespace or "unknown"
        message = (
            f'"{res.external_name}" belongs to a resource in namespace "{where}" (label '
            f"{RESOURCE_LABEL}); it can be adopted only from there, unless the provider config "
            "sets spec.allowCrossNamespaceAdoption"
        )
        # Nothing of the other namespace's service goes into this status.
        await self._refuse(res, None, "CrossNamespaceAdoption", message)
        return None

    async def _adopt(self, res: ManagedResource, obs: Observation) -> float | None:
        """Take over: stamp our owner labels on it, then manage it as if we had made it
        (_sync records the name/id and the finalizer)."""
        if self._elsewhere(res, obs):
            return await self._cross_namespace(res, obs)
        try:
            recorded = await self.adapter.claim(res, self.ctx, obs)
        except CloudError as exc:
            return await self._cloud_error(res, obs, exc, "adopt")
        previous = f"resource {obs.owner_uid}" if obs.owner_uid else "nobody"
        await self.writer.event(
            res,
            "Normal",
            "AdoptedExternal",
            f'took over "{res.external_name}" (owned by {previous} before)',
        )
        obs = dataclasses.replace(obs, owner_uid=res.uid, owner_namespace=res.namespace)
        return await self._sync(res, obs, dict(recorded or {}))

    async def _sync(
        self, res: ManagedResource, obs: Observation, extra: dict[str, Any] | None = None
    ) -> float | None:
        extra = dict(extra or {})
        manage = res.manage
        was_refused = refused(res)
        updated = False
        if manage and obs.drift and not obs.transitional and not obs.deleting and not was_refused:
            try:
                extra.update(await self.adapter.update(res, self.ctx, obs))
            except CloudError as exc:
                return await self._cloud_error(res, obs, exc, "update")
            updated = True
            await self.writer.event(
                res,
                "Normal",
                "UpdatingExternal",
                "bringing the service in line with the spec: " + Drift.describe(obs.drift),
            )
        if manage:
            # An adopted or found resource: the same marks a create would have made.
            marks = self._identity_annotations(res)
            if res.create_pending is not None:
                marks[CREATE_PENDING] = None
            if marks or FINALIZER not in res.finalizers:
                await self.writer.prepare(res, marks, finalizer=True)
        ref = res.spec.write_connection_secret_to_ref
        unwritten = None
        if ref is not None and obs.connection:
            unwritten = await self.writer.write_connection_secret(res, obs.connection)
        verdict = Verdict(ready=readiness(obs, _stopped(res)), extra=extra)
        if manage and obs.drift and not obs.deleting:
            # Ready means "this generation is live": not while the cloud still differs, even
            # when what it runs now is healthy (kubectl wait must not return before the
            # change is applied). An observation without drift sets it again.
            paths = Drift.describe(obs.drift)
            if updated:
                verdict.ready = (False, "Updating", f"applying the spec: {paths}")
            elif was_refused:
                verdict.ready = self._old_ready(res)
            elif verdict.ready[0] is True:
                verdict.ready = (False, "Updating", f"waiting to apply the spec: {paths}")
        if not was_refused:
            verdict.extra.update(failedGeneration=None, failedRetry=None)
        else:
            verdict.synced = self._old_synced(res)
        message = None
        if not manage and obs.drift:
            message = "differs from spec (Observe mode reports, never corrects): " + (
                Drift.describe(obs.drift)
            )
        elif manage and obs.drift and obs.transitional:
            message = "waiting for the cloud to finish before correcting: " + Drift.describe(
                obs.drift
            )
        event = None
        if message and message != res.status.get("message") and not manage:
            event = ("Warning", "DriftDetected", message)
        verdict.extra["message"] = message or verdict.ready[2]
        if unwritten is not None:
            if self._old_synced(res)[1] != "ConnectionSecretConflict":
                event = ("Warning", "ConnectionSecretConflict", unwritten)
            verdict.synced = (False, "ConnectionSecretConflict", unwritten)
        await self._write(res, obs, verdict, event=event)
        if unwritten is not None:
            # A Secret that is not ours says nothing to our watches when it goes: look again
            # now and then (no cloud call: the observer's copy answers).
            return 60.0
        return None  # after an update the observer follows the resource and tells us

    async def _delete(self, res: ManagedResource) -> float | None:
        if FINALIZER not in res.finalizers:
            return None
        why = release_reason(res.spec)
        if why is not None:
            await release(self.writer, res, why)
            return None
        if self._server_named and not res.external_id:
            if not self._own_pending(res) or self._held_back(res):
                await self.writer.remove_finalizer(res)  # never created: nothing to delete
                return None
            try:
                res, lookup = await self._find_created(res)
            except CloudError as exc:
                return await self._cloud_error(res, None, exc, "look up")
            if not lookup.found and lookup.authoritative:
                await self.writer.remove_finalizer(res)  # provably never made
                return None
            if not lookup.found:
                return await self._retry(res, None, f"look up failed: {lookup.detail}")
        try:
            # Asked directly: absence from a listing (paged while others were deleted) must
            # never release a finalizer with a service behind it.
            obs = await self.adapter.observe(res, self.ctx, fresh=True)
            if self.adapter.gone(obs):
                await self.writer.event(
                    res, "Normal", "DeletedExternal", f'"{res.external_name}" is gone'
                )
                await self.writer.remove_finalizer(res)
                return None
            if obs.owner_uid not in (None, res.uid) or (
                obs.owner_uid is None and not self._server_named
            ):
                await self.writer.event(
                    res, "Warning", "NotOwned", f'"{res.external_name}" is not ours; leaving it'
                )
                await self.writer.remove_finalizer(res)
                return None
            if not obs.deleting:
                await self.adapter.delete(res, self.ctx)
                await self.writer.event(
                    res, "Normal", "DeletingExternal", f'deleting "{res.external_name}"'
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
        return None

    async def _cloud_error(
        self, res: ManagedResource, obs: Observation | None, exc: CloudError, verb: str
    ) -> float | None:
        detail = f"{verb} failed: {exc}"
        if isinstance(exc, Throttled):
            if exc.local:
                return max(exc.retry_after, 0.1)  # our own limiter: not worth a status write
            await self._write(
                res, obs, Verdict(ready=self._old_ready(res), synced=(False, "Throttled", detail))
            )
            return max(exc.retry_after, 1.0)
        if isinstance(exc, StaleSnapshot):
            verdict = Verdict(
                ready=("Unknown", "ObservationStale", detail),
                synced=(False, "ObservationStale", detail),
            )
            await self._write(res, obs, verdict)
            return None  # the observer tells us when listing works again
        if isinstance(exc, CrossNamespace):
            # The provider config's watch wakes the resource when it allows it.
            await self._refuse(res, obs, "CrossNamespaceAdoption", exc.message)
            return None
        if isinstance(exc, Waiting):
            # Others hold what this needs; no event of ours says when they let go.
            await self._refuse(res, obs, exc.reason, exc.message)
            return self._backoff(res, self.retry_base, WAIT_CAP)
        if isinstance(exc, AuthFailed):
            # The Secret's watch wakes the resource when it is fixed; until then, slowly.
            await self._refuse(res, obs, "CredentialsRejected", detail)
            return self._backoff(res, 60.0, 600.0)
        if isinstance(exc, Forbidden):
            # An admin grants the permission (or frees the name): no spec change will come.
            await self._refuse(res, obs, "Forbidden", detail)
            return self._backoff(res, 60.0, 600.0)
        if exc.terminal and not res.deleting:
            reason = reason_from_code(exc.code or type(exc).__name__)
            extra = {
                "failedGeneration": res.generation,
                "failedRetry": res.annotations.get(RETRY),
                "message": detail,
            }
            verdict = Verdict(
                ready=(False, reason, detail), synced=(False, "TerminalError", detail), extra=extra
            )
            await self._write(res, obs, verdict, event=("Warning", reason, detail))
            return None
        return await self._retry(res, obs, detail)

    def _backoff(self, res: ManagedResource, base: float, cap: float) -> float:
        """Exponential from `base` per consecutive failure of this resource, jittered."""
        attempts = self._failures.get(res.key, 0)
        self._failures[res.key] = attempts + 1
        delay = min(cap, base * float(2 ** min(attempts, 8)))
        return max(1.0, delay * self._rng.uniform(0.5, 1.5))

    async def _retry(self, res: ManagedResource, obs: Observation | None, detail: str) -> float:
        delay = self._backoff(res, self.retry_base, 300.0)
        await self._write(
            res, obs, Verdict(ready=self._old_ready(res), synced=(False, "ReconcileError", detail))
        )
        return delay

    # -- status ------------------------------------------------------------------------------

    def _old_ready(self, res: ManagedResource) -> tuple[bool | str, str, str]:
        old = conditions.find(res.status.get("conditions"), conditions.READY)
        if old is None:
            return False, "Unknown", "not observed yet"
        status = str(old.get("status"))
        value: bool | str = {"True": True, "False": False}.get(status, status)
        return value, str(old.get("reason")), str(old.get("message", ""))

    def _old_synced(self, res: ManagedResource) -> tuple[bool, str, str]:
        old = conditions.find(res.status.get("conditions"), conditions.SYNCED)
        if old is None:
            return True, "ReconcileSuccess", ""
        return old.get("status") == "True", str(old.get("reason")), str(old.get("message", ""))

    async def _refuse(
        self, res: ManagedResource, obs: Observation | None, reason: str, message: str
    ) -> None:
        """Not Ready and not Synced for the same reason, with a Warning Event when the reason
        is new (a refusal retried every minute is one Event, not one a minute)."""
        verdict = Verdict(ready=(False, reason, message), synced=(False, reason, message))
        old = conditions.find(res.status.get("conditions"), conditions.READY)
        event = None if old is not None and old.get("reason") == reason else ("Warning", reason)
        await self._write(res, obs, verdict, event=(*event, message) if event else None)

    async def _write(
        self,
        res: ManagedResource,
        obs: Observation | None,
        verdict: Verdict,
        event: tuple[str, str, str] | None = None,
    ) -> None:
        if verdict.synced[0]:
            self._failures.pop(res.key, None)
        await report(self.kind, self.writer, res, verdict, obs, event)


WAIT_CAP = 60.0  # the longest between two checks of a Waiting resource, in seconds

# Answers that prove a create was refused before anything was made (unlike a timeout, a
# dropped connection or a 5xx, after which it may have been).
REFUSED_UNDONE = (Invalid, AuthFailed, Forbidden, Throttled, Busy, NotFound, Waiting)


def refused(res: ManagedResource) -> bool:
    """Whether the cloud refused this generation for good, and no retry was asked since."""
    status = res.status
    return bool(
        status.get("failedGeneration") == res.generation
        and status.get("failedRetry") == res.annotations.get(RETRY)
    )


def _stopped(res: ManagedResource) -> bool:
    return bool(getattr(res.spec, "stopped", False))


def status_fields(
    kind: ManagedKind, res: ManagedResource, obs: Observation | None
) -> dict[str, Any]:
    """The observed fields of status, under the kind's names."""
    fields: dict[str, Any] = {kind.name_field: res.external_name or None}
    if res.external_id:
        fields[kind.id_field] = res.external_id
    if obs is None:
        return fields
    if not obs.exists:
        cleared = ("phase", "progress", "url", "endpoints", "instances", "cloudStatus")
        return {**fields, **dict.fromkeys(cleared), kind.id_field: res.external_id or None}
    fields.update(
        {
            "phase": obs.phase,
            "cloudStatus": obs.cloud_status,
            "progress": obs.progress,
            "url": obs.endpoint,
            "endpoints": obs.endpoints or None,
            "instances": obs.instances,
        }
    )
    if obs.external_id:
        fields[kind.id_field] = obs.external_id
    fields.update(obs.recorded)
    return fields


async def report(
    kind: ManagedKind,
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
        **status_fields(kind, res, obs),
        "message": ready[2] if ready[2] else None,
        **verdict.extra,
        "conditions": new_conditions,
    }
    old_phase = res.status.get("phase")
    await writer.write_status(res, status)
    for cloud_event in obs.cloud_events if obs is not None else ():
        type_ = "Warning" if cloud_event.warning else "Normal"
        await writer.event(res, type_, "CloudEvent", cloud_event.message)
    if event is not None:  # it says what happened: no second Event for the phase it caused
        await writer.event(res, *event)
        return
    new_phase = status.get("phase")
    # The first sight of a resource mid-transition (ours, just created: CreatedExternal said
    # so) is not news; a settled phase (Running, Failed, an adopted service's) is.
    first_and_moving = old_phase is None and obs is not None and obs.transitional
    if (
        obs is not None
        and obs.exists
        and new_phase
        and new_phase != old_phase
        and not (first_and_moving)
    ):
        type_ = "Warning" if new_phase == "Failed" else "Normal"
        await writer.event(res, type_, str(new_phase), str(status.get("message") or ""))


async def release(writer: ResourceWriter, res: ManagedResource, why: str) -> None:
    """Let a deleted resource go and leave its cloud resource (Orphan, or Observe)."""
    what = res.external_id or res.external_name
    await writer.event(res, "Normal", "Orphaned", f'left "{what}" on the cloud ({why})')
    await writer.remove_finalizer(res)


def release_reason(spec: Any) -> str | None:
    """Why deleting this resource must not delete the cloud resource, if it must not."""
    if spec is None:
        return None
    if spec.management_policy != "Manage":
        return "managementPolicy is Observe"
    if spec.deletion_policy == "Orphan":
        return "deletionPolicy is Orphan"
    return None
