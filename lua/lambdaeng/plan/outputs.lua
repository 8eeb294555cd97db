-- The outputs of a plan (plan.lua): add(pc) appends each declared output to
-- pc.result.outputs as created, updated, unchanged or deleted against the stored
-- ones, with the stored outputs no longer declared as deletes, and counts the
-- changes in pc.result.output_changes; true, or nil and a message for an output
-- whose value state cannot hold (made by deferred code).
local ref = require "lambdaeng.ref"
local stack = require "lambdaeng.stack"
local validate = require "lambdaeng.validate"
local env = require "lambdaeng.plan.env"
local vm = require "lambdaeng.native.vm"

local M = {}
local equal = vm.equality(ref.UNKNOWN)
local sorted = validate.sorted_keys

function M.add(pc)
  local result, opts = pc.result, pc.opts
  local stored_outputs = pc.state:outputs() or {}
  for _, o in ipairs(pc.session.outputs) do
    local value = ref.resolve(o.value, pc.env)
    local bad, why = validate.output_problem(value)
    if bad then return nil, stack.format_error({ site = o.site, address = "output." .. o.name, path = bad, message = why }) end
    local before = stored_outputs[o.name]
    local action, unchanged
    if before == nil then
      unchanged = false
    elseif o.sensitive then
      -- state keeps a sensitive output only as a keyed digest of its value (an older
      -- lambdaeng kept the value itself: compared as it is)
      if ref.has_withheld(value) then unchanged = before.value_digest ~= nil
      elseif env.has_unknown(value) then unchanged = false
      elseif before.value_digest == nil then unchanged = before.value ~= nil and equal(before.value, value)
      else unchanged = opts.digest ~= nil and before.value_digest == opts.digest(value) end
    else
      unchanged = before.value_digest == nil and equal(before.value, value)
    end
    if before == nil then action = "create"
    elseif unchanged and (before.sensitive or false) == o.sensitive then action = "no-op"
    else action = "update" end
    if opts.destroy then action = "delete" end
    result.outputs[#result.outputs + 1] = { name = o.name, value = value, sensitive = o.sensitive,
                                             before = before, action = action }
  end
  for _, name in ipairs(sorted(stored_outputs)) do
    if not pc.session.output_by_name[name] then
      result.outputs[#result.outputs + 1] = { name = name, before = stored_outputs[name], action = "delete" }
    end
  end
  result.output_changes = 0
  for _, o in ipairs(result.outputs) do
    if o.action ~= "no-op" then result.output_changes = result.output_changes + 1 end
  end
  return true
end

return M
