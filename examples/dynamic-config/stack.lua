-- Seed 000, "Dynamic Resource Configuration": a function computes the sizing
-- that another function is deployed with.
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local expected_rps = var("expected_rps", { default = 120 })

local calculator = lambda.func("resource_calculator", {
  function_name = "resource-calculator",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/sizing",
})

local sizing = lambda.invocation("sizing", {
  function_name = calculator.function_name,
  input = json.encode({ expected_rps = expected_rps }),
  triggers = { rps = tostring(expected_rps) },
})

local config = json.decode(sizing.result)

lambda.func("worker", {
  function_name = "sized-worker",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/echo",
  memory_size = lookup(config, { "memory_size" }, 128),
  timeout = lookup(config, { "timeout" }, 10),
  tags = { OptimizedBy = "lambda" },
})

output("sizing", config)
