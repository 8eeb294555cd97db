-- Seed 004, "Lambda Layers": a function with layer versions attached (at most 5).
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local layer_arn = var("layer_arn", { default = "arn:aws:lambda:us-east-1:123456789012:layer:shared-utils:3" })

lambda.func("example", {
  function_name = "layers-example",
  runtime = "nodejs20.x",
  handler = "index.test",
  role = role,
  source = "code",
  layers = { layer_arn },
})
