-- A release: the function publishes a version on every change, the `live` alias
-- points to a stable version and can send a canary share to a newer one, S3 may
-- invoke it (a policy statement), and a function URL serves the alias over HTTP.
--
--   lambdaeng run stack.lua                           live -> the latest version
--   lambdaeng run stack.lua --var stable=1 --var canary=2 --var weight=0.1
--                                                     live -> 1, 10% of invocations to 2
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local stable = var("stable", { default = "", description = "the version live points to (default: the latest)" })
local canary = var("canary", { default = "", description = "a newer version that gets a share of live's traffic" })
local weight = var("weight", { default = 0.1, description = "the canary's share, 0 to 1" })

local fn = lambda.func("app", {
  function_name = "release-app",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "app",
  publish = true,
})

local live = lambda.alias("live", {
  name = "live",
  function_name = fn.function_name,
  function_version = stable ~= "" and stable or fn.version,
  description = "what users get",
  routing_config = canary ~= "" and { additional_version_weights = { [canary] = weight } } or nil,
})

lambda.permission("from_s3", {
  statement_id = "AllowS3Invoke",
  action = "lambda:InvokeFunction",
  function_name = fn.function_name,
  principal = "s3.amazonaws.com",
  source_arn = "arn:aws:s3:::release-uploads",
  qualifier = live.name,
})

local url = lambda.function_url("live", {
  function_name = fn.function_name,
  qualifier = live.name,
  authorization_type = "NONE",
  cors = { allow_origins = { "*" }, allow_methods = { "GET" } },
})

output("version", fn.version)
output("alias_arn", live.arn)
output("url", url.function_url)
