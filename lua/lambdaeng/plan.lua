-- The plan: declarations (stack.lua) + dependency graph (native graph) + stored
-- state (native state) -> the list of changes, in dependency order.
--
-- compute(session, state, opts) walks the graph in topological order. Each
-- resource's arguments are resolved against what is known so far (earlier
-- resources' planned arguments, and their stored attributes when they do not
-- change), then compared with the stored arguments: create, update, replace
-- or no-op; stored resources no longer declared are deleted. Which argument
-- changes replace a resource follows the reference documents (schema.replace).
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local json = require "lambdaeng.json"
local graphlib = require "lambdaeng.native.graph"

local M = {}
local UNKNOWN = ref.UNKNOWN
local WITHHELD = ref.WITHHELD

-- A value state keeps only as a keyed digest.
local function is_digest(v) return type(v) == "table" and v.sensitive_digest ~= nil end

-- What a kind knows about its own arguments beyond the schema (func_doc.lua):
-- same(key, a, b) (equality up to API defaults), KEEP_WHEN_ABSENT (Optional +
-- Computed arguments), changing_attrs(before, after) (the computed attributes the
-- planned calls can change). Kinds without it compare plainly.
local LOGIC = { func = require "lambdaeng.resources.func_doc" }
M.LOGIC = LOGIC

-- Kinds without changing_attrs: every computed attribute may change on update.
local function changing(p, key)
  if p.changing then return p.changing[key] == true end
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
    local deps = {}
    for addr in pairs(d.deps) do deps[#deps + 1] = addr end
    table.sort(deps)
    for _, addr in ipairs(deps) do
      if addr ~= d.address then
        local ok, err = g:edge(d.address, addr)
        if not ok then return nil, d.site.display .. ": " .. err end
      end
    end
  end
  return g
end

local equal

-- Whether argument key is the same before and after, for this kind.
local function same(kind, key, a, b)
  local l = LOGIC[kind]
  if l then return l.same(key, a, b) end
  return equal(a, b)
end
M.same = same

function equal(a, b)
  if a == b then return true end
  if a == UNKNOWN or b == UNKNOWN then return false end
  if type(a) ~= "table" or type(b) ~= "table" then
    if type(a) == "number" and type(b) == "number" then return a == b end
    return false
  end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.equal = equal

local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  return keys
end

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

-- opts: replace = {addr=true}, target = {addr,...}, destroy = bool
function M.compute(session, state, opts)
  opts = opts or {}
  local g, err = M.graph(session)
  if not g then return nil, err end
  local order
  order, err = g:order()
  if not order then return nil, err end
  for _, t in ipairs(opts.target or {}) do
    if not session.by_addr[t] then return nil, "--target " .. t .. ": no such resource in the stack" end
  end
  for a in pairs(opts.replace or {}) do
    if not session.by_addr[a] then return nil, "--replace " .. a .. ": no such resource in the stack" end
  end
  local keep = opts.target and #opts.target > 0 and closure(g, opts.target) or nil

  local planned = {}
  local function env(addr, path)
    local p = planned[addr]
    if not p then return UNKNOWN end
    local key = path[1]
    local v
    local nested = p.decl.kind.nested_computed and p.decl.kind.nested_computed[key]
    local first = 2
    if p.ephemeral_result and not p.decl.kind.args[key] then
      v = p.ephemeral_result[key]
      if key == "result" and v == nil then v = UNKNOWN end
    elseif nested and path[2] and nested[path[2]] then
      -- a computed field inside an argument block (vpc_config.vpc_id): nil without the block
      if p.args[key] == nil then return nil end
      if p.args[key] == UNKNOWN then return UNKNOWN end
      local name = key .. "." .. path[2]
      if p.action == "no-op" or (p.action == "update" and not changing(p, name)) then
        v = p.prior and p.prior.attrs and p.prior.attrs[key]
        v = type(v) == "table" and v[path[2]]
        if v == nil or v == false then v = UNKNOWN end
      else
        v = UNKNOWN
      end
      first = 3
    elseif p.args[key] ~= nil or p.decl.kind.args[key] then
      v = p.args[key]
      if v == nil and p.decl.kind.args[key].computed and p.action == "create" then v = UNKNOWN end
    elseif p.known_attrs and p.known_attrs[key] ~= nil then
      v = p.known_attrs[key]
    elseif p.action == "no-op" or (p.action == "update" and not changing(p, key)) then
      v = p.prior and p.prior.attrs and p.prior.attrs[key]
      if v == nil then v = UNKNOWN end
      if is_digest(v) then return WITHHELD end
    else
      v = UNKNOWN
    end
    for i = first, #path do
      if v == UNKNOWN or v == WITHHELD then return v end
      if type(v) ~= "table" then return nil end
      v = v[path[i]]
    end
    return v
  end

  -- What to say when a change needs a sensitive value that state keeps only as a digest.
  local function withheld_error(d, keys, verb)
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

  local result = { changes = {}, add = 0, change = 0, destroy = 0, ephemeral = {}, actions = {},
                   outputs = {}, graph = g, order = order }
  local stored = {}
  for _, addr in ipairs(state:addresses()) do stored[addr] = true end

  local p_pending = false
  for _, addr in ipairs(order) do
    local d = session.by_addr[addr]
    local kind = d.kind.kind
    local args = stack.resolve_args(d, env)
    local prior = state:get(addr)
    if prior and prior.pending == "create" then
      -- a create that was cut off before its outcome was known: create (adopting it if it exists)
      prior = nil
      p_pending = true
    end
    local sensitive = {}
    for k, v in pairs(d.args) do
      if ref.inspect(v).sensitive then sensitive[k] = true end
    end
    local p = { decl = d, args = args, prior = prior, sensitive = sensitive, address = addr,
                pending_prior = p_pending and state:get(addr) or nil }
    p_pending = false
    planned[addr] = p
    if opts.destroy then
      p.action = "skip" -- listed below with the stored resources, as deletes
    elseif kind == "ephemeral_invocation" then
      p.action = "read"
      result.ephemeral[#result.ephemeral + 1] = p
      -- Invoked during plan when everything it needs is known and its function is not
      -- about to be created; otherwise during apply, once it can be.
      local held = {}
      for k, v in pairs(args) do if ref.has_withheld(v) then held[#held + 1] = k end end
      if #held > 0 then return nil, withheld_error(d, held, "be invoked") end
      if opts.ephemeral and not M.has_unknown(args) then
        local waits_for_create = false
        for dep in pairs(d.deps) do
          local q = planned[dep]
          if q and (q.action == "create" or q.action == "replace") then waits_for_create = true end
        end
        if not waits_for_create then
          local r, err = opts.ephemeral(p)
          if not r then return nil, string.format("%s: %s (%s)", d.site.display, addr, err) end
          p.ephemeral_result = r
        end
      end
    elseif kind == "action" then
      p.action = "action"
      result.actions[#result.actions + 1] = p
    elseif keep and not keep[addr] then
      p.action = prior and "no-op" or "skip"
    else
      local ignore = {}
      local lc = d.meta.lifecycle
      if type(lc) == "table" and type(lc.ignore_changes) == "table" then
        for _, name in ipairs(lc.ignore_changes) do ignore[name] = true end
      end
      local logic = LOGIC[kind]
      if prior and logic then
        -- Optional + Computed arguments the stack leaves out keep what the resource has
        for k in pairs(logic.KEEP_WHEN_ABSENT) do
          if args[k] == nil and (prior.args or {})[k] ~= nil then args[k] = prior.args[k] end
        end
      end
      p.stored = M.stored_args(args, sensitive, opts.digest)
      if logic and logic.known_attrs then p.known_attrs = logic.known_attrs(args, M.default_tags(session, d)) end
      -- Arguments made from a value state keeps only as a digest: unchanged if what
      -- was stored for them is that kind of digest too; any change needs the value.
      for k, v in pairs(args) do
        if ref.has_withheld(v) and prior and is_digest((prior.args or {})[k]) then p.stored[k] = prior.args[k] end
      end
      if not prior then
        p.action = "create"
      else
        local before = prior.args or {}
        if prior.kind and prior.kind ~= kind then
          p.action = "replace"
          p.replace_reason = { "kind" }
        else
          local changed, force = {}, {}
          local keys = {}
          local stored = p.stored
          -- compared as the API keeps them (a KMS key without variables is not kept)
          local eb = logic and logic.effective(before) or before
          local es = logic and logic.effective(stored) or stored
          for k in pairs(args) do keys[k] = true end
          for k in pairs(before) do keys[k] = true end
          for k in pairs(keys) do
            if ignore[k] then
              args[k] = before[k]
              stored[k] = before[k]
            elseif not same(kind, k, eb[k], es[k]) then
              changed[#changed + 1] = k
              if replaces(d, args, k) then force[#force + 1] = k end
            end
          end
          table.sort(changed)
          table.sort(force)
          p.changed = changed
          if (opts.replace or {})[addr] then
            p.action = "replace"
            p.replace_reason = { "--replace" }
          elseif #force > 0 then
            p.action = "replace"
            p.replace_reason = force
          elseif #changed > 0 then
            p.action = "update"
            if logic then p.changing = logic.changing_attrs(before, stored) end
          else
            p.action = "no-op"
          end
        end
      end
    end
    local a = p.action
    if p.stored and (a == "create" or a == "update" or a == "replace") then
      local held = {}
      for k, v in pairs(args) do if ref.has_withheld(v) then held[#held + 1] = k end end
      if #held > 0 then return nil, withheld_error(d, held, "be " .. a .. "d") end
    end
    if a == "create" then result.add = result.add + 1
    elseif a == "update" then result.change = result.change + 1
    elseif a == "replace" then result.add = result.add + 1; result.destroy = result.destroy + 1 end
    if a == "create" or a == "update" or a == "replace" then result.changes[#result.changes + 1] = p end
  end

  -- Stored resources that are no longer declared (or all of them, for destroy).
  local deletes = {}
  -- Deletes run in reverse dependency order: declared resources by the graph,
  -- then those only the state knows, by the dependencies stored with them.
  local rank = {}
  for i, addr in ipairs(order) do rank[addr] = i end
  local stored_order = state:addresses()
  table.sort(stored_order, function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra > rb end
    if ra or rb then return rb ~= nil end
    local da, db = state:get(a).dependencies or {}, state:get(b).dependencies or {}
    for _, d in ipairs(da) do if d == b then return true end end
    for _, d in ipairs(db) do if d == a then return false end end
    return a < b
  end)
  for _, addr in ipairs(stored_order) do
    if opts.destroy or not session.by_addr[addr] then
      if not keep or keep[addr] or opts.destroy then
        local prior = state:get(addr)
        deletes[#deletes + 1] = { address = addr, prior = prior, action = "delete", args = {},
                                  decl = opts.destroy and session.by_addr[addr] or nil }
      end
    end
  end
  for _, p in ipairs(deletes) do
    result.destroy = result.destroy + 1
    result.changes[#result.changes + 1] = p
  end

  -- lifecycle.prevent_destroy: a plan that would destroy such a resource is an error.
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

  -- Outputs
  local stored_outputs = state:outputs() or {}
  for _, o in ipairs(session.outputs) do
    local value = ref.resolve(o.value, env)
    local bad, why = require("lambdaeng.validate").output_problem(value) -- made by deferred code
    if bad then return nil, stack.format_error({ site = o.site, address = "output." .. o.name, path = bad, message = why }) end
    local before = stored_outputs[o.name]
    local action, same
    if before == nil then
      same = false
    elseif o.sensitive then
      -- state keeps a sensitive output only as a keyed digest of its value
      if ref.has_withheld(value) then same = before.value_digest ~= nil
      elseif M.has_unknown(value) or not opts.digest then same = false
      else same = before.value_digest == opts.digest(value) end
    else
      same = before.value_digest == nil and equal(before.value, value)
    end
    if before == nil then action = "create"
    elseif same and (before.sensitive or false) == o.sensitive then action = "no-op"
    else action = "update" end
    if opts.destroy then action = "delete" end
    result.outputs[#result.outputs + 1] = { name = o.name, value = value, sensitive = o.sensitive,
                                             before = before, action = action }
  end
  for _, name in ipairs(sorted(stored_outputs)) do
    if not session.output_by_name[name] then
      result.outputs[#result.outputs + 1] = { name = name, before = stored_outputs[name], action = "delete" }
    end
  end
  result.output_changes = 0
  for _, o in ipairs(result.outputs) do
    if o.action ~= "no-op" then result.output_changes = result.output_changes + 1 end
  end
  result.planned = planned
  return result
end

-- The provider's default_tags for a declaration (its `provider = alias`, or the default one).
function M.default_tags(session, decl)
  local prov = session.providers[decl.provider or "default"]
  return prov and prov.config and prov.config.default_tags or nil
end

function M.has_unknown(v)
  if v == UNKNOWN or v == WITHHELD then return true end
  if type(v) == "table" then
    for _, x in pairs(v) do if M.has_unknown(x) then return true end end
  end
  return false
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

-- Rendering ---------------------------------------------------------------

local function colours(enabled)
  local function c(code) return function(s) return enabled and ("\27[" .. code .. "m" .. s .. "\27[0m") or s end end
  return { green = c("32"), yellow = c("33"), red = c("31"), bold = c("1"), dim = c("2"), cyan = c("36") }
end

local SENSITIVE
local function scalar(v)
  if v == UNKNOWN then return "(known after apply)" end
  if v == SENSITIVE or v == WITHHELD then return "(sensitive)" end
  if v == nil or v == json.null then return "null" end
  if type(v) == "string" then
    if v:find("\n") then return json.encode_plain(v) end
    return json.encode_plain(v)
  end
  if type(v) == "number" then return json.encode_plain(v) end
  return tostring(v)
end

local function is_list(v)
  if type(v) ~= "table" then return false end
  local n = #v
  if n == 0 then return next(v) == nil end
  for k in pairs(v) do if math.type(k) ~= "integer" then return false end end
  return true
end

-- The schema spec of key k of a change (an argument, or a computed map such as tags_all),
-- so that an empty map renders as {} and an empty list as [].
local MAP_ATTRS = { tags_all = { type = "map" } }
local function spec_of(p, k)
  local kind = p.decl and p.decl.kind or require("lambdaeng.schema").kinds[p.prior and p.prior.kind or ""]
  return kind and kind.args[k] or MAP_ATTRS[k]
end
local function inner_spec(spec, k)
  if not spec then return nil end
  if spec.type == "block" then return spec.fields and spec.fields[k] end
  return spec.elem
end

-- Lines rendering value v at indent, prefix sign (e.g. "+ "); spec (optional) its schema.
local function render_value(v, indent, sign, out, key, width, spec)
  local pad = string.rep(" ", indent)
  local label = key and (key .. string.rep(" ", math.max(0, (width or #key) - #key)) .. " = ") or ""
  if type(v) ~= "table" or v == UNKNOWN or v == SENSITIVE or v == WITHHELD then
    out[#out + 1] = pad .. sign .. label .. scalar(v)
    return
  end
  if is_list(v) then
    if #v == 0 then
      local empty = spec and (spec.type == "map" or spec.type == "block") and "{}" or "[]"
      out[#out + 1] = pad .. sign .. label .. empty
      return
    end
    out[#out + 1] = pad .. sign .. label .. "["
    for _, x in ipairs(v) do render_value(x, indent + 4, sign, out, nil, nil, inner_spec(spec, 1)) end
    out[#out + 1] = pad .. "  " .. "]"
    return
  end
  local keys = sorted(v)
  if #keys == 0 then out[#out + 1] = pad .. sign .. label .. "{}" return end
  out[#out + 1] = pad .. sign .. label .. "{"
  local w = 0
  for _, k in ipairs(keys) do w = math.max(w, #tostring(k)) end
  for _, k in ipairs(keys) do
    local name = tostring(k)
    if not name:match("^[%a_][%w_]*$") then name = json.encode_plain(name) end
    render_value(v[k], indent + 4, sign, out, name, w, inner_spec(spec, k))
  end
  out[#out + 1] = pad .. "  " .. "}"
end

SENSITIVE = setmetatable({}, { __name = "lambdaeng.sensitive" })
local change_body -- forward: the attribute lines of one change

local function mark(v, sensitive)
  if sensitive and v ~= nil then return SENSITIVE end
  if type(v) == "table" and v.sensitive_digest ~= nil then return SENSITIVE end
  return v
end

local HEAD = {
  create = "will be created", update = "will be updated in-place", replace = "must be replaced",
  delete = "will be destroyed", read = "will be invoked during plan and run (never stored)",
}

local function kind_of(p)
  if p.decl then return p.decl.kind.kind end
  return p.prior and p.prior.kind or "resource"
end

local function name_of(p)
  if p.decl then return p.decl.name end
  return p.prior and p.prior.name or p.address
end

-- A diff of two values rendered in place at indent under key: maps and blocks
-- recurse (only what changes is shown, the rest counted), lists show the items
-- that leave and arrive, scalars "old -> new".
local function render_diff(old, new, indent, key, w, out, sym, suffix)
  local pad = string.rep(" ", indent)
  local label = key .. string.rep(" ", math.max(0, (w or #key) - #key)) .. " = "
  suffix = suffix or ""
  local old_table = type(old) == "table" and old ~= UNKNOWN and old ~= SENSITIVE
  local new_table = type(new) == "table" and new ~= UNKNOWN and new ~= SENSITIVE
  if not (old_table and new_table) then
    local o, n = {}, {}
    if old_table or new_table then
      render_value(old, indent, sym.delete .. " ", o, key, w)
      render_value(new, indent, sym.create .. " ", n, key, w)
      n[#n] = n[#n] .. suffix
      for _, l in ipairs(o) do out[#out + 1] = l end
      for _, l in ipairs(n) do out[#out + 1] = l end
    else
      out[#out + 1] = string.format("%s%s %s%s -> %s%s", pad, sym.update, label, scalar(old), scalar(new), suffix)
    end
    return
  end
  local inner = string.rep(" ", indent + 4)
  if is_list(old) and is_list(new) then
    out[#out + 1] = pad .. sym.update .. " " .. label .. "["
    local kept = 0
    local function has(list, x) for _, y in ipairs(list) do if equal(x, y) then return true end end end
    for _, x in ipairs(old) do
      if has(new, x) then kept = kept + 1 else render_value(x, indent + 4, sym.delete .. " ", out) end
    end
    for _, x in ipairs(new) do
      if not has(old, x) then render_value(x, indent + 4, sym.create .. " ", out) end
    end
    if kept > 0 then out[#out + 1] = string.format("%s  # (%d unchanged element%s hidden)", inner, kept, kept == 1 and "" or "s") end
    out[#out + 1] = pad .. "  ]" .. suffix
    return
  end
  out[#out + 1] = pad .. sym.update .. " " .. label .. "{"
  local keys, seen = {}, {}
  for k in pairs(old) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  for k in pairs(new) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local shown, kept = {}, 0
  for _, k in ipairs(keys) do
    if equal(old[k], new[k]) then kept = kept + 1 else shown[#shown + 1] = k end
  end
  local iw = 0
  for _, k in ipairs(shown) do iw = math.max(iw, #tostring(k)) end
  for _, k in ipairs(shown) do
    local name = tostring(k)
    if not name:match("^[%a_][%w_]*$") then name = json.encode_plain(name) end
    if old[k] == nil then render_value(new[k], indent + 4, sym.create .. " ", out, name, iw)
    elseif new[k] == nil then render_value(old[k], indent + 4, sym.delete .. " ", out, name, iw)
    else render_diff(old[k], new[k], indent + 4, name, iw, out, sym) end
  end
  if kept > 0 then
    out[#out + 1] = string.format("%s  # (%d unchanged attribute%s hidden)", inner, kept, kept == 1 and "" or "s")
  end
  out[#out + 1] = pad .. "  }" .. suffix
end

local function forces(p, k)
  for _, r in ipairs(p.replace_reason or {}) do if r == k then return true end end
  return false
end

-- The attribute lines of one change.
function change_body(p, c, sym)
  local body = {}
  local kind = kind_of(p)
  local before = p.prior and p.prior.args or {}
  local after = p.stored or p.args or {}
  local keys, seen, computed = {}, {}, {}
  for k in pairs(after) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  for k in pairs(before) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
  if p.decl and p.action ~= "delete" then
    for _, k in ipairs(p.decl.kind.computed) do
      if not seen[k] then seen[k] = true computed[k] = true keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  local known = p.known_attrs or {}
  local old_attrs = p.prior and p.prior.attrs or {}
  local logic = LOGIC[kind]
  local eff_before = logic and logic.effective(before) or before
  local eff_after = logic and logic.effective(after) or after
  -- An update shows only what changes: arguments that differ, and the computed
  -- attributes its calls can change.
  local shown = {}
  for _, k in ipairs(keys) do
    if computed[k] then
      if p.action == "create" or p.action == "replace" then shown[#shown + 1] = k
      elseif p.action == "update" and kind ~= "invocation" then
        if known[k] ~= nil then
          if old_attrs[k] ~= nil and not equal(old_attrs[k], known[k]) then shown[#shown + 1] = k end
        elseif changing(p, k) and old_attrs[k] ~= nil then
          shown[#shown + 1] = k
        end
      end
    elseif p.action == "create" or p.action == "delete" or not same(kind, k, eff_before[k], eff_after[k]) then
      shown[#shown + 1] = k
    end
  end
  local w = 0
  for _, k in ipairs(shown) do w = math.max(w, #k) end
  for _, k in ipairs(shown) do
    local s = p.sensitive and p.sensitive[k]
    local old, new = before[k], after[k]
    if computed[k] then
      if p.action == "create" or p.action == "replace" then
        render_value(known[k] ~= nil and known[k] or UNKNOWN, 6, sym.create .. " ", body, k, w, spec_of(p, k))
      elseif known[k] ~= nil then
        render_diff(old_attrs[k], known[k], 6, k, w, body, sym)
      else
        body[#body + 1] = string.format("      %s %s%s = %s -> (known after apply)", sym.update, k,
          string.rep(" ", w - #k), scalar(mark(old_attrs[k], false)))
      end
    elseif p.action == "create" then
      render_value(mark(new, s), 6, sym.create .. " ", body, k, w, spec_of(p, k))
    elseif p.action == "delete" then
      render_value(mark(old, s), 6, sym.delete .. " ", body, k, w, spec_of(p, k))
    else
      local suffix = forces(p, k) and c.red(" # forces replacement") or ""
      if old == nil then
        render_value(mark(new, s), 6, sym.create .. " ", body, k, w, spec_of(p, k))
        body[#body] = body[#body] .. suffix
      elseif new == nil then
        render_value(mark(old, s), 6, sym.delete .. " ", body, k, w, spec_of(p, k))
      else
        render_diff(mark(old, s), mark(new, s), 6, k, w, body, sym, suffix)
      end
    end
  end
  return body
end

function M.render(result, session, opts)
  opts = opts or {}
  local c = colours(opts.color)
  local out = {}
  local function line(s) out[#out + 1] = s end
  local sym = { create = c.green("+"), update = c.yellow("~"), replace = c.red("-") .. "/" .. c.green("+"),
                delete = c.red("-"), read = c.cyan("<=") }
  if opts.target_line then line(opts.target_line) line("") end
  if #result.changes == 0 and result.output_changes == 0 then
    line("No changes. Your infrastructure matches the configuration.")
    if #result.ephemeral > 0 then
      line("")
      for _, p in ipairs(result.ephemeral) do
        line(string.format("  %s %s %s", sym.read, p.address, HEAD.read))
      end
    end
    return table.concat(out, "\n") .. "\n"
  end
  line("lambdaeng will perform the following actions:")
  for _, p in ipairs(result.changes) do
    line("")
    local where = p.decl and c.dim(" (" .. p.decl.site.display .. ")") or ""
    line(c.bold(string.format("  # %s %s", p.address, HEAD[p.action])) .. where)
    if p.action == "replace" and p.replace_reason then
      line(string.format("  # (because %s %s)", table.concat(p.replace_reason, ", "),
        p.replace_reason[1] == "--replace" and "was given" or "forces replacement"))
    end
    line(string.format("  %s %s %q {", sym[p.action], kind_of(p), name_of(p)))
    local body = change_body(p, c, sym)
    for _, l in ipairs(body) do line(l) end
    line("    }")
  end
  if #result.ephemeral > 0 then
    line("")
    for _, p in ipairs(result.ephemeral) do
      line(string.format("  %s %s %s", sym.read, p.address, HEAD.read))
    end
  end
  line("")
  line(c.bold(string.format("Plan: %d to add, %d to change, %d to destroy.", result.add, result.change, result.destroy)))
  local oc = {}
  for _, o in ipairs(result.outputs) do if o.action ~= "no-op" then oc[#oc + 1] = o end end
  if #oc > 0 then
    line("")
    line("Changes to Outputs:")
    local w = 0
    for _, o in ipairs(oc) do w = math.max(w, #o.name) end
    for _, o in ipairs(oc) do
      local pad = string.rep(" ", w - #o.name)
      if o.action == "delete" then
        line(string.format("  %s %s%s = %s", sym.delete, o.name, pad,
          scalar(o.before and o.before.sensitive and SENSITIVE or mark(o.before and o.before.value, false))))
      elseif o.action == "create" then
        local lines = {}
        render_value(mark(o.value, o.sensitive), 2, sym.create .. " ", lines, o.name, w)
        for _, l in ipairs(lines) do line(l) end
      else
        line(string.format("  %s %s%s = %s -> %s", sym.update, o.name, pad,
          scalar(o.before.sensitive and SENSITIVE or mark(o.before.value, false)), scalar(mark(o.value, o.sensitive))))
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

-- JSON form: values unknown at plan time are left out of "after" and listed in
-- "after_unknown"; sensitive values are left out and listed in "after_sensitive".
local function to_json_value(v, sensitive)
  if sensitive then return nil end
  if v == UNKNOWN or v == WITHHELD then return nil end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do
      if x ~= UNKNOWN then out[k] = to_json_value(x) end
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
  return out
end

function M.to_json(result, session, opts)
  local changes = {}
  local all = {}
  for _, p in ipairs(result.changes) do all[#all + 1] = p end
  for _, p in ipairs(result.ephemeral) do all[#all + 1] = p end
  for _, p in ipairs(result.actions) do all[#all + 1] = p end
  for _, p in ipairs(result.planned and (function()
    local noops = {}
    for _, addr in ipairs(result.order) do
      local q = result.planned[addr]
      if q.action == "no-op" then noops[#noops + 1] = q end
    end
    return noops
  end)() or {}) do all[#all + 1] = p end
  for _, p in ipairs(all) do
    local after, after_unknown, after_sensitive = json.null, {}, {}
    if p.action ~= "delete" then
      after = {}
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
          if known[k] == nil and changing(p, k) then after_unknown[k] = true end
        end
        for name in pairs(p.changing or {}) do
          local block, field = name:match("^([%w_]+)%.([%w_]+)$")
          if block then
            after_unknown[block] = type(after_unknown[block]) == "table" and after_unknown[block] or {}
            after_unknown[block][field] = true
          end
        end
      end
    end
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
      kind = kind_of(p),
      name = name_of(p),
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
