-- Seed 000, "Generate Sensitive Configuration": an ephemeral invocation makes
-- an API key on every plan and run; it reaches the consuming function's
-- environment but is never stored in clear (state keeps a keyed hash only).
local lambda = require "lambdaeng.lambda"
local json = require "lambdaeng.json"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local environment = var("environment", { default = "dev", description = "The environment name (e.g., dev, prod)" })

local generator = lambda.func("secret_generator", {
  function_name = "secret-generator-" .. environment,
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/secret",
})

local secret = lambda.ephemeral_invocation("secret_generator", {
  function_name = generator.function_name,
  payload = json.encode({ environment = environment }),
})

lambda.func("api", {
  function_name = "api-" .. environment,
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "../code/echo",
  environment = { variables = {
    -- (a peer that only echoes the payload returns no api_key: the default keeps the example running there)
    API_KEY = lookup(json.decode(secret.result), { "api_key" }, "unset"),
    ENVIRONMENT = environment,
  } },
  tags = { Environment = environment, Generated = "ephemeral-lambda" },
})

output("key_generated", "API key generated and stored in the api function's environment")
