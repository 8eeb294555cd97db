-- Seed 001, dynamic invocation: re-invoke whenever the function's environment
-- changes, by putting a hash of it in `triggers` (a known value at plan time).
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"
local hash = require "lambdaeng.hash"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local release = var("release", { default = "1" })

local fn = lambda.func("example", {
  function_name = "triggers-example",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/echo",
  environment = { variables = { RELEASE = release } },
})

lambda.invocation("example", {
  function_name = fn.function_name,
  input = json.encode({ key1 = "value1", key2 = "value2" }),
  triggers = { redeployment = hash.sha1(json.encode({ fn.environment })) },
})
