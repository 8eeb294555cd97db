-- The plan: declarations (stack.lua) + dependency graph (native graph) + stored
-- state -> the list of changes, in dependency order. Rendering is apart:
-- plan/text.lua (Terraform's text form) and plan/json.lua (`--json`).
--
-- compute(session, state, opts) walks the graph in topological order. Each
-- resource's arguments are resolved against what is known so far (earlier
-- resources' planned arguments, and their stored attributes when they do not
-- change), then compared with the stored arguments: create, update, replace
-- or no-op; stored resources no longer declared are deleted. Which argument
-- changes replace a resource follows the reference documents (schema.replace).
-- It returns the result { changes, ephemeral, actions, outputs, add, change,
-- destroy, output_changes, planned (address -> entry), order, graph }, or nil
-- and an error { type = "PlanError", message }. start, ahead and finish make the
-- same plan in steps, some declarations planned before the walk (plan/ahead.lua).
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local graphlib = require "lambdaeng.native.graph"
local errors = require "lambdaeng.errors"
local validate = require "lambdaeng.validate"
local plan_deletes = require "lambdaeng.plan.deletes"
local compared_args = require "lambdaeng.plan.compared_args"
local plan_env = require "lambdaeng.plan.env"
local plan_outputs = require "lambdaeng.plan.outputs"
local sensitive_parts = require "lambdaeng.plan.sensitive_parts"
local vm = require "lambdaeng.native.vm"
local schema = require "lambdaeng.schema"
local sets = require "lambdaeng.sets"

local M = {}
local UNKNOWN = ref.UNKNOWN
local WITHHELD = ref.WITHHELD
local NONE = stack.NONE

local is_digest = plan_env.is_digest
M.changing = plan_env.changing
M.has_unknown = plan_env.has_unknown

-- What a kind knows about its own arguments beyond the schema (func_doc.lua):
-- same(key, a, b) (equality up to API defaults), KEEP_WHEN_ABSENT (Optional +
-- Computed arguments), changing_attrs(before, after) (the computed attributes the
-- planned calls can change). Kinds without it compare plainly.
local LOGIC = { func = require "lambdaeng.resources.func_doc" }
M.LOGIC = LOGIC

-- The kind and name of a planned entry (a declaration's, or a stored one's).
function M.kind_of(p)
  if p.decl then return p.decl.kind.kind end
  return p.prior and p.prior.kind or "resource"
end

function M.name_of(p)
  if p.decl then return p.decl.name end
  return p.prior and p.prior.name or p.address
end

-- The edges from declaration d to what it depends on, in address order: true, or nil
-- and the message for a dependency that is not declared.
local function add_edges(g, session, d)
  if d.deps == NONE then return true end -- (no reference, no depends_on: most of a large stack)
  local deps = {}
  for addr in pairs(d.deps) do deps[#deps + 1] = addr end
  table.sort(deps)
  for _, addr in ipairs(deps) do
    if addr ~= d.address then
      local ok, err = g:edge(d.address, addr)
      if not ok then
        return nil, d.site.display .. ": " .. err .. (session.by_addr[addr] and ""
          or validate.address_hint(addr, session, nil, d.address))
      end
    end
  end
  return true
end

-- Builds the dependency graph of a session; returns graph or nil, message.
function M.graph(session)
  local g = graphlib.new()
  for _, d in ipairs(session.decls) do
    local ok, err = g:add(d.address, d.site.display)
    if not ok then return nil, err end
  end
  for _, d in ipairs(session.decls) do
    local ok, err = add_edges(g, session, d)
    if not ok then return nil, err end
  end
  return g
end

-- Whether a and b are equal values: ==, or tables with the same keys and equal values
-- (UNKNOWN equal to nothing but itself). In C (engine/luavm.c): the refresh and the
-- plan compare every stored entry's arguments and attributes.
local equal = vm.equality(UNKNOWN)
M.equal = equal

-- Whether argument key is the same before and after, for this kind (its sets, a block's
-- too, as sets: a value stored in another order is the same).
local function same(kind, key, a, b)
  local l = LOGIC[kind]
  if l then return l.same(key, a, b) end
  local spec = schema.kinds[kind]
  return sets.same(spec and spec.args[key], a, b, equal)
end
M.same = same

-- Which arguments force replacement for this resource (its schema, plus the
-- invocation's CREATE_ONLY rule that any input change re-invokes).
local function replaces(decl, args, key)
  local spec = decl.kind.args[key]
  if spec and spec.replace then return true end
  if decl.kind.kind == "invocation" and key == "input" and args.lifecycle_scope ~= "CRUD" then return true end
  return false
end

-- Dependencies of a set of target addresses (they and everything they need).
local function closure(g, targets)
  local keep, stack_ = {}, {}
  for _, t in ipairs(targets) do stack_[#stack_ + 1] = t end
  while #stack_ > 0 do
    local a = table.remove(stack_)
    if not keep[a] then
      keep[a] = true
      for _, d in ipairs(g:dependencies(a)) do stack_[#stack_ + 1] = d end
    end
  end
  return keep
end

-- What to say when a change needs a sensitive value that state keeps only as a digest.
local function withheld_error(planned, d, keys, verb)
  local sources = {}
  for dep in pairs(d.deps) do
    local q = planned[dep]
    if q and q.action == "no-op" and q.prior then
      for _, v in pairs(q.prior.attrs or {}) do
        if is_digest(v) then sources[#sources + 1] = dep break end
      end
    end
  end
  table.sort(sources)
  table.sort(keys)
  return string.format("%s: %s cannot %s: its %s derive%s from a sensitive value that lambdaeng keeps only "
    .. "as a keyed digest (%s); produce it again in the same run: %s", d.site.display, d.address, verb,
    table.concat(keys, ", "), #keys == 1 and "s" or "", #sources > 0 and table.concat(sources, ", ") or "?",
    #sources > 0 and ("--replace " .. table.concat(sources, " --replace ")) or "--replace the resource that makes it")
end

local function withheld_keys(args)
  local held = {}
  for k, v in pairs(args) do if ref.has_withheld(v) then held[#held + 1] = k end end
  return held
end

-- An ephemeral invocation: invoked during plan when everything it needs is known
-- and its function is not about to be created; otherwise during apply.
local function plan_ephemeral(pc, p)
  local d, args = p.decl, p.args
  p.action = "read"
  pc.result.ephemeral[#pc.result.ephemeral + 1] = p
  local held = withheld_keys(args)
  if #held > 0 then return nil, withheld_error(pc.planned, d, held, "be invoked") end
  if not (pc.opts.ephemeral and not M.has_unknown(args)) then return true end
  for dep in pairs(d.deps) do
    local q = pc.planned[dep]
    if q and (q.action == "create" or q.action == "replace") then return true end
  end
  local r, err = pc.opts.ephemeral(p)
  if not r then return nil, string.format("%s: %s (%s)", d.site.display, p.address, errors.text(err)) end
  p.ephemeral_result = r
  return true
end

-- Whether a and b hold the same keys with the same values, each compared as it is
-- (a table only to itself): then no argument changed, however it is compared.
local same_values = vm.same_entries

-- The arguments that differ from the stored ones, and those among them that force
-- a replacement; arguments in lifecycle.ignore_changes keep their stored value (a
-- sensitive one stored in clear by an older lambdaeng: stored as its digest).
local function diff_arguments(p, before, logic, digest)
  local d, args, stored = p.decl, p.args, p.stored
  if stored == args and same_values(args, before) then return {}, {}, stored end -- (a no-op plan's resources)
  local kind = d.kind.kind
  local ignore, lc = NONE, d.meta.lifecycle
  if type(lc) == "table" and type(lc.ignore_changes) == "table" then
    ignore = {}
    for _, name in ipairs(lc.ignore_changes) do ignore[name] = true end
  end
  local changed, force = {}, {}
  -- compared as the API keeps them (a KMS key without variables is not kept)
  local compared = compared_args(p, before)
  local eb = logic and logic.effective(before) or before
  local es = logic and logic.effective(compared) or compared
  local function compare(k)
    if ignore[k] then
      args[k] = before[k]
      stored[k] = before[k]
      if p.sensitive[k] and before[k] ~= nil and not is_digest(before[k]) then
        stored[k] = M.stored_args({ [k] = before[k] }, p.sensitive, digest)[k]
      end
      if compared ~= stored then compared[k] = before[k] end
    elseif eb[k] ~= es[k] and not same(kind, k, eb[k], es[k]) then -- (equal values: the same)
      changed[#changed + 1] = k
      if replaces(d, args, k) then force[#force + 1] = k end
    end
  end
  for k in pairs(args) do compare(k) end -- (an ignored key keeps a value: not visited twice)
  for k in pairs(before) do if args[k] == nil then compare(k) end end
  table.sort(changed)
  table.sort(force)
  return changed, force, compared
end

-- Whether stored_args(args, sensitive) would be a copy of args equal to it.
local function stores_as_is(args, sensitive)
  if next(sensitive) ~= nil then return false end
  for _, v in pairs(args) do if type(v) == "table" and ref.has_withheld(v) then return false end end
  return true
end

local UPDATE_KEEPS = setmetatable({}, { __newindex = function() error("read-only", 2) end })

-- A managed resource: create, update, replace or no-op against its stored entry.
-- plain: no declared argument is a table (so none is a reference: nothing resolved is
-- sensitive or withheld, and the arguments are stored as they are).
local function plan_resource(pc, p, plain)
  local d, args, prior = p.decl, p.args, p.prior
  local kind = d.kind.kind
  local logic = LOGIC[kind]
  if prior and logic then
    -- Optional + Computed arguments the stack leaves out keep what the resource has
    for k in pairs(logic.KEEP_WHEN_ABSENT) do
      if args[k] == nil and (prior.args or {})[k] ~= nil then args[k] = prior.args[k] end
    end
  end
  local as_is = plain or stores_as_is(args, p.sensitive) -- most resources: one table for both, nothing WITHHELD
  p.stored = as_is and args or M.stored_args(args, p.sensitive, pc.opts.digest)
  if logic and logic.known_attrs then p.known_attrs = logic.known_attrs(args, M.default_tags(pc.session, d)) end
  -- Arguments made from a value state keeps only as a digest: unchanged if what
  -- was stored for them is that kind of digest too; any change needs the value.
  if not as_is and prior then
    for k, v in pairs(args) do
      if ref.has_withheld(v) and is_digest((prior.args or NONE)[k]) then p.stored[k] = prior.args[k] end
    end
  end
  if not prior then
    p.action = "create"
  elseif prior.kind and prior.kind ~= kind then
    p.action, p.replace_reason = "replace", { "kind" }
  else
    local before = prior.args or {}
    local changed, force, compared = diff_arguments(p, before, logic, pc.opts.digest)
    p.changed = changed
    -- (a partly sensitive argument's text shows its secrets changed only when they are)
    if next(p.sensitive) ~= nil and #changed > 0 then p.secrets_kept = sensitive_parts.kept(p, changed, pc.opts.digest) end
    if (pc.opts.replace or {})[p.address] then
      p.action, p.replace_reason = "replace", { "--replace" }
    elseif #force > 0 then
      p.action, p.replace_reason = "replace", force
    elseif #changed > 0 then
      p.action = "update"
      if logic then p.changing = logic.changing_attrs(before, compared)
      elseif d.kind.update_keeps then p.changing = UPDATE_KEEPS end -- (an update changes no computed attribute)
    else
      p.action = "no-op"
    end
  end
  local a = p.action
  if not plain and (a == "create" or a == "update" or a == "replace") then -- (plain: nothing withheld)
    local held = withheld_keys(args)
    if #held > 0 then return nil, withheld_error(pc.planned, d, held, "be " .. a .. "d") end
  end
  return true
end

-- Plans one declaration once everything it depends on is planned: p (also
-- pc.planned[addr]), or nil and a message.
local function plan_declaration(pc, addr)
  local d, state, result = pc.session.by_addr[addr], pc.state, pc.result
  local kind = d.kind.kind
  local prior = pc.entries[addr] or state:get(addr)
  local pending = prior and prior.pending == "create"
  -- a create that was cut off before its outcome was known: create (adopting it if it exists)
  if pending then prior = nil end
  local args, tables = stack.resolve_args(d, pc.env)
  local sensitive, plain = NONE, not tables -- (no table: no reference among the arguments)
  if tables then
    for k, v in pairs(d.args) do
      -- only a table can be or hold a reference
      if type(v) == "table" then
        plain = false
        if ref.inspect(v).sensitive then
          if sensitive == NONE then sensitive = {} end
          sensitive[k] = true
        end
      end
    end
  end
  local p = { decl = d, args = args, prior = prior, sensitive = sensitive, address = addr,
              pending_prior = pending and state:get(addr) or nil }
  pc.planned[addr] = p
  local ok, err = true, nil
  if pc.opts.destroy then
    p.action = "skip" -- listed with the stored resources, as deletes
  elseif kind == "ephemeral_invocation" then
    ok, err = plan_ephemeral(pc, p)
  elseif kind == "action" then
    p.action = "action"
    result.actions[#result.actions + 1] = p
  elseif pc.keep and not pc.keep[addr] then
    p.action = prior and "no-op" or "skip"
  else
    ok, err = plan_resource(pc, p, plain)
  end
  if not ok then return nil, err end
  return p
end

-- Counts a planned declaration's change (in dependency order, whenever it was planned).
local function count(result, p)
  local a = p.action
  if a == "create" then result.add = result.add + 1
  elseif a == "update" then result.change = result.change + 1
  elseif a == "replace" then result.add = result.add + 1; result.destroy = result.destroy + 1 end
  if a == "create" or a == "update" or a == "replace" then result.changes[#result.changes + 1] = p end
end

-- lifecycle.prevent_destroy: a plan that would destroy such a resource is an error.
local function check_prevent_destroy(result)
  for _, p in ipairs(result.changes) do
    if p.action == "delete" or p.action == "replace" then
      local lc = p.decl and p.decl.meta.lifecycle
      local protected = (type(lc) == "table" and lc.prevent_destroy == true)
        or (p.action == "delete" and p.prior and p.prior.prevent_destroy == true)
      if protected then
        return nil, string.format("%s%s has lifecycle.prevent_destroy = true, but this plan would %s it%s; "
          .. "remove prevent_destroy first if that is what you want",
          p.decl and (p.decl.site.display .. ": ") or "", p.address, p.action == "delete" and "destroy" or "replace",
          p.replace_reason and (" (" .. table.concat(p.replace_reason, ", ") .. " changed)") or "")
      end
    end
  end
  return true
end

-- The graph and its order, with --target and --replace checked against the stack.
local function ordered(session, opts)
  local g, err = M.graph(session)
  if not g then return nil, err end
  local order
  order, err = g:order()
  if not order then return nil, err end
  for _, t in ipairs(opts.target or {}) do
    if not session.by_addr[t] then
      return nil, "--target " .. t .. ": no such resource in the stack" .. validate.address_hint(t, session)
    end
  end
  for a in pairs(opts.replace or {}) do
    if not session.by_addr[a] then
      return nil, "--replace " .. a .. ": no such resource in the stack" .. validate.address_hint(a, session)
    end
  end
  return g, order
end

---@param opts table|nil replace = { addr = true }, target = { addr, ... }, destroy = bool,
--- digest(value) (keyed digests of sensitive values), ephemeral(p) (invokes an ephemeral
--- invocation during plan: result or nil, err), entries = { addr = entry } (entries as
--- state:get gives them, read already by refresh: the plan's own, not read again)
function M.compute(session, state, opts)
  local pc, err = M.start(session, state, opts)
  if not pc then return nil, err end
  return M.finish(pc)
end

-- A plan in steps (plan/ahead.lua plans declarations while the refresh runs):
-- start(session, state, opts) -> pc (the graph and order made) | nil, err as compute's;
-- ahead(pc, addr) plans declaration addr before the walk: true, or false when it could
-- not (it is then planned again in the walk, which gives the error); finish(pc) ->
-- compute's result. Planning ahead is for a declaration whose stored entry is final
-- (pc.entries or state) and whose dependencies are each planned already; it must not be
-- an ephemeral invocation or an action (they call out, in order, during the walk).
function M.start(session, state, opts)
  opts = opts or {}
  local g, order = ordered(session, opts)
  if not g then return nil, errors.new("PlanError", order) end
  local pc = { session = session, state = state, opts = opts, planned = {}, entries = opts.entries or {},
               keep = opts.target and #opts.target > 0 and closure(g, opts.target) or nil,
               result = { changes = {}, add = 0, change = 0, destroy = 0, ephemeral = {}, actions = {},
                          outputs = {}, graph = g, order = order } }
  pc.env = plan_env.resolve(pc.planned)
  return pc
end

function M.ahead(pc, addr)
  local ok, p = pcall(plan_declaration, pc, addr)
  if ok and p then return true end
  pc.planned[addr] = nil -- (planned again in the walk: the same error, at its place in the order)
  return false
end

function M.finish(pc)
  local planned, result = pc.planned, pc.result
  for _, addr in ipairs(result.order) do
    local p = planned[addr]
    if not p then
      local err
      p, err = plan_declaration(pc, addr)
      if not p then return nil, errors.new("PlanError", err) end
    end
    count(result, p)
  end
  plan_deletes.add(pc)
  local ok, err = check_prevent_destroy(result)
  if not ok then return nil, errors.new("PlanError", err) end
  ok, err = plan_outputs.add(pc)
  if not ok then return nil, errors.new("PlanError", err) end
  result.planned = planned
  return result
end

-- The provider's default_tags for a declaration (its `provider = alias`, or the default one).
function M.default_tags(session, decl)
  local prov = session.providers[decl.provider or "default"]
  return prov and prov.config and prov.config.default_tags or nil
end

-- The arguments as state stores them: a value derived from something sensitive
-- (an ephemeral result, a sensitive variable) only as a keyed digest, enough to
-- see that it changed. digest(value) gives that digest (nil: none can be made).
function M.stored_args(args, sensitive, digest)
  local out = {}
  for k, v in pairs(args) do
    if ref.has_withheld(v) then
      out[k] = WITHHELD
    elseif sensitive[k] and v ~= UNKNOWN then
      out[k] = { sensitive_digest = digest and digest(v) or UNKNOWN }
    else
      out[k] = v
    end
  end
  return out
end

return M
