-- run --json / destroy --json: Terraform's machine-readable UI (`terraform apply
-- -json`, UI format 1.2): one JSON object per line on stdout, each with @level,
-- @message (the line a person would read), @module ("lambdaeng.ui"), @timestamp
-- and a type with its fields:
--   version          { lambdaeng, ui }
--   planned_change   { change { resource, previous_resource?, action, reason? } } (a
--                    resource moved and otherwise unchanged: action "move")
--   change_summary   { changes { add, change, import, remove, operation } }
--   apply_start / apply_progress / apply_complete / apply_errored
--                    { hook { resource, action, elapsed_seconds?, id_key?, id_value? } }
--   outputs          { outputs { NAME { sensitive, value? } } }  (no value when sensitive;
--                    after the plan: { sensitive, action } of the outputs that change)
--   diagnostic       { diagnostic { severity, summary, detail, range? } }
--   resource_drift   { change { resource, action: "update" } } (refresh found a change made
--                    outside lambdaeng)
--   log              any other line of the run
-- resource: { addr, module, resource, implied_provider, resource_type, resource_name,
-- resource_key }. Every line passes through secrets.redact.
--
--   version(), plan(result), drift(address, entry), log(line), hook(event, n, line), diagnostic(d),
--   report(res, destroy, interrupted) -> true | nil, err (as run's report)
local secrets = require "lambdaeng.secrets"
local json = require "lambdaeng.json"
local plan = require "lambdaeng.plan"
local loop = require "lambdaeng.native.loop"
local sys = require "lambdaeng.native.sys"
local ui = require "lambdaeng.cli.ui"

local M = {}
M.UI_VERSION = "1.2"

local function emit(kind, level, message, fields)
  local event = fields or {}
  event["@level"], event["@message"], event["@module"] = level, message, "lambdaeng.ui"
  event["@timestamp"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
  event.type = kind
  io.stdout:write(secrets.redact(json.encode_plain(event)), "\n")
  io.stdout:flush()
end

-- Terraform's action names in the machine-readable UI.
local ACTION = { create = "create", update = "update", replace = "replace", delete = "delete", ["no-op"] = "noop",
                 read = "read" }
local PLAN_VERB = { create = "create", update = "update", replace = "replace", delete = "delete", read = "read" }

local function resource(p, address)
  address = address or p.address
  local module, rest = address:match("^(.*)/([^/]*)$")
  return { addr = address, module = module or "", resource = rest or address, implied_provider = "lambdaeng",
           resource_type = plan.kind_of(p), resource_name = plan.name_of(p), resource_key = json.null }
end

-- The stream's first line (once; a diagnostic before it writes it first).
function M.version()
  if M.started then return end
  M.started = true
  emit("version", "info", "lambdaeng " .. sys.version, { lambdaeng = sys.version, ui = M.UI_VERSION })
end

function M.log(line)
  emit("log", "info", tostring(line))
end

function M.diagnostic(d)
  M.version()
  emit("diagnostic", d.severity == "error" and "error" or "warn",
    (d.severity == "error" and "Error: " or "Warning: ") .. d.summary, { diagnostic = d })
end

function M.drift(address, entry)
  emit("resource_drift", "info", address .. ": Drift detected (update)",
    { change = { resource = resource({ prior = entry, address = address }), action = "update" } })
end

-- The plan: a planned_change for each change, its change_summary, then the outputs
-- that change (outputs { NAME { sensitive, action } }), as terraform apply -json.
function M.plan(result)
  local changes = {}
  for _, p in ipairs(result.changes) do changes[#changes + 1] = p end
  for _, m in ipairs(result.moves or {}) do
    local q = result.planned and result.planned[m.to]
    if q and q.action == "no-op" then changes[#changes + 1] = q end
  end
  for _, p in ipairs(changes) do
    local change = { resource = resource(p), action = ACTION[p.action] or p.action }
    if p.moved_from then
      change.previous_resource = resource(p, p.moved_from)
      if p.action == "no-op" then change.action = "move" end
    end
    if p.action == "replace" then
      change.reason = p.replace_reason and p.replace_reason[1] == "--replace" and "requested" or "cannot_update"
    elseif p.action == "delete" and not p.decl then
      change.reason = "delete_because_no_resource_config"
    end
    local message = change.action == "move" and string.format("%s: Plan to move", p.moved_from)
      or string.format("%s: Plan to %s", p.address, PLAN_VERB[p.action] or p.action)
    emit("planned_change", "info", message, { change = change })
  end
  emit("change_summary", "info", string.format("Plan: %d to add, %d to change, %d to destroy.", result.add,
    result.change, result.destroy), { changes = { add = result.add, change = result.change, import = 0,
    remove = result.destroy, operation = "plan" } })
  local outputs, n = {}, 0
  for _, o in ipairs(result.outputs) do
    if o.action ~= "no-op" then
      n = n + 1
      outputs[o.name] = { sensitive = (o.sensitive or (o.before and o.before.sensitive)) or false,
                          action = ACTION[o.action] }
    end
  end
  if n > 0 then emit("outputs", "info", "Outputs: " .. n, { outputs = outputs }) end
end

-- An operation of the apply (apply.lua's nodes: address, action, started, p).
function M.hook(event, n, line)
  local hook = { resource = resource(n.p or n, n.address), action = ACTION[n.action] or n.action }
  if event ~= "apply_start" and n.started then
    hook.elapsed_seconds = math.floor(loop.now() - n.started + 0.5)
  end
  local id = n.p and n.p.args and n.p.args.function_name
  if event == "apply_complete" and type(id) == "string" and n.action ~= "read" then
    hook.id_key, hook.id_value = "function_name", id
  end
  emit(event, event == "apply_errored" and "error" or "info", line, { hook = hook })
end

-- The end of the apply: its change_summary and outputs, or its failures (returned
-- as the error the dispatcher writes as diagnostics).
function M.report(res, destroy, interrupted)
  local c = res.counts
  if #res.failures > 0 or res.save_failed then
    local lines = {}
    if res.save_failed then lines[1] = "writing the state failed: " .. tostring(res.save_failed) end
    for _, f in ipairs(res.failures) do
      lines[#lines + 1] = string.format("%s%s: %s: %s", f.site and (f.site .. ": ") or "", f.address,
        f.err.type or "Error", f.err.message or "?")
    end
    return nil, { lines = lines, notes = { string.format("Done before that: %d added, %d changed, %d destroyed; %s",
      c.added, c.changed, c.destroyed,
      res.state_note or "state holds what was done, so the next run continues from there.") } }
  end
  local message
  if interrupted then
    message = string.format("Stopped by interrupt: %d added, %d changed, %d destroyed; the rest was not started.",
      c.added, c.changed, c.destroyed)
  elseif destroy then
    message = string.format("Destroy complete! Resources: %d destroyed.", c.destroyed)
  else
    message = string.format("Apply complete! Resources: %d added, %d changed, %d destroyed.", c.added, c.changed,
      c.destroyed)
  end
  emit("change_summary", interrupted and "warn" or "info", message, { changes = { add = c.added, change = c.changed,
    import = 0, remove = c.destroyed, operation = destroy and "destroy" or "apply" } })
  if interrupted then return nil, ui.SAID end -- the change_summary said it
  local outputs, n = {}, 0
  for _, o in ipairs(res.outputs) do
    n = n + 1
    outputs[o.name] = require("lambdaeng.plan.json_values").output(o.value, o.sensitive)
  end
  if not destroy then emit("outputs", "info", "Outputs: " .. n, { outputs = outputs }) end
  return true
end

return M
