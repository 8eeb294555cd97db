-- What a plan's references read (plan.lua): resolve(planned) is the resolver of the
-- plan: a reference reads what is planned for its resource: its planned arguments;
-- its stored attributes when it does not change (or its update cannot change them);
-- an ephemeral invocation's result when it ran at plan time; otherwise unknown.
--   changing(p, key)   whether p's update can change computed attribute key
--   has_unknown(v)     whether v is or holds an unknown or withheld value
--   is_digest(v)       whether v is a value state keeps only as a keyed digest
local ref = require "lambdaeng.ref"
local resolver = require "lambdaeng.resolver"

local M = {}
local UNKNOWN = ref.UNKNOWN
local WITHHELD = ref.WITHHELD

function M.is_digest(v) return type(v) == "table" and v.sensitive_digest ~= nil end
local is_digest = M.is_digest

-- Whether an update can change computed attribute key (kinds without
-- changing_attrs: every computed attribute may change).
local function changing(p, key)
  if p.changing then return p.changing[key] == true end
  return true
end
M.changing = changing

-- The resolver of the plan (see the top).
function M.resolve(planned)
  return function(addr, path)
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
        -- what is stored is what the apply will read (resolver.records): a field the API
        -- did not report stays null, not unknown (no perpetual output change)
        v = p.prior and p.prior.attrs and p.prior.attrs[key]
        if type(v) == "table" then v = v[path[2]] else v = nil end
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
    return resolver.walk(v, path, first)
  end
end

function M.has_unknown(v)
  if v == UNKNOWN or v == WITHHELD then return true end
  if type(v) == "table" then
    for _, x in pairs(v) do if M.has_unknown(x) then return true end end
  end
  return false
end

return M
