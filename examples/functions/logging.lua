-- Seed 004, "CloudWatch Logging and Permissions": a function whose name comes
-- from a variable, with a description, tags, tracing and a dead letter queue.
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local name = var("lambda_function_name", { default = "lambda_function_name_logging" })

local fn = lambda.func("test_lambda", {
  function_name = name,
  description = "writes its logs to /aws/lambda/" .. name,
  runtime = "nodejs20.x",
  handler = "index.test",
  role = role,
  source = "code",
  tracing_config = { mode = "Active" },
  tags = { team = "platform", log_group = "/aws/lambda/" .. name },
  timeouts = { create = "5m", delete = "5m" },
})

output("log_group", "/aws/lambda/" .. fn.function_name)
