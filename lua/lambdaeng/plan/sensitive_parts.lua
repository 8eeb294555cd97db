-- The parts of a partly sensitive argument an update's text plan shows: the clear
-- parts as they are, the sensitive ones as a marker, old side and new side.
--   old_shown(prior, k, marker) -> the stored entry's argument k with its sensitive
--                    parts marker (from args_known and sensitive_paths, when they go
--                    with the stored digest), or nil when state does not say where
--   new_shown(p, k, marker)     -> the declared argument k with its sensitive parts
--                    marker (the declaration's marks), or nil when it is one value
--   secrets_kept(p, k, digest)  -> whether argument k's sensitive parts are the stored
--                    ones: the stored digest is the digest of the stored clear parts
--                    with the new sensitive parts put where they were (false when
--                    that cannot be told)
--   part_digests(k, v, marks, digest) -> the digest of each sensitive part of argument
--                    k's value v: marks' shape with each true a keyed digest of the
--                    part salted with its path (state's args_known[k].parts)
--   known_entry(k, v, marks, digest, d) -> state's args_known[k] for argument k's value
--                    v stored as the digest d: its clear parts (registered secrets
--                    scrubbed) and part_digests
--   reread(known, paths, k, v, digest, d) -> an entry's args_known (known) once refresh
--                    read argument k back as v, now stored as d (nil: gone): a new
--                    table, k's parts made again where the entry's sensitive_paths
--                    (paths) say its secrets are
--   parts_kept(p, k, digest)    -> marks' shape with true where a sensitive part is
--                    the stored one and false where it changed, by the stored part
--                    digests; nil when state has none (an entry written before them)
--   kept(p, changed, digest)    -> for the changed arguments whose sensitive parts are
--                    kept: true when all are (secrets_kept), else the parts_kept tree;
--                    nil for none
-- Never a secret's value: the old secrets are only ever a digest.
local json = require "lambdaeng.json"
local json_values = require "lambdaeng.plan.json_values"
local secrets = require "lambdaeng.secrets"

local M = {}
local is_digest, plain = json_values.is_digest, json_values.plain_table

-- marker.kept where kept (true, or parts_kept's tree at this part) says the part is
-- kept, else marker.changed.
local function marker_at(kept, marker)
  if type(marker) ~= "table" or marker.kept == nil then return marker end
  return kept == true and marker.kept or marker.changed
end

-- A copy of v with the marker at every path marks says is sensitive; with fill, even
-- where v has no part there (state's clear parts leave a sensitive map value out).
local function marked(v, marks, marker, kept, fill)
  if marks == true then return marker_at(kept, marker) end
  if type(marks) ~= "table" or not plain(v) then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = x end
  for k, m in pairs(marks) do
    if m and (fill or out[k] ~= nil) then
      out[k] = marked(out[k], m, marker, type(kept) == "table" and kept[k] or kept == true, fill)
    end
  end
  return setmetatable(out, getmetatable(v))
end

-- The stored entry's clear parts of argument k and where its sensitive parts were.
local function stored_parts(prior, k)
  local d = prior and prior.args and prior.args[k]
  local known = type(prior and prior.args_known) == "table" and prior.args_known[k]
  local paths = type(prior and prior.sensitive_paths) == "table" and prior.sensitive_paths[k]
  if not (is_digest(d) and type(known) == "table" and type(paths) == "table"
          and type(d.sensitive_digest) == "string" and known.digest == d.sensitive_digest) then
    return nil
  end
  return known.value, paths, d.sensitive_digest, known.parts
end

-- (marker: one value for every part, or { kept = , changed = } chosen per part by
-- kept: true for all, or parts_kept's tree)
function M.old_shown(prior, k, marker, kept)
  local value, paths = stored_parts(prior, k)
  if value == nil then return nil end
  return marked(value, paths, marker, kept, true)
end

function M.new_shown(p, k, marker, kept)
  local marks = p.decl and json_values.arg_marks(p.decl, k, p.args and p.args[k])
  if type(marks) ~= "table" or not p.args then return nil end
  return marked(p.args[k], marks, marker, kept)
end

-- The keyed digest of one sensitive part, salted with where it is (so two equal
-- secrets in one entry have different digests); nil for a part not known as data.
local function part_digest(digest, path, v)
  if type(v) == "table" and not plain(v) then return nil end
  local salted = json.array {}
  for i = 1, #path do salted[i] = path[i] end
  salted[#path + 1] = v
  return digest(salted)
end

-- v's part under key (a false one stays false), nil when v holds no parts.
local function part_of(v, key)
  if plain(v) then return v[key] end
  return nil
end

local function digests_of(v, marks, digest, path)
  if marks == true then return part_digest(digest, path, v) or false end
  if type(marks) ~= "table" then return false end
  local out = {}
  for key, m in pairs(marks) do
    path[#path + 1] = key
    out[key] = digests_of(part_of(v, key), m, digest, path)
    path[#path] = nil
  end
  return setmetatable(out, getmetatable(marks))
end

function M.part_digests(k, v, marks, digest)
  if type(marks) ~= "table" or not digest then return nil end
  return digests_of(v, marks, digest, { k })
end

function M.known_entry(k, v, marks, digest, d)
  return { digest = d, value = json_values.known(secrets.scrub(v, digest), marks),
           parts = M.part_digests(k, v, marks, digest) }
end

function M.reread(known, paths, k, v, digest, d)
  paths = type(paths) == "table" and paths[k]
  local out = {}
  for key, x in pairs(type(known) == "table" and known or {}) do out[key] = x end
  -- (the stored parts went with the old digest: without a new one they are dropped)
  out[k] = type(paths) == "table" and d and digest and M.known_entry(k, v, paths, digest, d) or nil
  return next(out) and out or nil
end

-- marks' shape: true where new's part has the stored part's digest.
local function kept_parts(new, marks, stored, digest, path)
  if marks == true then
    local d = part_digest(digest, path, new)
    return type(stored) == "string" and d == stored
  end
  if type(marks) ~= "table" then return false end
  local out = {}
  for key, m in pairs(marks) do
    path[#path + 1] = key
    out[key] = kept_parts(part_of(new, key), m, type(stored) == "table" and stored[key] or nil, digest, path)
    path[#path] = nil
  end
  return out
end

function M.parts_kept(p, k, digest)
  local value, _, _, parts = stored_parts(p.prior, k)
  local marks = p.decl and json_values.arg_marks(p.decl, k, p.args and p.args[k])
  if value == nil or type(parts) ~= "table" or type(marks) ~= "table" or not digest or not p.args then return nil end
  return kept_parts(p.args[k], marks, parts, digest, { k })
end

-- clear's parts with new's at each path marks says is sensitive; nil when new has
-- no table where marks has one.
local function with_secrets(clear, new, marks)
  if marks == true then return new end
  if type(marks) ~= "table" then return clear end
  if not (plain(new) and (clear == nil or plain(clear))) then return nil end
  local out = {}
  for k, x in pairs(clear or {}) do out[k] = x end
  for k, m in pairs(marks) do
    if m then
      local part = with_secrets(out[k], new[k], m)
      if part == nil and new[k] ~= nil then return nil end
      out[k] = part
    end
  end
  return setmetatable(out, getmetatable(clear) or getmetatable(new))
end

function M.secrets_kept(p, k, digest)
  local value, paths, stored = stored_parts(p.prior, k)
  if value == nil or not digest or not p.args then return false end
  local candidate = with_secrets(value, p.args[k], paths)
  return candidate ~= nil and digest(candidate) == stored
end

function M.kept(p, changed, digest)
  local set
  for _, k in ipairs(changed) do
    if p.sensitive[k] then
      local kept = M.secrets_kept(p, k, digest) or M.parts_kept(p, k, digest)
      if kept then set = set or {}; set[k] = kept end
    end
  end
  return set
end

return M
