-- Secrets seen in this process, and the last line of defence against printing or
-- storing them in clear.
--
-- Sensitivity is tracked structurally (references carry it; plan and apply store a
-- keyed digest of every sensitive argument, attribute and output). This module is
-- the backstop for what structure cannot see: every value that is known to be
-- secret (a sensitive variable's value, an ephemeral invocation's results, any
-- value computed from a sensitive reference) is registered here, and
--   redact(text)  replaces each occurrence (and its base64 form) in a line about to
--                 be printed with "(sensitive)";
--   scrub(value, digest)  replaces every string inside a value about to be stored
--                 that contains one by { sensitive_digest = digest(string) }.
-- Values shorter than MIN_LENGTH are not registered: they would redact ordinary
-- words; they are still protected structurally.
local nhash = require "lambdaeng.native.hash"

local M = {}

local MIN_LENGTH = 6
local known = {}   -- text -> true
local ordered = {} -- the texts, longest first, so a secret inside another is replaced whole
local dirty = false

local function add_text(s)
  if #s < MIN_LENGTH or known[s] then return end
  known[s] = true
  ordered[#ordered + 1] = s
  dirty = true
end

-- Registers v (a string, a number, or every string or number value inside a
-- table; not the keys, which are names) as secret, with its base64 form.
function M.add(v, depth)
  depth = depth or 0
  if depth > 20 then return end
  if type(v) == "number" then v = tostring(v) end
  if type(v) == "string" then
    if #v < MIN_LENGTH or known[v] then return end
    add_text(v)
    add_text(nhash.base64(v))
  elseif type(v) == "table" then
    local mt = getmetatable(v)
    if mt ~= nil and not (type(mt) == "table" and mt.__name == "lambdaeng.json.array") then return end
    for _, x in pairs(v) do M.add(x, depth + 1) end
  end
end

local function sorted()
  if dirty then
    table.sort(ordered, function(a, b) return #a > #b end)
    dirty = false
  end
  return ordered
end

local function contains_secret(s)
  for _, secret in ipairs(sorted()) do
    if s:find(secret, 1, true) then return true end
  end
  return false
end

function M.any() return #ordered > 0 end

-- text with every registered secret replaced by "(sensitive)".
function M.redact(text)
  if #ordered == 0 or type(text) ~= "string" then return text end
  for _, secret in ipairs(sorted()) do
    local from = 1
    while true do
      local i, j = text:find(secret, from, true)
      if not i then break end
      text = text:sub(1, i - 1) .. "(sensitive)" .. text:sub(j + 1)
      from = i + #"(sensitive)"
    end
  end
  return text
end

-- A copy of v in which every string that contains a registered secret is a digest.
function M.scrub(v, digest, depth)
  if #ordered == 0 then return v end
  depth = depth or 0
  if type(v) == "string" then
    if contains_secret(v) then return { sensitive_digest = digest and digest(v) or "(not stored)" } end
    return v
  end
  if type(v) ~= "table" or depth > 50 then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = M.scrub(x, digest, depth + 1) end
  return setmetatable(out, getmetatable(v))
end

-- For tests of this module: forget everything.
function M.reset()
  known, ordered, dirty = {}, {}, false
end

return M
