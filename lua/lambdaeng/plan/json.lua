-- The plan as JSON (`plan --json`), in the shape of `terraform show -json PLANFILE`
-- (format 1.2): resource_changes[] { address, mode, type, name, provider_name,
-- change { actions, before, after, after_unknown, before_sensitive,
-- after_sensitive, replace_paths }, action_reason, previous_address (moved) },
-- output_changes, planned_values,
-- prior_state. A resource's type is its kind (func, alias, ...). Values unknown at
-- plan time are left out of "after" and marked in "after_unknown" (every value the
-- text plan shows as "(known after apply)"); sensitive values are left out and
-- marked per path in "before_sensitive"/"after_sensitive" (unlike Terraform, which
-- writes them in clear beside the mark; "before" keeps the other parts of a partly
-- sensitive argument, which state keeps beside its digest (args_known), or, in an
-- entry without them, when it is unchanged); variables { NAME { value } }, a sensitive variable
-- left out.
-- encode(result, state, session) -> text (state: prior_state; session: variables).
local ref = require "lambdaeng.ref"
local secret_attrs = require "lambdaeng.secret_attrs"
local json = require "lambdaeng.json"
local plan = require "lambdaeng.plan"
local values = require "lambdaeng.plan.json_values"

local M = {}
M.FORMAT_VERSION = "1.2"

-- Every planned entry to show: changes, ephemeral invocations (read), then no-ops.
local function entries(result)
  local all = {}
  for _, p in ipairs(result.changes) do all[#all + 1] = p end
  for _, p in ipairs(result.ephemeral) do all[#all + 1] = p end
  for _, addr in ipairs(result.planned and result.order or {}) do
    local q = result.planned[addr]
    if q.action == "no-op" then all[#all + 1] = q end
  end
  return all
end

local function actions_of(p)
  if p.action == "replace" then
    local lc = p.decl and p.decl.meta.lifecycle
    if type(lc) == "table" and lc.create_before_destroy == true then return { "create", "delete" } end
    return { "delete", "create" }
  end
  return { p.action }
end

local function mode_of(p)
  return plan.kind_of(p) == "ephemeral_invocation" and "data" or "managed"
end

-- Computed attributes of an update (known after apply when its calls can change them)
-- or of a no-op (what state holds).
local function mark_update_unknowns(p, after, unknown, sensitive)
  local prior_attrs = p.prior and p.prior.attrs or {}
  for _, k in ipairs(p.decl.kind.computed) do
    if after[k] == nil then
      if p.action == "update" and plan.changing(p, k) then unknown[k] = true
      elseif prior_attrs[k] ~= nil then
        sensitive[k] = values.stored_marks(prior_attrs[k]) -- a digest: sensitive, left out
        after[k] = values.known(prior_attrs[k], sensitive[k])
      end
    end
  end
  if p.action ~= "update" then return end
  for name in pairs(p.changing or {}) do
    local block, field = name:match("^([%w_]+)%.([%w_]+)$")
    if block and p.changing[name] then
      unknown[block] = type(unknown[block]) == "table" and unknown[block] or {}
      unknown[block][field] = true
    end
  end
end

-- A block's computed fields (vpc_config.vpc_id) of an update or a no-op: beside its
-- arguments in "after", as state holds them ("before" has them so), unless unknown.
local function add_block_fields(p, after, unknown)
  local prior_attrs = p.prior and p.prior.attrs or {}
  for block, fields in pairs(p.decl.kind.nested_computed or {}) do
    local held, shown = prior_attrs[block], after[block]
    if values.plain_table(held) and values.plain_table(shown) then
      local marks = type(unknown[block]) == "table" and unknown[block] or {}
      for f in pairs(fields) do
        if shown[f] == nil and not marks[f] and type(held[f]) ~= "table" then shown[f] = held[f] end
      end
    end
  end
end

-- "after" and its marks: unknown and sensitive values left out.
local function after_of(p)
  local after, unknown, sensitive = {}, {}, {}
  local declared = p.decl and p.decl.args or {}
  local specs = p.decl and p.decl.kind.args or {}
  for k, v in pairs(p.args) do
    local marks = (p.decl and values.arg_marks(p.decl, k, v)) or values.stored_marks(v, p.sensitive and p.sensitive[k]
      and type(declared[k]) ~= "table")
    sensitive[k] = marks
    after[k] = values.as_spec(specs[k], values.known(v, marks))
    unknown[k] = values.unknown_marks(v)
  end
  for k, v in pairs(p.known_attrs or {}) do
    -- (tags_all of sensitive tags: those tags' values left out and marked)
    local keys = secret_attrs.sensitive_keys(p, k)
    if keys == true then sensitive[k] = true
    elseif keys then sensitive[k] = keys; after[k] = values.known(v, keys)
    else after[k] = v end
  end
  if not p.decl then return after, unknown, sensitive end
  local a = p.action
  if a == "create" or a == "replace" or a == "read" then
    for _, k in ipairs(p.decl.kind.computed) do
      if after[k] == nil then
        if p.ephemeral_result and p.ephemeral_result[k] ~= nil then sensitive[k] = true -- never stored
        else unknown[k] = true end
      end
    end
  elseif a == "update" or a == "no-op" then
    mark_update_unknowns(p, after, unknown, sensitive)
    add_block_fields(p, after, unknown)
  end
  return after, unknown, sensitive
end

local function replace_paths(p)
  if p.action ~= "replace" or not p.replace_reason or p.replace_reason[1] == "--replace" then return nil end
  local paths = {}
  for _, k in ipairs(p.replace_reason) do paths[#paths + 1] = json.array { k } end
  return json.array(paths)
end

-- A partly sensitive argument whose other parts the entry does not keep (written
-- before args_known, or read back changed by refresh): when its digest is the planned
-- value's (unchanged) they are the planned value's, and "before" keeps them as "after"
-- does (sensitive leaves left out, marked); a changed one stays out whole.
local function unchanged_parts(p, change)
  local stored, after_marks = p.stored or {}, change.after_sensitive
  if type(after_marks) ~= "table" or type(change.before) ~= "table" then return end
  for k, d in pairs(p.prior.args or {}) do
    local now, marks = stored[k], after_marks[k]
    if values.is_digest(d) and values.is_digest(now) and type(d.sensitive_digest) == "string"
      and now.sensitive_digest == d.sensitive_digest and type(marks) == "table" and change.before[k] == nil
      and not ref.has_withheld(p.args[k]) then
      change.before[k] = values.known(p.args[k], marks)
      if type(change.before_sensitive) ~= "table" then change.before_sensitive = {} end
      change.before_sensitive[k] = marks
    end
  end
end

local function resource_change(p)
  local change = { actions = json.array(actions_of(p)), before = json.null, after = json.null,
                   after_unknown = {}, before_sensitive = false, after_sensitive = false,
                   replace_paths = replace_paths(p) }
  if p.prior then change.before, change.before_sensitive = values.stored(secret_attrs.shown_entry(p.prior)) end
  if p.action ~= "delete" then change.after, change.after_unknown, change.after_sensitive = after_of(p) end
  if p.prior and p.action ~= "delete" then unchanged_parts(p, change) end
  local reason
  if p.action == "replace" then
    reason = p.replace_reason and p.replace_reason[1] == "--replace" and "replace_by_request"
      or "replace_because_cannot_update"
  elseif p.action == "delete" and not p.decl then
    reason = "delete_because_no_resource_config"
  end
  return { address = p.address, previous_address = p.moved_from, mode = mode_of(p), type = plan.kind_of(p),
           name = plan.name_of(p), provider_name = values.PROVIDER, change = change, action_reason = reason }
end

-- An output's change: its value (left out when sensitive or unknown) and marks.
local function output_change(o)
  local before = json.null
  local before_sensitive = (o.before and o.before.sensitive) or (o.before == nil and o.sensitive) or false
  if o.before and not o.before.sensitive and o.before.value_digest == nil then before = o.before.value end
  local change = { actions = json.array { o.action }, before = before, after_unknown = false,
                   before_sensitive = before_sensitive, after_sensitive = false }
  if o.action == "delete" then
    change.after = json.null
  else
    change.after_unknown = values.unknown_marks(o.value) or false
    change.after_sensitive = o.sensitive or false
    if not o.sensitive and change.after_unknown ~= true then
      change.after = values.known(o.value, values.stored_marks(o.value))
      if change.after == nil then change.after = json.null end
    end
  end
  return change
end

-- planned_values: every resource that remains after the plan, and the outputs.
local function planned_values(result, changes)
  local resources = {}
  for _, rc in ipairs(changes) do
    if rc.mode == "managed" and (rc.change.actions[1] ~= "delete" or #rc.change.actions == 2) then
      resources[#resources + 1] = values.object(rc.address, rc.type, rc.name, rc.change.after or {},
        rc.change.after_sensitive or {}, rc.mode)
    end
  end
  local outputs = {}
  for _, o in ipairs(result.outputs) do
    if o.action ~= "delete" then
      outputs[o.name] = values.output(o.value == nil and json.null or o.value, o.sensitive)
    end
  end
  return { outputs = outputs, root_module = { resources = #resources > 0 and json.array(resources) or nil } }
end

-- prior_state: what state held when the plan was made.
function M.state_values(st)
  local resources = {}
  for _, addr in ipairs(st:addresses()) do
    local entry = secret_attrs.shown_entry(st:get(addr))
    local v, marks = values.stored(entry)
    resources[#resources + 1] = values.object(addr, entry.kind, entry.name or addr:match("%.(.*)$") or addr, v, marks,
      entry.kind == "ephemeral_invocation" and "data" or "managed")
  end
  local outputs = {}
  for name, o in pairs(st:outputs() or {}) do
    outputs[name] = values.output(o.value_digest == nil and o.value or nil, o.sensitive)
  end
  return { outputs = outputs, root_module = { resources = #resources > 0 and json.array(resources) or nil } }
end

-- The stack's variables and their values, sensitive ones left out.
local function variables(session)
  local out = {}
  for name, v in pairs(session and session.vars or {}) do
    local plain = type(v.value) ~= "table" or values.plain_table(v.value) -- (json.array {} too)
    if not v.sensitive and plain and not ref.inspect(v.value).sensitive then
      local value = values.known(v.value)
      out[name] = { value = value == nil and json.null or value }
    end
  end
  return out
end

function M.document(result, state, session)
  local changes = {}
  for _, p in ipairs(entries(result)) do changes[#changes + 1] = resource_change(p) end
  local outputs = {}
  for _, o in ipairs(result.outputs) do outputs[o.name] = output_change(o) end
  local doc = {
    format_version = M.FORMAT_VERSION,
    planned_values = planned_values(result, changes),
    resource_changes = json.array(changes),
    output_changes = outputs,
    applyable = #result.changes > 0 or result.output_changes > 0,
    complete = true,
    errored = false,
    timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    variables = variables(session),
  }
  if state then doc.prior_state = { format_version = "1.0", values = M.state_values(state) } end
  return doc
end

function M.encode(result, state, session)
  return json.encode_plain(M.document(result, state, session))
end

return M
