--- team.audit — an audit function shared through LAMBDAENG_PATH.
local lambdaeng = require "lambdaeng"
local lambda = require "lambdaeng.lambda"

return lambdaeng.module(function(opts)
  -- (not `return lambda.func(...)`: a tail call hides this file from the declaration's
  -- site, and relative paths resolve against the file that declares them)
  local fn = lambda.func("audit", {
    function_name = "audit-" .. opts.watch,
    runtime = "python3.12",
    handler = "index.handler",
    role = opts.role,
    source = "../../../code/echo",
    environment = { variables = { WATCHED = opts.watch } },
  })
  return fn
end)
