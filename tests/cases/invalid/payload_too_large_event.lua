-- expect: payload: is 1048579 bytes; the limit for Event invocations is 1048576 bytes
local lambda = require "lambdaeng.lambda"
lambda.action("a", { function_name = "fn", invocation_type = "Event", -- error here
  payload = '"' .. string.rep("x", 1024 * 1024 + 1) .. '"' })
