-- Seed 001, basic example: invoke a function once with a JSON input and read a
-- value back from its result.
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })

local fn = lambda.func("echo", {
  function_name = "basic-invocation-echo",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/echo",
})

local example = lambda.invocation("example", {
  function_name = fn.function_name,
  input = json.encode({ key1 = "value1", key2 = "value2" }),
})

output("result_entry", lookup(json.decode(example.result), { "key1" }))
