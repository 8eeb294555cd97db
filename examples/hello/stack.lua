-- The hello example: one function packaged from a directory, one invocation of it.
local lambda = require "lambdaeng.lambda"
local json   = require "lambdaeng.json"

local stage = var("stage", { default = "dev", description = "deployment stage" })
local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })

local fn = lambda.func("hello", {
  function_name = "hello-" .. stage,
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "functions/hello",
  environment = { variables = { STAGE = stage } },
  memory_size = 256,
  timeout = 10,
})

local greet = lambda.invocation("greet", {
  function_name = fn.function_name,
  input = json.encode({ name = "lambdaeng" }),
})

output("function_arn", fn.arn)
output("greeting", greet.result:map(function(r) return json.decode(r).message end))
