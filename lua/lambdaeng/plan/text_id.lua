-- The `id` line Terraform shows in every update and replacement of a resource (its block
-- renderer's "important attributes"; tests/cases/terraform_plans/sweep_*.txt): unchanged in
-- an update (`id = "sw"`), `~ id = "sw" -> (known after apply)` in a replacement. The kinds
-- whose attributes hold no `id` get the provider's from their stored entry:
--   func -> its function_name; function_url -> NAME or NAME/QUALIFIER; alias, layer_version ->
--   its ARN. (permission and event_invoke_config keep an `id` attribute of their own; an
--   invocation's, NAME_QUALIFIER_MD5-of-input, lambdaeng does not make.)
--   add(kind, prior, keys, computed, old_attrs) -> keys, computed, old_attrs with "id" among
--       them (copies), or the three as they were when the kind has no such id or it is unknown
local M = {}

local function arn(entry) return entry.attrs and entry.attrs.arn end

local ID_OF = {
  func = function(entry) return (entry.args or {}).function_name end,
  function_url = function(entry)
    local a = entry.args or {}
    if type(a.function_name) ~= "string" then return nil end
    return a.function_name .. (type(a.qualifier) == "string" and ("/" .. a.qualifier) or "")
  end,
  alias = arn,
  layer_version = arn,
}

function M.add(kind, prior, keys, computed, old_attrs)
  local of = ID_OF[kind]
  local id = of and prior and of(prior)
  if type(id) ~= "string" or computed.id or old_attrs.id ~= nil then return keys, computed, old_attrs end
  local out_keys, placed = {}, false
  for i = 1, #keys do
    if not placed and keys[i] > "id" then out_keys[#out_keys + 1], placed = "id", true end
    out_keys[#out_keys + 1] = keys[i]
  end
  if not placed then out_keys[#out_keys + 1] = "id" end
  local out_computed, out_attrs = { id = true }, { id = id }
  for k, v in pairs(computed) do out_computed[k] = v end
  for k, v in pairs(old_attrs) do out_attrs[k] = v end
  return out_keys, out_computed, out_attrs
end

return M
