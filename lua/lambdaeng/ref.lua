-- References: values that carry the dependency on the resource they came from.
--
-- Reading an attribute of a declaration handle gives a reference. A reference is
-- *known* when its value is available at plan time (an argument the program set,
-- or anything computed from known references) and *unknown* otherwise (computed
-- attributes such as `arn` or `result`). References compose: `ref:map(f)`, `..`
-- with strings, and every function wrapped with `lift` accept references and
-- return a reference carrying the union of their inputs' dependencies, known at
-- once when every input is known. At plan and apply time `resolve` replaces every
-- reference inside a value with what the environment knows, or UNKNOWN.
local M = {}

local Ref = { __name = "lambdaeng.reference" }
local methods = {}
local S = setmetatable({}, { __name = "lambdaeng.reference.state" }) -- private key of a ref's fields

-- The fields of a reference: deps, known, value, sensitive, resolver, label, addr, path,
-- and sensitive_keys: of a sensitive map only some of whose values are (a set of their
-- keys; a function's tags_all), so that a reference to one of the others is not.
local function fields(r) return rawget(r, S) end
M.fields = fields

M.UNKNOWN = setmetatable({}, {
  __name = "lambdaeng.unknown",
  __tostring = function() return "(known after apply)" end,
})
local UNKNOWN = M.UNKNOWN

-- A sensitive value that exists but that this process does not have: state keeps
-- only its keyed digest (e.g. the result of an invocation whose input is sensitive,
-- on a run that does not invoke it again). It propagates like UNKNOWN; plan decides
-- whether what depends on it can stay as it is.
M.WITHHELD = setmetatable({}, {
  __name = "lambdaeng.withheld",
  __tostring = function() return "(sensitive)" end,
})
local WITHHELD = M.WITHHELD

-- json.array's metatable (engine/converter.h; json.lua needs this module): a table so
-- marked is data like a plain one, and references inside it are found and resolved.
local ARRAY_MT = require("lambdaeng.native.json").array_mt

-- Whether v is, or holds, WITHHELD.
local function withheld(v, depth)
  if v == WITHHELD then return true end
  if type(v) ~= "table" or (depth or 0) > 100 then return false end
  local mt = getmetatable(v)
  if mt ~= nil and mt ~= ARRAY_MT then return false end
  for _, x in pairs(v) do if withheld(x, (depth or 0) + 1) then return true end end
  return false
end
M.has_withheld = withheld

local secrets = require "lambdaeng.secrets"
local sized_like = require("lambdaeng.native.vm").sized_like

local function is_ref(v) return getmetatable(v) == Ref end
M.is_ref = is_ref

local function union(into, deps)
  for addr in pairs(deps) do into[addr] = true end
  return into
end

-- new{deps=set, known=bool, value=any, sensitive=bool, resolver=function(env), label=string}
local function new(f)
  f.deps = f.deps or {}
  return setmetatable({ [S] = f }, Ref)
end
M.new = new

-- Walks v (depth-first) and calls visit(ref) for every reference inside it.
local function each_ref(v, visit, depth)
  depth = depth or 0
  if depth > 100 then error("value nested too deeply (does a table contain itself?)", 0) end
  if type(v) ~= "table" then return end -- (strings, numbers: the common case, asked once)
  local mt = getmetatable(v)
  if mt == Ref then
    visit(v)
  elseif mt == nil or mt == ARRAY_MT then
    for k, x in pairs(v) do
      each_ref(k, visit, depth + 1)
      each_ref(x, visit, depth + 1)
    end
  end
end
M.each_ref = each_ref

-- Facts about a value: its dependencies, whether it is wholly known, sensitive.
function M.inspect(v)
  if type(v) == "table" and getmetatable(v) == nil then
    -- a declaration's arguments are mostly flat (strings, numbers): nothing to walk
    local flat = true
    for k, x in pairs(v) do if type(x) == "table" or type(k) == "table" then flat = false break end end
    if flat then return { deps = {}, known = true, sensitive = false, has_refs = false } end
  end
  local deps, known, sensitive, any = {}, true, false, false
  each_ref(v, function(r)
    local f = fields(r)
    any = true
    union(deps, f.deps)
    if not f.known then known = false end
    if f.sensitive then sensitive = true end
  end)
  return { deps = deps, known = known, sensitive = sensitive, has_refs = any }
end

-- Registers what a sensitive reference resolved to: of a map with sensitive_keys, those values only.
local function add_secret(value, keys)
  if not keys or type(value) ~= "table" then return secrets.add(value) end
  for k in pairs(keys) do secrets.add(value[k]) end
end

-- Replaces every reference inside v by env's answer (or its known value).
-- Returns the plain value (UNKNOWN where not yet known) and whether any part
-- was unknown. env(ref) returns the value of a base reference, or UNKNOWN.
local function resolve(v, env, depth)
  if type(v) ~= "table" then return v, false end -- neither a reference nor UNKNOWN/WITHHELD
  depth = depth or 0
  if is_ref(v) then
    local f = fields(v)
    if f.known then return f.value, false end
    if not env then return UNKNOWN, true end
    local value = f.resolver(env)
    if f.sensitive then add_secret(value, f.sensitive_keys) end
    return value, value == UNKNOWN or value == WITHHELD
  end
  local mt = getmetatable(v)
  if mt == nil or mt == ARRAY_MT then
    if depth > 100 then error("value nested too deeply (does a table contain itself?)", 0) end
    local out, unknown = sized_like(v), false -- (filled without a rehash)
    for k, x in pairs(v) do
      local rv, u = resolve(x, env, depth + 1)
      out[k] = rv
      if u or rv == UNKNOWN or rv == WITHHELD then unknown = true end
    end
    if mt then setmetatable(out, mt) end -- (still an array: [] stays [])
    return out, unknown
  end
  return v, v == UNKNOWN or v == WITHHELD
end
M.resolve = resolve

-- Wraps f so that it accepts references anywhere in its arguments.
function M.lift(f, label)
  return function(...)
    local n = select("#", ...)
    local args = table.pack(...)
    local facts = M.inspect(args)
    if not facts.has_refs then return f(...) end
    if facts.known then
      local plain = resolve(args)
      local value = f(table.unpack(plain, 1, n))
      if facts.sensitive then secrets.add(value) end
      if is_ref(value) then
        local vf = fields(value)
        union(vf.deps, facts.deps)
        vf.sensitive = vf.sensitive or facts.sensitive
        return value
      end
      return new { deps = facts.deps, known = true, value = value, sensitive = facts.sensitive,
                   label = label }
    end
    return new {
      deps = facts.deps, known = false, sensitive = facts.sensitive, label = label,
      resolver = function(env)
        local plain, unknown = resolve(args, env)
        if unknown then return withheld(plain) and WITHHELD or UNKNOWN end
        local value = f(table.unpack(plain, 1, n))
        if is_ref(value) then return (resolve(value, env)) end
        return value
      end,
    }
  end
end

-- A reference to attribute `path` of the resource at `addr`.
-- static: the value when the program set it and it is known, else nil.
function M.attribute(addr, path, opts)
  opts = opts or {}
  local label = addr .. "." .. table.concat(path, ".")
  if opts.known then
    return new { deps = { [addr] = true }, known = true, value = opts.value,
                 sensitive = opts.sensitive or false, sensitive_keys = opts.sensitive_keys, label = label,
                 addr = addr, path = path, computed_keys = opts.computed_keys }
  end
  return new {
    deps = { [addr] = true }, known = false, sensitive = opts.sensitive or false, label = label,
    addr = addr, path = path, sensitive_keys = opts.sensitive_keys,
    resolver = function(env) return env(addr, path) end,
  }
end

function methods:map(f)
  if type(f) ~= "function" then error("ref:map expects a function", 2) end
  local label = fields(self).label
  return M.lift(f, label and (label .. ":map(...)"))(self)
end

function methods:is_known() return fields(self).known end

Ref.__index = function(self, key)
  local m = methods[key]
  if m then return m end
  if type(key) ~= "string" and type(key) ~= "number" then return nil end
  -- Field access on a reference is a reference to the field.
  local parent = fields(self)
  local path = {}
  if parent.path then for i, p in ipairs(parent.path) do path[i] = p end end
  path[#path + 1] = key
  local sensitive = parent.sensitive
  if parent.sensitive_keys then sensitive = parent.sensitive_keys[key] == true end
  if parent.known and parent.computed_keys and parent.computed_keys[key] and #path == 2 then
    -- a computed field of a known block: the environment tells its value
    return M.attribute(parent.addr, path, { sensitive = sensitive })
  end
  if parent.known then
    local v = type(parent.value) == "table" and parent.value[key] or nil
    return new { deps = union({}, parent.deps), known = true, value = v, sensitive = sensitive,
                 label = (parent.label or "?") .. "." .. tostring(key), addr = parent.addr, path = path }
  end
  return new {
    deps = union({}, parent.deps), known = false, sensitive = sensitive,
    label = (parent.label or "?") .. "." .. tostring(key), addr = parent.addr, path = path,
    resolver = function(env)
      local v = parent.resolver(env)
      if v == UNKNOWN or v == WITHHELD then return v end
      if type(v) ~= "table" then return nil end
      return v[key]
    end,
  }
end

-- What can be concatenated: strings, numbers and references (checked when they resolve).
local function concatenable(v) return type(v) == "string" or type(v) == "number" or is_ref(v) end

local function describe(v)
  if is_ref(v) then return "reference " .. (fields(v).label or "?") end
  return "a " .. type(v) .. " value"
end

-- `..` with a reference: a reference to the concatenation. Operands that can never
-- be concatenated are an error at once, at the user's line; a reference whose value
-- turns out not to be a string or number fails where it resolves, naming this line.
Ref.__concat = function(a, b)
  if not concatenable(a) or not concatenable(b) then
    error(string.format("cannot concatenate %s with %s", describe(a), describe(b)), 2)
  end
  local info = debug.getinfo(2, "Sl")
  local where = info and info.currentline and info.currentline > 0
    and (info.short_src .. ":" .. info.currentline .. ": ") or ""
  local function check(v, operand)
    if type(v) ~= "string" and type(v) ~= "number" then
      error(string.format("%scannot concatenate %s: it is %s", where, describe(operand), describe(v)), 0)
    end
  end
  local ok, r = pcall(M.lift(function(x, y)
    check(x, a)
    check(y, b)
    return x .. y
  end, "concat"), a, b)
  if not ok then error(r, 0) end
  return r
end

-- `#ref` would silently be 0 (a reference is a table): the length of what a
-- reference holds is known only when it resolves.
Ref.__len = function(self)
  error(string.format("cannot take the length of %s with # (it would be 0): use "
    .. "ref:map(function(v) return #v end), which gives a reference to the length", describe(self)), 2)
end

Ref.__tostring = function(self)
  local f = fields(self)
  if f.sensitive then return "(sensitive)" end
  if f.known then
    local v = f.value
    if type(v) == "string" then return v end
    return tostring(v)
  end
  return "(known after apply: " .. (f.label or "?") .. ")"
end

Ref.__newindex = function() error("references are read-only", 2) end

return M
