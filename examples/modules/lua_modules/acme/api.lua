--- acme.api — an HTTP handler function and its warm-up invocation, as one module.
-- local api = require("acme.api")("api", { stage = "dev", memory = 256 })
local lambdaeng = require "lambdaeng"
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

return lambdaeng.module(function(opts)
  local stage = opts.stage or "dev"
  local handler = lambda.func("handler", {
    function_name = (opts.prefix or "acme-api") .. "-" .. stage,
    runtime = "python3.12",
    handler = "index.handler",
    role = opts.role,
    source = "code",            -- relative to this module's directory
    memory_size = opts.memory or 128,
    environment = { variables = { STAGE = stage } },
  })
  local warm = lambda.invocation("warmup", {
    function_name = handler.function_name,
    input = json.encode({ warm = true }),
  })
  return { handler = handler, warmup = warm, name = handler.function_name }
end)
