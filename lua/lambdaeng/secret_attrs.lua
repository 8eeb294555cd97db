-- Computed attributes that carry what a sensitive argument holds, as plans show
-- them and state stores them: never in clear.
--
-- A kind's schema names them (sensitive_from_args): `result = true` (an
-- invocation's result follows any sensitive argument: the function may return
-- what it was given), `tags_all = "tags"` (a function's tags_all holds its tags:
-- sensitive when the tags are). Such an attribute is kept as a keyed digest; a
-- map attribute (tags_all) keeps its keys, which are names, and digests the values
-- that carry a sensitive part of its argument (all of them when where those parts
-- are is not known: the whole argument is one sensitive value, or an entry written
-- before sensitive_paths), the others kept and shown as they are; so an update
-- still knows which tags to add and remove. Any other string that holds a known
-- secret is scrubbed too (secrets.lua, the backstop).
--
--   follows(kind, attr, sensitive_of) -> bool   sensitive_of(argname) -> bool
--   stored(kind, attrs, sensitive, digest[, paths]) -> a copy of attrs fit for state
--                   (paths: the entry's sensitive_paths, where in an argument its
--                   sensitive parts are)
--   sensitive_in(p, attr) -> whether a planned change's computed attribute carries
--                   a sensitive argument
--   sensitive_keys(p, attr) -> nil, or of a map attribute that does, the set of its
--                   keys that carry it, or true for all (plan/json.lua's after_sensitive)
--   declared_keys(kind, attr, args) -> of a map attribute that follows a partly
--                   sensitive argument, the keys that carry it (a set), or nil
--   masked(p, attrs, marker) -> attrs with those attributes (a map's sensitive
--                   values, and any digest) shown as marker (plan/text.lua)
--   same(stored_value, value, digest) -> whether a stored (maybe digested) map
--                                        value is value
--   in_clear(entries, outputs) -> the addresses ("output.NAME" for outputs) of a
--                   state's values that are sensitive but stored in clear (by a
--                   lambdaeng from before digests: outputs[name].value,
--                   attrs.result), entries: address -> entry
--   scrubbed_entry(entry, digest), scrubbed_output(output, digest) -> the same
--                   with those values as keyed digests
--   shown_entry(entry) -> entry as it may be shown (state show, a JSON plan's
--                   before and prior_state): those values as digest placeholders
--                   (so shown as sensitive), entry itself when it holds none
local secrets = require "lambdaeng.secrets"

local M = {}

local MAPS = { tags_all = true }

local function is_digest(v) return type(v) == "table" and v.sensitive_digest ~= nil end

function M.follows(kind, attr, sensitive_of)
  local from = (kind and kind.sensitive_from_args or {})[attr]
  if from == true then return sensitive_of(nil) end
  if type(from) == "string" then return sensitive_of(from) end
  return false
end

-- The keys of map attribute attr (of kind) that carry a sensitive part of the argument
-- it follows: true for all, or a set. marks: that argument's sensitive marks (a table
-- of them where the argument is a table, true or nil when it is one value).
local function keys_of_marks(marks)
  if type(marks) ~= "table" then return true end
  local keys = {}
  for k, m in pairs(marks) do if m then keys[k] = true end end
  return keys
end

local function digested(attr, v, digest, keys)
  local function one(x)
    if type(x) == "table" and x.sensitive_digest ~= nil then return x end
    return { sensitive_digest = digest and digest(x) or "(not stored)" }
  end
  if MAPS[attr] and type(v) == "table" and v.sensitive_digest == nil then
    -- (not registered as secrets: the map's other values, default tags, are not)
    local out = {}
    for k, x in pairs(v) do out[k] = (keys == true or keys[k]) and one(x) or x end
    return out
  end
  secrets.add(v) -- an invocation's result: printed only as (sensitive) from now on
  return one(v)
end

-- attrs with the attributes that follow a sensitive argument digested.
-- sensitive: the set of sensitive argument names (state's entry.sensitive).
-- attrs with each value that replace(k, v) gives a replacement for replaced: attrs
-- itself when there is none (no copy), else a copy.
local function replaced(attrs, replace)
  local out = nil
  for k, v in pairs(attrs) do
    local r = replace(k, v)
    if r ~= nil then
      out = out or {}
      out[k] = r
    end
  end
  if not out then return attrs end
  for k, v in pairs(attrs) do if out[k] == nil then out[k] = v end end
  return out
end

-- The argument map attribute attr of kind follows, or nil.
local function map_source(kind, attr)
  local from = MAPS[attr] and (kind and kind.sensitive_from_args or {})[attr]
  return type(from) == "string" and from or nil
end

local function digest_following(kind, attrs, sensitive, digest, paths)
  if type(attrs) ~= "table" or not sensitive or next(sensitive) == nil then return attrs end
  local function sensitive_of(name)
    if name == nil then return true end
    return sensitive[name] == true
  end
  return replaced(attrs, function(k, v)
    if v ~= nil and M.follows(kind, k, sensitive_of) then
      local from = map_source(kind, k)
      return digested(k, v, digest, keys_of_marks(from and type(paths) == "table" and paths[from]))
    end
  end)
end

function M.stored(kind, attrs, sensitive, digest, paths)
  return secrets.scrub(digest_following(kind, attrs, sensitive, digest, paths), digest)
end

-- The sensitive arguments of a planned change (plan.lua's p), or of the entry it deletes.
local function planned_sensitive(p)
  local s = p.sensitive
  if s == nil or next(s) == nil then s = p.prior and p.prior.sensitive or {} end
  return s
end

-- Whether computed attribute k of planned change p carries a sensitive argument.
function M.sensitive_in(p, k)
  local s = planned_sensitive(p)
  if next(s) == nil then return false end -- (most changes: nothing sensitive, nothing to look up)
  local kind = p.decl and p.decl.kind or require("lambdaeng.schema")[p.prior and p.prior.kind or ""]
  return M.follows(kind, k, function(arg) if arg == nil then return next(s) ~= nil end return s[arg] == true end)
end

-- Of planned change p's map attribute k that carries a sensitive argument, the keys
-- that do: where the declaration puts its sensitive parts, and where state says they
-- were (its sensitive_paths, and the values it keeps as digests), so that a value is
-- shown the same on both sides of an update; true for all when either is not known
-- (an entry written before sensitive_paths); nil when k carries none.
function M.sensitive_keys(p, k)
  if not M.sensitive_in(p, k) then return nil end
  local kind = p.decl and p.decl.kind or require("lambdaeng.schema")[p.prior and p.prior.kind or ""]
  local from = map_source(kind, k)
  if not from then return true end
  local keys = {}
  local function add(marks) -- false when they mean all
    local some = keys_of_marks(marks)
    if some == true then return false end
    for name in pairs(some) do keys[name] = true end
    return true
  end
  if p.decl and p.sensitive and p.sensitive[from]
    and not add(require("lambdaeng.plan.json_values").sensitive_marks(p.decl.args[from])) then return true end
  local prior = p.prior
  if prior and type(prior.sensitive) == "table" and prior.sensitive[from] then
    if not add(type(prior.sensitive_paths) == "table" and prior.sensitive_paths[from] or nil) then return true end
    local stored = type(prior.attrs) == "table" and prior.attrs[k]
    for name, x in pairs(type(stored) == "table" and stored or {}) do if is_digest(x) then keys[name] = true end end
  end
  return keys
end

-- Of kind's map attribute attr (a function's tags_all), the set of its keys whose values
-- carry a sensitive part of the declared arguments args, or nil when that is not known
-- (the argument is one sensitive value) or it follows no argument: a reference to attr
-- is then sensitive as a whole (stack.lua's handles).
function M.declared_keys(kind, attr, args)
  local from = map_source(kind, attr)
  if not from then return nil end
  local keys = keys_of_marks(require("lambdaeng.plan.json_values").sensitive_marks(args[from]))
  return keys ~= true and keys or nil
end

-- attrs as a plan shows them: each attribute that carries a sensitive argument is
-- marker (of a map, the values that carry it, and any digest; its keys stay).
function M.masked(p, attrs, marker)
  if next(planned_sensitive(p)) == nil then return attrs end
  return replaced(attrs, function(k, v)
    local keys = M.sensitive_keys(p, k)
    if not keys then return nil end
    if MAPS[k] and type(v) == "table" and v.sensitive_digest == nil then
      local m = {}
      for name, x in pairs(v) do m[name] = (keys == true or keys[name] or is_digest(x)) and marker or x end
      return m
    end
    return marker
  end)
end

-- A tag as state keeps it (its value, or a digest of it) against a value.
function M.same(stored_value, value, digest)
  if type(stored_value) == "table" and stored_value.sensitive_digest ~= nil then
    return digest ~= nil and value ~= nil and stored_value.sensitive_digest == digest(value)
  end
  return stored_value == value
end

-- Whether v (of attribute attr) holds a sensitive value in clear; of a map, one of
-- keys' values (all of them when keys is true or nil).
local function clear_value(attr, v, keys)
  if v == nil or is_digest(v) then return false end
  if MAPS[attr] and type(v) == "table" then
    for k, x in pairs(v) do
      if (keys == nil or keys == true or keys[k]) and not is_digest(x) then return true end
    end
    return false
  end
  return true
end

-- Whether a stored entry holds a sensitive value in clear.
local function entry_in_clear(entry)
  local sensitive = type(entry) == "table" and entry.sensitive
  if type(sensitive) ~= "table" or next(sensitive) == nil then return false end
  local kind = require("lambdaeng.schema")[entry.kind]
  for k in pairs(sensitive) do
    if clear_value(k, (entry.args or {})[k]) then return true end
  end
  local function sensitive_of(name) return name == nil or sensitive[name] == true end
  local paths = type(entry.sensitive_paths) == "table" and entry.sensitive_paths or {}
  local function keys(k) local from = map_source(kind, k) return keys_of_marks(from and paths[from]) end
  for k, v in pairs(entry.attrs or {}) do
    if M.follows(kind, k, sensitive_of) and clear_value(k, v, keys(k)) then return true end
  end
  return M.follows(kind, "tags_all", sensitive_of) and clear_value("tags_all", entry.tags_all, keys("tags_all"))
end

function M.in_clear(entries, outputs)
  local found = {}
  for addr, entry in pairs(entries or {}) do
    if entry_in_clear(entry) then found[#found + 1] = addr end
  end
  for name, o in pairs(outputs or {}) do
    if type(o) == "table" and o.sensitive == true and o.value ~= nil then found[#found + 1] = "output." .. name end
  end
  table.sort(found)
  return found
end

function M.scrubbed_entry(entry, digest)
  local kind = require("lambdaeng.schema")[entry.kind]
  local out = {}
  for k, v in pairs(entry) do out[k] = v end
  out.args = {}
  for k, v in pairs(entry.args or {}) do
    out.args[k] = (entry.sensitive[k] and clear_value(k, v)) and { sensitive_digest = digest(v) } or v
  end
  out.attrs = M.stored(kind, entry.attrs or {}, entry.sensitive, digest, entry.sensitive_paths)
  if entry.tags_all ~= nil then
    out.tags_all = M.stored(kind, { tags_all = entry.tags_all }, entry.sensitive, digest, entry.sensitive_paths).tags_all
  end
  return out
end

local function not_shown() return "(not shown)" end

function M.shown_entry(entry)
  if not entry_in_clear(entry) then return entry end
  return M.scrubbed_entry(entry, not_shown)
end

function M.scrubbed_output(o, digest)
  return { sensitive = true, value_digest = digest(o.value) }
end

return M
