-- Health of a cloudinfer managed resource: InferenceService, ServiceInstance and
-- AlgorithmService (one script, the same file in each folder, kept equal by a test), and
-- unchanged any other kind whose status is cloudinfer's ManagedStatus (conditions Ready and
-- Synced, observedGeneration, failedGeneration/failedRetry, phase, progress). Who writes
-- what and why:
-- https://github.com/cloudinfer/cloudinfer/blob/main/operator/cloudinfer/reconcile/managed.py
--
-- It must run in the argocd-cm sandbox, which has no string or math library (not even
-- s:upper()): only base, table and os.time/os.date. Conditions are read with ipairs, never
-- pairs (Argo CD fills tables in random order). Numbers arrive as floats; tostring() of a
-- whole float prints no decimals in Lua 5.1.

local hs = {}
local meta = obj.metadata or {}
local spec = obj.spec or {}
local status = obj.status

local function find(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == kind then
      return condition
    end
  end
  return nil
end

-- "Reason: message", so that a Degraded resource names the cloud's code or the operator's
-- reason as well as the explanation.
local function describe(condition)
  if condition.message == nil or condition.message == "" then
    return condition.reason
  end
  return condition.reason .. ": " .. condition.message
end

-- Argo CD answers "Pending deletion" itself before running a script; say the same in case
-- it is ever asked. The operator keeps its finalizer until the cloud resource is gone.
if meta.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

-- Everything below describes the generation the operator last acted on; a newer spec has
-- not been looked at yet (kstatus: observedGeneration must match).
if status.observedGeneration ~= meta.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(meta.generation)
    .. " (status is of generation " .. tostring(status.observedGeneration) .. ")"
  return hs
end

-- A condition written for another generation says nothing about this one.
local function current(condition)
  if condition ~= nil and (condition.observedGeneration == nil
      or condition.observedGeneration == meta.generation) then
    return condition
  end
  return nil
end
local ready = current(find(status.conditions, "Ready"))
local synced = current(find(status.conditions, "Synced"))
local annotations = meta.annotations or {}

-- Paused by annotation cloudinfer.io/paused: left alone on purpose, as Argo CD shows a
-- paused Deployment.
if synced ~= nil and synced.status == "False" and synced.reason == "ReconcilePaused" then
  hs.status = "Suspended"
  hs.message = synced.message
  return hs
end

-- The cloud refused this generation's spec for good (an Invalid error: bad config, quota).
-- The operator does not retry until the spec changes or annotation cloudinfer.io/retry takes
-- a new value: the same test as refused() in managed.py.
if status.failedGeneration ~= nil and status.failedGeneration == meta.generation
    and status.failedRetry == annotations["cloudinfer.io/retry"] then
  hs.status = "Degraded"
  if ready ~= nil then
    hs.message = describe(ready)
  else
    hs.message = status.message or "the cloud refused this spec"
  end
  return hs
end

-- Still marked as refused, but annotation cloudinfer.io/retry changed since (a new spec
-- would have failed the generation test above): the operator tries again.
if synced ~= nil and synced.status == "False" and synced.reason == "TerminalError" then
  hs.status = "Progressing"
  hs.message = "Retrying as asked by annotation cloudinfer.io/retry after "
    .. describe(ready or synced)
  return hs
end

-- Synced=False reasons the operator gets out of by itself: a transient error retried with
-- backoff, throttling (it waits for retry-after), a stale cloud listing (the next listing
-- wakes it).
local retrying = {
  ReconcileError = true,
  Throttled = true,
  ObservationStale = true,
}
-- Any other Synced=False reason waits for a person: a name taken on the cloud, credentials
-- or a permission refused, a provider config missing or not allowing this namespace, a
-- referenced Secret or key missing, a connection Secret that is not ours, a changed account,
-- an inference endpoint missing or without room (EndpointCapacityExceeded, with the numbers:
-- other instances must shrink or go, or this one ask for less). Some are retried slowly,
-- none clears by itself.
if synced ~= nil and synced.status == "False" and not retrying[synced.reason] then
  hs.status = "Degraded"
  hs.message = describe(synced)
  return hs
end

-- The cloud reports the deployment failed (an image pull, a model download or load; the
-- message is the cloud's, e.g. Fabric's "error_code: error_msg"): Degraded until a new spec is
-- applied to it (Ready then says Updating). VIAS's service_finished (phase Finished: its
-- package or subscription ended, nothing can be deployed any more) comes as DeployFailed too.
if ready ~= nil and ready.reason == "DeployFailed" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
-- Phases in which the cloud itself says the service is unwell, and what to say when it gives
-- no reason: Failed, and VIAS's Degraded (service_concerning: deployed, but needing attention,
-- e.g. a camera offline; Ready=False with reason Degraded) and Finished.
local unwell = {
  Failed = "the cloud reports the resource failed",
  Degraded = "the cloud reports the resource needs attention",
  Finished = "the cloud reports the resource finished",
}
if status.phase ~= nil and unwell[status.phase] ~= nil
    and (ready == nil or ready.reason ~= "Updating") then
  local said = status.message
  if said == nil or said == "" then
    said = unwell[status.phase]
  end
  hs.status = "Degraded"
  hs.message = status.phase .. ": " .. said
  return hs
end

-- managementPolicy Observe and the cloud resource to mirror does not exist: it never
-- creates it.
if ready ~= nil and ready.status == "False" and ready.reason == "ExternalNotFound" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

-- status.message is the operator's "what is going on": the Ready message, or what it adds
-- (drift it reports in Observe mode, or waits to correct).
local detail = status.message
if (detail == nil or detail == "") and ready ~= nil then
  detail = ready.message
end

-- Ready=True only once an observation shows the cloud runs this generation's spec.
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = detail or ""
  return hs
end

-- spec.stopped is InferenceService's and AlgorithmService's: on a kind without it
-- (ServiceInstance; Fabric has no stop) this never holds.
if spec.stopped == true and status.phase == "Stopped" then
  hs.status = "Suspended"
  hs.message = detail or "stopped as requested"
  return hs
end

-- On its way: where it is (phase, percent of instances running) and what the operator says,
-- plus the error it is retrying, if any.
local message = ""
if status.phase ~= nil then
  message = status.phase
  if status.progress ~= nil then
    message = message .. " (" .. tostring(status.progress) .. "%)"
  end
end
if detail ~= nil and detail ~= "" then
  if message ~= "" then
    message = message .. ": "
  end
  message = message .. detail
end
if synced ~= nil and synced.status == "False" and synced.message ~= detail then
  if message ~= "" then
    message = message .. "; "
  end
  message = message .. describe(synced)
end
if message == "" then
  message = "Waiting for the cloud resource"
end
hs.status = "Progressing"
hs.message = message
return hs
