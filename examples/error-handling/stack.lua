-- Seed 000, "Error Handling": a function error does not fail an ephemeral
-- invocation; the program looks at function_error and decides.
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local ask_to_fail = var("ask_to_fail", { default = "" })

local fn = lambda.func("worker", {
  function_name = "error-handling-worker",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/logger",
})

local example = lambda.ephemeral_invocation("example", {
  function_name = fn.function_name,
  payload = json.encode({ fail = ask_to_fail }),
})

local validation = example.function_error:map(function(err)
  if err ~= nil then
    local result = json.decode(example.result)
    fail("Lambda function error: " .. lookup(result, { "errorMessage" }, "(no message)"))
  end
  return "ok"
end)

output("validation", validation, { sensitive = true })
