-- A valid function's arguments; each case overrides one to break one rule.
-- NONE removes an argument.
local M = { NONE = {} }
function M.func(over)
  local a = {
    function_name = "valid-name",
    runtime = "python3.12",
    handler = "index.handler",
    role = "arn:aws:iam::123456789012:role/lambda-exec",
    source = "code",
  }
  for k, v in pairs(over or {}) do
    if v == M.NONE then a[k] = nil else a[k] = v end
  end
  return a
end
return M
