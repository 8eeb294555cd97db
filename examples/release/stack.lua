-- A release: shared code in a layer (seed 004's Layers example), a function that
-- publishes a version on every change, the `live` alias pointing to a stable version
-- with a canary share to a newer one, S3 allowed to invoke it (a policy statement), a
-- function URL serving the alias over HTTP, and asynchronous invocations of `live`
-- retried once, then reported to a second function.
--
--   lambdaeng run stack.lua                           live -> the latest version
--   lambdaeng run stack.lua --var message=v2 --var stable=1 --var canary=2 --var weight=0.1
--                                                     version 2; live -> 1, 10% of invocations to 2
local lambda = require "lambdaeng.lambda"

local role = var("role_arn", { default = "arn:aws:iam::123456789012:role/lambda-exec" })
local message = var("message", { default = "v1", description = "what the function says (a change publishes a version)" })
local stable = var("stable", { default = "", description = "the version live points to (default: the latest)" })
local canary = var("canary", { default = "", description = "a newer version that gets a share of live's traffic" })
local weight = var("weight", { default = 0.1, description = "the canary's share, 0 to 1" })

local shared = lambda.layer_version("shared", {
  layer_name = "release-shared",
  source = "layer",
  compatible_runtimes = { "python3.12" },
  description = "shared helpers",
})

local fn = lambda.func("app", {
  function_name = "release-app",
  runtime = "python3.12",
  handler = "index.handler",
  role = role,
  source = "app",
  layers = { shared.arn },
  environment = { variables = { MESSAGE = message } },
  publish = true,
})

local failures = lambda.func("failures", {
  function_name = "release-failures",
  runtime = "python3.12",
  handler = "failures.handler",
  role = role,
  source = "app",
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

lambda.event_invoke_config("live", {
  function_name = fn.function_name,
  qualifier = live.name,
  maximum_retry_attempts = 1,
  maximum_event_age_in_seconds = 3600,
  destination_config = { on_failure = { destination = failures.arn } },
})

output("version", fn.version)
output("layer_arn", shared.arn)
output("alias_arn", live.arn)
output("url", url.function_url)
