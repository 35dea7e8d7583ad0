-- Health of a cloudinfer provider config: ProviderConfig and ClusterProviderConfig (the same
-- script for both). The operator writes Ready (does the credentials Secret hold usable
-- credentials?) and Synced (could it read the Secret?), both with observedGeneration:
-- https://github.com/cloudinfer/cloudinfer/blob/main/operator/cloudinfer/reconcile/providerconfig.py
--
-- It must run in the argocd-cm sandbox, which has no string or math library (not even
-- s:upper()): only base, table and os.time/os.date. Conditions are read with ipairs, never
-- pairs (Argo CD fills tables in random order).

local hs = {}
local meta = obj.metadata or {}
local status = obj.status or {}

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

local function describe(condition)
  if condition.message == nil or condition.message == "" then
    return condition.reason
  end
  return condition.reason .. ": " .. condition.message
end

-- Argo CD answers "Pending deletion" itself before running a script; say the same in case
-- it is ever asked. A provider config still in use keeps its in-use finalizer.
if meta.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

local ready = find(status.conditions, "Ready")
local synced = find(status.conditions, "Synced")

-- Not evaluated at this generation yet. The operator writes observedGeneration only with a
-- verdict; when reading the Secret failed (Synced=False, retried), say so.
if status.observedGeneration == nil or status.observedGeneration ~= meta.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to check the credentials of generation "
    .. tostring(meta.generation)
  if synced ~= nil and synced.status == "False" then
    hs.message = hs.message .. "; " .. describe(synced)
  end
  return hs
end

-- A failed read of the Secret (Synced=False, ReconcileError) leaves Ready as it was: the
-- last verdict still stands while the operator retries.
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end

-- Secret missing, or lacking a key: nothing using this config can reach the cloud until
-- someone fixes the Secret (its watch makes the config Ready at once then).
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the operator to check the credentials"
return hs
