-- expect: ephemeral.e: payload: is 6291459 bytes; the limit for RequestResponse invocations is 6291456 bytes
local lambda = require "lambdaeng.lambda"
lambda.ephemeral_invocation("e", { function_name = "fn", -- error here
  payload = '"' .. string.rep("x", 6 * 1024 * 1024 + 1) .. '"' })
