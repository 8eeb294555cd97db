-- The plan as JSON (`plan --json`), after Terraform's machine-readable plan:
-- resource_changes with before/after, values unknown at plan time left out of
-- "after" and listed in "after_unknown", sensitive ones left out and listed in
-- "after_sensitive"; output_changes; the summary counts.
-- encode(result, session, opts) -> text; opts.target: the target line's text.
local ref = require "lambdaeng.ref"
local json = require "lambdaeng.json"
local plan = require "lambdaeng.plan"

local M = {}
local UNKNOWN, WITHHELD = ref.UNKNOWN, ref.WITHHELD

local function to_json_value(v, sensitive)
  if sensitive then return nil end
  if v == UNKNOWN or v == WITHHELD then return nil end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      if x ~= UNKNOWN then out[k] = to_json_value(x)
      elseif math.type(k) == "integer" then out[k] = json.null end -- a list keeps its length, as Terraform's
    end
    return out
  end
  return v
end

local function unknown_paths(v)
  if v == UNKNOWN then return true end
  if type(v) ~= "table" then return nil end
  local out
  for k, x in pairs(v) do
    local u = unknown_paths(x)
    if u then out = out or {}; out[k] = u end
  end
  -- a list with an unknown element: [false, true] as Terraform writes it
  if out and #v > 0 then for i = 1, #v do if out[i] == nil then out[i] = false end end end
  return out
end

-- Every planned entry to show: changes, ephemeral invocations, actions, then no-ops.
local function entries(result)
  local all = {}
  for _, p in ipairs(result.changes) do all[#all + 1] = p end
  for _, p in ipairs(result.ephemeral) do all[#all + 1] = p end
  for _, p in ipairs(result.actions) do all[#all + 1] = p end
  for _, addr in ipairs(result.planned and result.order or {}) do
    local q = result.planned[addr]
    if q.action == "no-op" then all[#all + 1] = q end
  end
  return all
end

-- "after" and what it leaves out: unknown and sensitive values.
local function after_of(p)
  local after, after_unknown, after_sensitive = {}, {}, {}
  for k, v in pairs(p.args) do
    local s = p.sensitive and p.sensitive[k]
    if s then after_sensitive[k] = true end
    after[k] = to_json_value(v, s)
    local u = unknown_paths(v)
    if u then after_unknown[k] = u end
  end
  local known = p.known_attrs or {}
  for k, v in pairs(known) do after[k] = v end
  if p.decl and (p.action == "create" or p.action == "replace" or p.action == "read" or p.action == "action") then
    for _, k in ipairs(p.decl.kind.computed) do if known[k] == nil then after_unknown[k] = true end end
  elseif p.action == "update" and p.decl then
    for _, k in ipairs(p.decl.kind.computed) do
      if known[k] == nil and plan.changing(p, k) then after_unknown[k] = true end
    end
    for name in pairs(p.changing or {}) do
      local block, field = name:match("^([%w_]+)%.([%w_]+)$")
      if block then
        after_unknown[block] = type(after_unknown[block]) == "table" and after_unknown[block] or {}
        after_unknown[block][field] = true
      end
    end
  end
  return after, after_unknown, after_sensitive
end

function M.encode(result, session, opts)
  local changes = {}
  for _, p in ipairs(entries(result)) do
    local after, after_unknown, after_sensitive = json.null, {}, {}
    if p.action ~= "delete" then after, after_unknown, after_sensitive = after_of(p) end
    local before = json.null
    if p.prior then
      before = {}
      for k, v in pairs(p.prior.args or {}) do
        if p.prior.sensitive and p.prior.sensitive[k] then before[k] = nil else before[k] = v end
      end
      for k, v in pairs(p.prior.attrs or {}) do before[k] = v end
    end
    changes[#changes + 1] = {
      address = p.address,
      kind = plan.kind_of(p),
      name = plan.name_of(p),
      declared_at = p.decl and p.decl.site.display or json.null,
      action = p.action,
      replace_paths = p.replace_reason and json.array(p.replace_reason) or nil,
      before = before,
      after = after,
      after_unknown = after_unknown,
      after_sensitive = after_sensitive,
    }
  end
  local outputs = {}
  for _, o in ipairs(result.outputs) do
    outputs[o.name] = {
      action = o.action,
      sensitive = o.sensitive or false,
      after = (o.action ~= "delete") and to_json_value(o.value, o.sensitive) or nil,
      after_unknown = o.value == UNKNOWN or nil,
    }
  end
  return json.encode_plain {
    format_version = "1.0",
    target = opts and opts.target or json.null,
    resource_changes = json.array(changes),
    output_changes = outputs,
    summary = { add = result.add, change = result.change, destroy = result.destroy },
  }
end

return M
