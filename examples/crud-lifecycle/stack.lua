-- Seed 001/003, CRUD lifecycle scope: the function is invoked on create, on
-- every input change and on delete, with the lifecycle key ("tf") added:
--   { "key1": "value1", "key2": "value2", "tf": { "action": "create", "prev_input": null } }
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local key1 = var("key1", { default = "value1" })

local fn = lambda.func("crud", {
  function_name = "crud-lifecycle",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/crud",
})

local example = lambda.invocation("example", {
  function_name = fn.function_name,
  input = json.encode({ key1 = key1, key2 = "value2" }),
  lifecycle_scope = "CRUD",
})

output("result", example.result)
