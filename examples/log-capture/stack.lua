-- Seed 000, "Logging": ask for the log tail and decode it.
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local hash = require "lambdaeng.hash"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })

local fn = lambda.func("logger", {
  function_name = "log-capture",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/logger",
})

local example = lambda.ephemeral_invocation("example", {
  function_name = fn.function_name,
  payload = json.encode({ step = "log-capture" }),
  log_type = "Tail",
})

output("execution_logs", example.log_result:map(function(log)
  if log == nil then return "(the endpoint returned no log)" end
  return hash.base64decode(log)
end), { sensitive = true })
