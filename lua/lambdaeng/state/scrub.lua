-- Sensitive values an older lambdaeng stored in a state in clear (before keyed
-- digests: an output's value, an invocation's result), found and replaced with
-- keyed digests: what the backends' scrub_secrets (state/local.lua, state/s3.lua)
-- and `state restore` (cli/state_transfer.lua) share. Which values are sensitive,
-- and their digested forms, are secret_attrs.lua's.
--
--   scrub.marked(text)  -> whether a state document's text may hold any: a plain
--                          look for a sensitive mark, so that a state without one
--                          (most) is not read entry by entry
--   scrub.find(st)      -> found, entries, outputs of a state object (engine/state.c's):
--                          found the addresses in clear ("output.NAME" for outputs),
--                          entries address -> entry, outputs name -> output
--   scrub.digests(found, entries, outputs, digest) -> entries and outputs with those
--                          values as keyed digests (edited in place)
--   scrub.into(st, found, entries, outputs, digest) -> the same, put into st
--   scrub.in_memory(st, digest) -> found: find, then into, in st alone (for `plan -out`,
--                          which writes no state: the plan is made against the state as
--                          its apply will open it, scrubbed by the same digests)
local secret_attrs = require "lambdaeng.secret_attrs"

local M = {}

function M.marked(text)
  return text ~= nil and (text:find('"sensitive": true', 1, true) or text:find('"sensitive": {', 1, true)) ~= nil
end

function M.find(st)
  local entries = {}
  for _, addr in ipairs(st:addresses()) do entries[addr] = st:get(addr) end
  local outputs = st:outputs() or {}
  return secret_attrs.in_clear(entries, outputs), entries, outputs
end

function M.digests(found, entries, outputs, digest)
  for _, addr in ipairs(found) do
    local name = addr:match("^output%.(.*)$")
    if name then outputs[name] = secret_attrs.scrubbed_output(outputs[name], digest)
    else entries[addr] = secret_attrs.scrubbed_entry(entries[addr], digest) end
  end
  return entries, outputs
end

function M.into(st, found, entries, outputs, digest)
  M.digests(found, entries, outputs, digest)
  for _, addr in ipairs(found) do
    if not addr:match("^output%.") then st:put(addr, entries[addr]) end
  end
  st:set_outputs(outputs)
end

function M.in_memory(st, digest)
  local found, entries, outputs = M.find(st)
  if #found > 0 then M.into(st, found, entries, outputs, digest) end
  return found
end

return M
