-- Seed 004, "Lambda Ephemeral Storage": /tmp raised to 10 GB (512 MB by default).
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })

lambda.func("test_lambda", {
  function_name = "lambda_function_name",
  runtime = "nodejs20.x",
  handler = "index.test",
  role = role,
  source = "code",
  ephemeral_storage = { size = 10240 },
})
