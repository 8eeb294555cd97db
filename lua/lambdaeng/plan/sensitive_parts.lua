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
--   kept(p, changed, digest)    -> the set of the changed arguments (names) whose
--                    sensitive parts are kept (secrets_kept), or nil for none
-- Never a secret's value: the old secrets are only ever a digest.
local json_values = require "lambdaeng.plan.json_values"

local M = {}
local is_digest, plain = json_values.is_digest, json_values.plain_table

-- A copy of v with marker at every path marks says is sensitive, even where v has no
-- part there (state's clear parts leave a sensitive map value out).
local function marked(v, marks, marker)
  if marks == true then return marker end
  if type(marks) ~= "table" or not plain(v) then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = x end
  for k, m in pairs(marks) do
    if m then out[k] = marked(out[k], m, marker) end
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
  return known.value, paths, d.sensitive_digest
end

function M.old_shown(prior, k, marker)
  local value, paths = stored_parts(prior, k)
  if value == nil then return nil end
  return marked(value, paths, marker)
end

function M.new_shown(p, k, marker)
  local marks = p.decl and json_values.sensitive_marks(p.decl.args[k])
  if type(marks) ~= "table" or not p.args then return nil end
  return json_values.masked(p.args[k], marks, marker)
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
    if p.sensitive[k] and M.secrets_kept(p, k, digest) then set = set or {}; set[k] = true end
  end
  return set
end

return M
