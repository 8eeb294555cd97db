-- Resolvers: what a reference (ref.lua) to `addr.path...` is worth, for
-- ref.resolve(value, env). The plan resolves against what it plans
-- (plan.lua); apply and `run --invoke` resolve against records of what was
-- applied, which this module reads:
--
--   records(session, lookup) -> env(addr, path): lookup(addr) gives a record
--     { args, attrs } (args nil: only attributes, as an ephemeral invocation's
--     result) or nil when nothing is known of addr yet (the value is unknown).
--     An argument of the declared kind reads args, anything else attrs; a
--     computed field inside an argument block (vpc_config.vpc_id) reads the
--     block's entry in attrs; a value state keeps only as a digest is withheld.
--   walk(v, path, first) follows path[first..] into v.
local ref = require "lambdaeng.ref"

local M = {}
local UNKNOWN, WITHHELD = ref.UNKNOWN, ref.WITHHELD

---Follows path[first], path[first + 1], ... into v: nil past a value that is not
---a table; an unknown or withheld value stays what it is.
function M.walk(v, path, first)
  for i = first or 2, #path do
    if v == UNKNOWN or v == WITHHELD then return v end
    if type(v) ~= "table" then return nil end
    v = v[path[i]]
  end
  return v
end

---@param session table the stack's session (its by_addr declarations)
---@param lookup fun(addr: string): table|nil the record of addr
---@return fun(addr: string, path: string[]): any
function M.records(session, lookup)
  return function(addr, path)
    local rec = lookup(addr)
    if not rec then return UNKNOWN end
    local key, first = path[1], 2
    local d = session.by_addr[addr]
    local v
    local nested = d and d.kind.nested_computed and d.kind.nested_computed[key]
    if rec.args == nil then
      if d and d.kind.args[key] then return UNKNOWN end
      v = (rec.attrs or {})[key]
    elseif nested and path[2] and nested[path[2]] then
      -- a computed field inside an argument block: nil without the block
      if rec.args[key] == nil then return nil end
      local block = (rec.attrs or {})[key]
      v = type(block) == "table" and block[path[2]] or nil
      first = 3
    elseif d and d.kind.args[key] then
      v = rec.args[key]
    else
      v = (rec.attrs or {})[key]
    end
    if type(v) == "table" and v.sensitive_digest ~= nil then return WITHHELD end
    return M.walk(v, path, first)
  end
end

return M
