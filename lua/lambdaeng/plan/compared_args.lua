-- The planned arguments as a plan compares them with the stored ones (plan.lua's
-- diff_arguments). Contract: compared_args(p, before) -> p.stored, or a copy of it in
-- which each sensitive argument an older lambdaeng stored in clear is the planned value
-- itself (p: a planned resource with args, stored, sensitive; before: the stored args).
local ref = require "lambdaeng.ref"

local function is_digest(v) return type(v) == "table" and v.sensitive_digest ~= nil end

-- The planned arguments as compared with the stored ones. A sensitive argument is
-- stored as a keyed digest, but an entry an older lambdaeng wrote keeps it in
-- clear: that one is compared as the value itself (the same value is no change;
-- its digest never equals it), and still stored only as its digest.
return function(p, before)
  local out
  for k in pairs(p.sensitive) do
    local b = before[k]
    if b ~= nil and not is_digest(b) and is_digest(p.stored[k]) and not ref.has_withheld(p.args[k]) then
      if not out then
        out = {}
        for name, v in pairs(p.stored) do out[name] = v end
      end
      out[k] = p.args[k]
    end
  end
  return out or p.stored
end

